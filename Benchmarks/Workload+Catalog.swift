// The workloads `kiln bench` runs: SGEMM at the peers' shapes, the CNN's convolution and pooling layers
// at batch 64, one LSTM layer, and whole training steps of the CNN and the MLP. The shapes and the
// backward definitions match ../shared/peers (conv_bench.py, lstm_bench.py, sgemm_*.py), so figures
// compare one to one: backward passes are driven by a fixed random output gradient G (dL/dy = G).
import Foundation
import Kiln

extension Workload {
    /// Every workload, in the order the bench runs them.
    public static let all: [Workload] = [
        sgemm(256, 256, 256), sgemm(512, 512, 512), sgemm(1024, 1024, 1024), sgemm(2048, 2048, 2048),
        sgemm(64, 128, 3136),
        convolution(name: "conv1", x: [64, 1, 28, 28], w: [32, 1, 3, 3], backward: nil),
        convolution(name: "conv1", x: [64, 1, 28, 28], w: [32, 1, 3, 3], backward: .weightAndBias),
        convolution(name: "conv2", x: [64, 32, 14, 14], w: [64, 32, 3, 3], backward: nil),
        convolution(name: "conv2", x: [64, 32, 14, 14], w: [64, 32, 3, 3], backward: .all),
        maxPooling(name: "pool1", x: [64, 32, 28, 28]),
        maxPooling(name: "pool2", x: [64, 64, 14, 14]),
        lstm(),
        trainingStep(name: "cnn_train_step", model: .cnn, checkBatch: 8),
        trainingStep(name: "mlp_train_step", model: .mlp),
    ]

    /// The workload called `name`, or nil.
    public static func named(_ name: String) -> Workload? { all.first { $0.name == name.lowercased() } }

    /// `C[M, N] = A[M, K] · B[K, N]`, named `sgemm_N` when square, else `sgemm_MxNxK`. Above 0.1 GFLOP the
    /// check compares 16 evenly spaced rows of C (the reference's naive loops would take minutes).
    public static func sgemm(_ m: Int, _ n: Int, _ k: Int) -> Workload {
        let name = m == n && n == k ? "sgemm_\(m)" : "sgemm_\(m)x\(n)x\(k)"
        let flops = 2 * Double(m) * Double(n) * Double(k)
        let sampledRows: [Int]? = flops > 1e8 ? (0..<16).map { $0 * (m - 1) / 15 } : nil
        return Workload(
            name: name, summary: "C[\(m),\(n)] = A[\(m),\(k)] · B[\(k),\(n)], float32", flopsPerStep: flops,
            tolerance: .accumulation(terms: k), slowOnReference: flops > 2e8,
            build: { device in
                let a = try Tensor(BenchData.uniform(m * k, seed: 1), shape: [m, k], on: device)
                let b = try Tensor(BenchData.uniform(k * n, seed: 2), shape: [k, n], on: device)
                let plan = try Plan(inputs: [], outputs: [a.matmul(b)], updates: [])
                return WorkloadInstance(plan: plan, outputCount: 1)
            },
            reference: sampledRows.map { rows in
                {
                    let device = Device(ReferenceBackend<Double>())
                    let a = BenchData.uniform(m * k, seed: 1)
                    let picked = rows.flatMap { a[$0 * k..<($0 + 1) * k] }
                    let b = try Tensor(BenchData.uniform(k * n, seed: 2), shape: [k, n], on: device)
                    let c = try Tensor(picked, shape: [rows.count, k], on: device).matmul(b)
                    return CheckedValues(values: try c.doubles(), indices: rows.flatMap { Array($0 * n..<($0 + 1) * n) })
                }
            })
    }

    /// Which gradients a convolution's backward pass computes.
    public enum ConvolutionBackward: Sendable {
        /// Weight and bias only (the first layer: its input is data).
        case weightAndBias
        /// Input, weight and bias.
        case all
    }

