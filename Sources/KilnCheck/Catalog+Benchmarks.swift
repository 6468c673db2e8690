// The bench's kernel workloads as cases, at the peers' shapes and with their names and definitions
// (../shared/peers: sgemm_*.py, conv_bench.py, lstm_bench.py), so `kiln bench` times exactly what the catalog
// checks: SGEMM at 256³ to 2048³ and 64×128×3136; the CNN's convolutions conv1 and conv2 at batch 64, forward and
// forward + backward (conv1's backward computes the weight and bias gradients, its input being data; conv2's
// the input's too); its 2×2 max pooling layers pool1 and pool2, forward + input gradient; one LSTM layer (input
// 64, hidden 128, sequence 32, batch 32). Backward passes are driven by a fixed random output gradient G
// (dL/dy = G). Products too large for the reference's naive loops are checked on a sample of their outputs, the
// LSTM on the same layer at batch 4. Tolerances are normwise: these outputs are long sums whose small
// elements are cancellations.
import KilnCore
import KilnReference

extension OpCatalog {
    /// The workloads of `family`, in the order the bench runs them.
    static func benchmarks(in family: OpFamily) -> [OpCase] {
        switch family {
        case .products:
            [sgemm(256, 256, 256), sgemm(512, 512, 512), sgemm(1024, 1024, 1024), sgemm(2048, 2048, 2048), sgemm(64, 128, 3136)]
        case .convolution:
            [
                convolutionLayer("conv1", x: [64, 1, 28, 28], w: [32, 1, 3, 3], backward: nil),
                convolutionLayer("conv1", x: [64, 1, 28, 28], w: [32, 1, 3, 3], backward: .weightAndBias),
                convolutionLayer("conv2", x: [64, 32, 14, 14], w: [64, 32, 3, 3], backward: nil),
                convolutionLayer("conv2", x: [64, 32, 14, 14], w: [64, 32, 3, 3], backward: .all),
            ]
        case .pooling: [maxPoolingLayer("pool1", x: [64, 32, 28, 28]), maxPoolingLayer("pool2", x: [64, 64, 14, 14])]
        case .recurrent: [lstmLayer()]
        case .elementwise, .movement, .reduction, .loss, .update, .normalization: []
        }
    }

    /// `C[M, N] = A[M, K] · B[K, N]`, named `sgemm_N` when square, else `sgemm_MxNxK`. Above 0.1 GFLOP the check
    /// compares 16 evenly spaced rows of C.
    public static func sgemm(_ m: Int, _ n: Int, _ k: Int) -> OpCase {
        let name = m == n && n == k ? "sgemm_\(m)" : "sgemm_\(m)x\(n)x\(k)"
        let flops = 2 * Double(m) * Double(n) * Double(k)
        let rows = (0..<16).map { $0 * (m - 1) / 15 }
        let sampled: OpCase.Expectation = .sampled { inputs in
            let picked = rows.flatMap { inputs[0].values[$0 * k..<($0 + 1) * k] }
            let c = try ReferenceRun.execute(
                .matmul(transposeA: false, transposeB: false), [HostTensor(picked, [rows.count, k]), inputs[1]])
            return SampledValues(values: c.values, indices: rows.flatMap { Array($0 * n..<($0 + 1) * n) })
        }
        return OpCase(
            graph: name, summary: "C[\(m),\(n)] = A[\(m),\(k)] · B[\(k),\(n)], float32", [SeededInput([m, k]), SeededInput([k, n])],
            tolerance: .normwiseAccumulation(terms: k), tier: .benchmark, expectation: flops > 1e8 ? sampled : .reference, flops: flops
        ) { tensors in [try tensors[0].matmul(tensors[1])] }
    }

    /// Which gradients a convolution layer's backward pass computes.
    enum ConvolutionBackward: Sendable {
        /// Weight and bias only (the first layer: its input is data).
        case weightAndBias
        /// Input, weight and bias.
        case all
    }

    /// `y = conv2d(x, w, pad 1) + b` and, with `backward`, the gradients for `dL/dy = G`, written with the ops
    /// conv2d's gradient rule emits, so the graph holds exactly the layer's work. Inputs `(x, w, b, G)`; outputs
    /// y, then dx (for `.all`), dw and db. Above 0.1 GFLOP forward the check samples the outputs.
    static func convolutionLayer(_ name: String, x xShape: Shape, w wShape: Shape, backward: ConvolutionBackward?) -> OpCase {
        let attributes = Convolution2D(padding: [1, 1, 1, 1])
        let (batch, height, width) = (xShape[0], xShape[2], xShape[3])
        let yShape: Shape = [batch, wShape[0], height, width]
        let forwardFlops = 2 * Double(batch * wShape[0] * height * width) * Double(wShape[1] * wShape[2] * wShape[3])
        let passes: Double = backward == nil ? 1 : backward == .weightAndBias ? 2 : 3
        // The longest sums: C·KH·KW per output and input gradient, N·H·W per weight gradient.
        let terms = backward == nil ? wShape[1] * wShape[2] * wShape[3] : batch * height * width
        let what =
            backward == nil
            ? "forward" : backward == .weightAndBias ? "forward + weight and bias gradients" : "forward + input, weight and bias gradients"
        let inputs = [
            SeededInput(xShape), SeededInput(wShape, .uniform(-0.1...0.1)), SeededInput([wShape[0]], .uniform(-0.1...0.1)),
            SeededInput(yShape),
        ]
        return OpCase(
            graph: name + (backward == nil ? "_fwd" : "_fwdbwd"), summary: "x\(xShape) * w\(wShape), pad 1, bias: \(what)", inputs,
            tolerance: .normwiseAccumulation(terms: terms), tier: .benchmark,
            expectation: forwardFlops > 1e8
                ? .sampled { try sampledConvolution($0, attributes: attributes, backward: backward) } : .reference,
            flops: forwardFlops * passes
        ) { tensors in
            let (x, w, b, g) = (tensors[0], tensors[1], tensors[2], tensors[3])
            var outputs = [try x.conv2d(weight: w, bias: b, padding: attributes.padding)]
            if let backward {
                if backward == .all { outputs.append(try Tensor.apply(.conv2dBackwardInput(attributes, inputShape: x.shape), [g, w])) }
                outputs.append(try Tensor.apply(.conv2dBackwardWeight(attributes, weightShape: w.shape), [x, g]))
                outputs.append(try g.sum(axes: [0, 2, 3]))
            }
            return outputs
        }
    }