    /// `y = conv2d(x, w, pad 1) + b` and, with `backward`, the gradients for `dL/dy = G`, written with the
    /// ops conv2d's gradient rule emits (Op+Gradient.swift), so the plan holds exactly the layer's work.
    public static func convolution(name: String, x xShape: Shape, w wShape: Shape, backward: ConvolutionBackward?) -> Workload {
        let attributes = Convolution2D(padding: [1, 1, 1, 1])
        let (batch, height, width) = (xShape[0], xShape[2], xShape[3])
        let forwardFlops = 2 * Double(batch * wShape[0] * height * width) * Double(wShape[1] * wShape[2] * wShape[3])
        let passes: Double = switch backward {
        case nil: 1
        case .weightAndBias: 2
        case .all: 3
        }
        // The longest sums: C·KH·KW per output and input gradient, N·H·W per weight gradient.
        let terms = backward == nil ? wShape[1] * wShape[2] * wShape[3] : batch * height * width
        let what = switch backward {
        case nil: "forward"
        case .weightAndBias: "forward + weight and bias gradients"
        case .all: "forward + input, weight and bias gradients"
        }
        return Workload(
            name: name + (backward == nil ? "_fwd" : "_fwdbwd"),
            summary: "x\(xShape) * w\(wShape), pad 1, bias: \(what)", flopsPerStep: forwardFlops * passes,
            tolerance: .accumulation(terms: terms), slowOnReference: forwardFlops > 1e8,
            build: { device in
                let x = try BenchData.tensor(xShape, seed: 11, on: device)
                let w = try BenchData.tensor(wShape, seed: 12, scale: 0.1, on: device)
                let b = try BenchData.tensor([wShape[0]], seed: 13, scale: 0.1, on: device)
                let y = try x.conv2d(weight: w, bias: b, padding: attributes.padding)
                var outputs = [y]
                if let backward {
                    let g = try BenchData.tensor(y.shape, seed: 14, on: device)
                    if backward == .all {
                        outputs.append(try Tensor.apply(.conv2dBackwardInput(attributes, inputShape: x.shape), [g, w]))
                    }
                    outputs.append(try Tensor.apply(.conv2dBackwardWeight(attributes, weightShape: w.shape), [x, g]))
                    outputs.append(try g.sum(axes: [0, 2, 3]))
                }
                let plan = try Plan(inputs: [], outputs: outputs, updates: [])
                return WorkloadInstance(plan: plan, outputCount: outputs.count)
            },
            reference: forwardFlops > 1e8 ? { try sampledConvolutionReference(x: xShape, w: wShape, backward: backward) } : nil)
    }

    /// The reduced check of a large convolution, on the same inputs: the output and input gradient of
    /// the first and last image, the weight gradient of four output channels, and the whole bias gradient
    /// (1/16 to 1/32 of the reference's work). Indices follow the outputs' order (y, dx, dw, db).
    static func sampledConvolutionReference(x xShape: Shape, w wShape: Shape, backward: ConvolutionBackward?) throws -> CheckedValues {
        let device = Device(ReferenceBackend<Double>())
        let attributes = Convolution2D(padding: [1, 1, 1, 1])
        let (batch, channels, height, width) = (xShape[0], xShape[1], xShape[2], xShape[3])
        let outputsPerImage = wShape[0] * height * width
        let inputsPerImage = channels * height * width
        let images = [0, batch - 1]
        let kernelSize = wShape[1] * wShape[2] * wShape[3]
        let pickedChannels = (0..<4).map { $0 * (wShape[0] - 1) / 3 }
        let xValues = BenchData.uniform(xShape.count, seed: 11)
        let gValues = BenchData.uniform(batch * outputsPerImage, seed: 14)
        let w = try BenchData.tensor(wShape, seed: 12, scale: 0.1, on: device)
        let b = try BenchData.tensor([wShape[0]], seed: 13, scale: 0.1, on: device)
        func rows(_ values: [Float], _ size: Int) -> [Float] { images.flatMap { values[$0 * size..<($0 + 1) * size] } }
        let xImages = try Tensor(rows(xValues, inputsPerImage), shape: [images.count, channels, height, width], on: device)
        var values = try xImages.conv2d(weight: w, bias: b, padding: attributes.padding).doubles()
        var indices = images.flatMap { Array($0 * outputsPerImage..<($0 + 1) * outputsPerImage) }
        var offset = batch * outputsPerImage
        if let backward {
            let gImages = try Tensor(rows(gValues, outputsPerImage), shape: [images.count, wShape[0], height, width], on: device)
            if backward == .all {
                let inputShape: Shape = [images.count, channels, height, width]
                values += try Tensor.apply(.conv2dBackwardInput(attributes, inputShape: inputShape), [gImages, w]).doubles()
                indices += images.flatMap { Array(offset + $0 * inputsPerImage..<offset + ($0 + 1) * inputsPerImage) }
                offset += batch * inputsPerImage
            }
            // dy restricted to the picked output channels: [N, 4, H, W].
            let plane = height * width
            var gChannels: [Float] = []
            for n in 0..<batch {
                for o in pickedChannels {
                    let start: Int = (n * wShape[0] + o) * plane
                    gChannels += gValues[start..<start + plane]
                }
            }
            let x = try Tensor(xValues, shape: xShape, on: device)
            let g = try Tensor(gChannels, shape: [batch, pickedChannels.count, height, width], on: device)
            let weightShape: Shape = [pickedChannels.count, wShape[1], wShape[2], wShape[3]]
            values += try Tensor.apply(.conv2dBackwardWeight(attributes, weightShape: weightShape), [x, g]).doubles()
            indices += pickedChannels.flatMap { Array(offset + $0 * kernelSize..<offset + ($0 + 1) * kernelSize) }
            offset += wShape[0] * kernelSize
            let gAll = try Tensor(gValues, shape: [batch, wShape[0], height, width], on: device)
            values += try gAll.sum(axes: [0, 2, 3]).doubles()
            indices += Array(offset..<offset + wShape[0])
        }
        return CheckedValues(values: values, indices: indices)
    }

    /// 2×2 max pooling of `x` and its input gradient for `dL/dy = G` (the op pooling's gradient rule emits).
    public static func maxPooling(name: String, x xShape: Shape) -> Workload {
        let attributes = Pooling2D(kernel: [2, 2])
        return Workload(
            name: name + "_fwdbwd", summary: "2×2 max pooling of x\(xShape): forward + input gradient", flopsPerStep: nil,
            tolerance: .exact,
            build: { device in
                let x = try BenchData.tensor(xShape, seed: 21, on: device)
                let y = try x.maxPool2d(kernel: attributes.kernel)
                let g = try BenchData.tensor(y.shape, seed: 22, on: device)
                let dx = try Tensor.apply(.maxPool2dBackward(attributes), [x, g])
                let plan = try Plan(inputs: [], outputs: [y, dx], updates: [])
                return WorkloadInstance(plan: plan, outputCount: 2)
            })
    }

    /// One LSTM layer (KilnNN's `LSTM`, fused cells) over a sequence: input 64, hidden 128, 32 steps,
    /// batch 32, from zero state; the backward pass of `L = Σ h_t · G_t` to the weights and biases.
    /// GFLOP/s counts the gate matrix products only (as lstm_bench.py does): 3× the forward's. The check
    /// runs the same layer at batch 4 (the reference takes about half a minute at batch 32).
    public static func lstm(steps: Int = 32, batch: Int = 32, inputs: Int = 64, hidden: Int = 128, checkBatch: Int = 4) -> Workload {
        let gateFlops = Double(steps) * 2 * Double(batch) * 4 * Double(hidden) * Double(inputs + hidden)
        func build(batch: Int) -> (Device) throws -> WorkloadInstance {
            { device in
                var random = RandomSource(seed: 41)
                let layer = try LSTM(inputs: inputs, hidden: hidden, random: &random, on: device)
                let x = try BenchData.tensor([steps, batch, inputs], seed: 42, on: device)
                let g = try BenchData.tensor([steps, batch, hidden], seed: 43, on: device)
                let output = try layer.run(x).outputs
                let parameters = layer.parameters.map(\.variable.value)
                let grads = try gradients(of: (output * g).sum(), withRespectTo: parameters)
                let outputs = [output] + grads
                let plan = try Plan(inputs: [], outputs: outputs, updates: [])
                return WorkloadInstance(plan: plan, outputCount: outputs.count)
            }
        }
        return Workload(
            name: "lstm_fwdbwd",
            summary: "LSTM input \(inputs), hidden \(hidden), sequence \(steps), batch \(batch): forward + weight gradients",
            flopsPerStep: 3 * gateFlops,
            tolerance: BenchTolerance(
                normwise: 1e-4, reason: "\(steps) chained float32 steps; weight gradients sum over \(steps * batch) positions"),
            slowOnReference: true, build: build(batch: batch), check: build(batch: checkBatch))
    }

    /// One whole optimizer step (forward, loss, backward, SGD with momentum 0.9 at lr 0.01) of the course's
    /// CNN or MLP on a batch of 64 Fashion-MNIST-sized images, through `TrainingStep`. The check compares
    /// the loss, the momentum buffers after one step (the gradients) and the updated parameters; for the
    /// CNN it runs the same model on the first `checkBatch` images (the reference's naive convolutions
    /// take about a minute at batch 64; the conv workloads check those layers at full size).
    public static func trainingStep(name: String, model spec: ModelSpec, batch: Int = 64, checkBatch: Int? = nil) -> Workload {
        func build(batch: Int) -> (Device) throws -> WorkloadInstance {
            { device in
                var random = RandomSource(seed: 51)
                let model = try spec.build(inputShape: [1, 28, 28], random: &random, on: device)
                let optimizer = SGD(momentum: 0.9)
                let step = TrainingStep(model: model, optimizer: optimizer, loss: .softmaxCrossEntropy)
                let plan = try step.plan(for: [batch, 1, 28, 28], on: device)
                let images = BenchData.uniform(batch * 28 * 28, seed: 52, in: 0...1)
                let labels = (0..<batch).map { Float(($0 * 7) % 10) }
                let inputs = [images, labels, optimizer.scalars(step: 1, learningRate: 0.01)]
                return WorkloadInstance(plan: plan, inputs: inputs) {
                    let states = (optimizer.state + model.parameters).map(\.variable.value)
                    return try plan.output(0).map(Double.init) + states.flatMap { try $0.doubles() }
                }
            }
        }
        return Workload(
            name: name, summary: "\(spec) batch \(batch): forward, loss, backward, SGD momentum 0.9 lr 0.01",
            flopsPerStep: nil, itemsPerStep: batch, tolerance: .trainingStep, slowOnReference: checkBatch != nil,
            build: build(batch: batch), check: checkBatch.map { build(batch: $0) })
    }
}