    /// The sampled check of a large convolution layer on its inputs `(x, w, b, G)`: the output and input gradient of
    /// the first and last image, the weight gradient of four output channels, and the whole bias gradient (1/16 to
    /// 1/32 of the reference's work). Positions follow the outputs' order (y, dx, dw, db).
    static func sampledConvolution(_ inputs: [HostTensor], attributes: Convolution2D, backward: ConvolutionBackward?) throws
        -> SampledValues
    {
        let (x, w, b, g) = (inputs[0], inputs[1], inputs[2], inputs[3])
        let (batch, channels, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let outputChannels = w.shape[0]
        let plane = height * width
        let (outputsPerImage, inputsPerImage) = (outputChannels * plane, channels * plane)
        let images = [0, batch - 1]
        let kernelSize = w.shape.count / outputChannels
        let pickedChannels = (0..<4).map { $0 * (outputChannels - 1) / 3 }
        func rows(_ values: [Double], _ size: Int) -> [Double] { images.flatMap { values[$0 * size..<($0 + 1) * size] } }
        let xImages = HostTensor(rows(x.values, inputsPerImage), [images.count, channels, height, width])
        var values = try ReferenceRun.execute(.conv2d(attributes), [xImages, w, b]).values
        var indices = images.flatMap { Array($0 * outputsPerImage..<($0 + 1) * outputsPerImage) }
        var offset = batch * outputsPerImage
        guard let backward else { return SampledValues(values: values, indices: indices) }
        if backward == .all {
            let gImages = HostTensor(rows(g.values, outputsPerImage), [images.count, outputChannels, height, width])
            values += try ReferenceRun.execute(.conv2dBackwardInput(attributes, inputShape: xImages.shape), [gImages, w]).values
            indices += images.flatMap { Array(offset + $0 * inputsPerImage..<offset + ($0 + 1) * inputsPerImage) }
            offset += batch * inputsPerImage
        }
        // dy restricted to the picked output channels: [N, 4, H, W].
        var gChannels: [Double] = []
        for n in 0..<batch {
            for o in pickedChannels {
                let start: Int = (n * outputChannels + o) * plane
                gChannels += g.values[start..<start + plane]
            }
        }
        let pickedWeight = Shape([pickedChannels.count] + w.shape.dimensions.dropFirst())
        values += try ReferenceRun.execute(
            .conv2dBackwardWeight(attributes, weightShape: pickedWeight),
            [x, HostTensor(gChannels, [batch, pickedChannels.count, height, width])]
        ).values
        indices += pickedChannels.flatMap { Array(offset + $0 * kernelSize..<offset + ($0 + 1) * kernelSize) }
        offset += outputChannels * kernelSize
        values += try ReferenceRun.execute(.reduce(.sum, axes: [0, 2, 3], keepDimensions: false), [g]).values
        indices += Array(offset..<offset + outputChannels)
        return SampledValues(values: values, indices: indices)
    }

    /// 2×2 max pooling of `x` and its input gradient for `dL/dy = G` (the op pooling's gradient rule emits).
    static func maxPoolingLayer(_ name: String, x xShape: Shape) -> OpCase {
        let attributes = Pooling2D(kernel: [2, 2])
        let yShape: Shape = [xShape[0], xShape[1], xShape[2] / 2, xShape[3] / 2]
        return OpCase(
            graph: name + "_fwdbwd", summary: "2×2 max pooling of x\(xShape): forward + input gradient",
            [SeededInput(xShape), SeededInput(yShape)],
            tolerance: .selection, tier: .benchmark
        ) { tensors in
            [
                try tensors[0].maxPool2d(kernel: attributes.kernel),
                try Tensor.apply(.maxPool2dBackward(attributes), [tensors[0], tensors[1]]),
            ]
        }
    }

    /// One LSTM layer over a sequence from zero state and the gradients of `L = Σ h_t · G_t` to the weights and
    /// biases (`layer`). FLOPs count the gate matrix products only, as lstm_bench.py does: 3× the forward's. The
    /// check runs the same layer at batch 4 (the reference takes about half a minute at batch 32).
    static func lstmLayer(steps: Int = 32, batch: Int = 32, inputs: Int = 64, hidden: Int = 128, checkBatch: Int = 4) -> OpCase {
        let timed = layer(steps: steps, batch: batch, inputs: inputs, hidden: hidden, tier: .benchmark, name: "lstm_fwdbwd")
        let checked = layer(steps: steps, batch: checkBatch, inputs: inputs, hidden: hidden, tier: .benchmark, name: "lstm_fwdbwd_check")
        return timed.checking(checked)
    }
}
