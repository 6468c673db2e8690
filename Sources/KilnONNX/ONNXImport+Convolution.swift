// Convolution and pooling over one or two spatial axes: Conv, ConvTranspose, MaxPool, AveragePool and
// GlobalAveragePool. ONNX's window attributes (kernel_shape, strides, dilations, pads as all the begins then
// all the ends, auto_pad) become Kiln's 2-D ones; a 1-D input gains a height of 1.
import KilnCore

/// A window's geometry in Kiln's 2-D form: `[vertical, horizontal]` pairs and `[top, left, bottom, right]` padding.
struct SpatialWindow {
    var kernel: [Int]
    var stride: [Int]
    var dilation: [Int]
    var padding: [Int]

    /// Reads strides, dilations, pads and auto_pad of `node` for `kernel` over `input` (the spatial sizes,
    /// one or two). SAME_UPPER puts the odd padding element at the end, SAME_LOWER at the beginning.
    init(_ node: ONNXNode, kernel: [Int], input: [Int]) throws(ONNXError) {
        let rank = kernel.count
        guard rank == 1 || rank == 2 else {
            throw node.unsupported("kernel_shape", "\(rank)-D windows; Kiln convolves and pools over 1 or 2 spatial axes")
        }
        let stride = try node.ints("strides") ?? Array(repeating: 1, count: rank)
        let dilation = try node.ints("dilations") ?? Array(repeating: 1, count: rank)
        var pads = try node.ints("pads") ?? Array(repeating: 0, count: 2 * rank)
        guard stride.count == rank, stride.allSatisfy({ $0 > 0 }) else {
            throw node.unsupported("strides", "\(stride) for \(rank) spatial axes")
        }
        guard dilation.count == rank, dilation.allSatisfy({ $0 > 0 }) else {
            throw node.unsupported("dilations", "\(dilation) for \(rank) spatial axes")
        }
        guard pads.count == 2 * rank, pads.allSatisfy({ $0 >= 0 }) else {
            throw node.unsupported("pads", "\(pads) for \(rank) spatial axes")
        }
        switch try node.string("auto_pad") ?? "NOTSET" {
        case "NOTSET": break
        case "VALID": pads = Array(repeating: 0, count: 2 * rank)
        case let mode where mode == "SAME_UPPER" || mode == "SAME_LOWER":
            for axis in 0..<rank {
                let outputs = (input[axis] + stride[axis] - 1) / stride[axis]
                let total = max(0, (outputs - 1) * stride[axis] + (kernel[axis] - 1) * dilation[axis] + 1 - input[axis])
                let smaller = total / 2
                (pads[axis], pads[axis + rank]) = mode == "SAME_UPPER" ? (smaller, total - smaller) : (total - smaller, smaller)
            }
        case let mode: throw node.unsupported("auto_pad", "unknown mode \(mode)")
        }
        if rank == 1 {
            self.kernel = [1, kernel[0]]
            self.stride = [1, stride[0]]
            self.dilation = [1, dilation[0]]
            padding = [0, pads[0], 0, pads[1]]
        } else {
            self.kernel = kernel
            self.stride = stride
            self.dilation = dilation
            padding = pads
        }
    }
}

extension ONNXImport {
    /// `x [N, C, L]` as `[N, C, 1, L]`; a 2-D input unchanged.
    static func lifted(_ x: Tensor, _ node: ONNXNode) throws -> Tensor {
        switch x.shape.rank {
        case 3: return try x.reshaped([x.shape[0], x.shape[1], 1, x.shape[2]])
        case 4: return x
        default:
            throw node.unsupported(
                "kernel_shape", "input \(x.shape) has \(x.shape.rank - 2) spatial axes; Kiln convolves and pools over 1 or 2")
        }
    }

    /// The result of a lifted 1-D op back in 1-D, `[N, C, 1, L]` to `[N, C, L]`.
    static func lowered(_ y: Tensor, spatialRank: Int) throws -> Tensor {
        spatialRank == 1 ? try y.reshaped([y.shape[0], y.shape[1], y.shape[3]]) : y
    }

    /// Spatial sizes of `x [N, C, ...]`.
    static func spatial(_ shape: Shape) -> [Int] { Array(shape.dimensions.dropFirst(2)) }

    /// Checks the optional kernel_shape attribute against the weight's spatial sizes.
    static func checkKernelShape(_ node: ONNXNode, weight: Shape) throws(ONNXError) {
        if let kernel = try node.ints("kernel_shape"), kernel != spatial(weight) {
            throw node.unsupported("kernel_shape", "\(kernel) differs from the weight's \(spatial(weight))")
        }
    }

    static func convolution(_ graph: ONNXGraphBuilder, _ node: ONNXNode) throws -> [Tensor] {
        let (x, w) = (try graph.input(node, 0), try graph.input(node, 1))
        let bias = try graph.optionalInput(node, 2)
        try checkKernelShape(node, weight: w.shape)
        let window = try SpatialWindow(node, kernel: spatial(w.shape), input: spatial(x.shape))
        let y = try lifted(x, node).conv2d(
            weight: lifted(w, node), bias: bias, stride: window.stride, padding: window.padding, dilation: window.dilation,
            groups: node.int("group", default: 1))
        return [try lowered(y, spatialRank: x.shape.rank - 2)]
    }

    /// ConvTranspose: weight `[Cin, Cout/group, ...]`. With output_shape (or SAME auto_pad, whose output is
    /// input × stride) the padding follows from the requested size; a size beyond the natural one becomes
    /// output padding at the end.
    static func transposedConvolution(_ graph: ONNXGraphBuilder, _ node: ONNXNode) throws -> [Tensor] {
        let (x, w) = (try graph.input(node, 0), try graph.input(node, 1))
        let bias = try graph.optionalInput(node, 2)
        try checkKernelShape(node, weight: w.shape)
        let kernel = spatial(w.shape)
        let input = spatial(x.shape)
        let rank = kernel.count
        guard input.count == rank else {
            throw node.invalid("input \(x.shape) and weight \(w.shape) have different numbers of spatial axes")
        }
        let autoPad = try node.string("auto_pad") ?? "NOTSET"
        var outputPadding = try node.ints("output_padding") ?? Array(repeating: 0, count: rank)
        guard outputPadding.count == rank else { throw node.unsupported("output_padding", "\(outputPadding) for \(rank) spatial axes") }
        var requested = try node.ints("output_shape").map { Array($0.suffix(rank)) }
        if requested == nil, autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER" {
            let strides = try node.ints("strides") ?? Array(repeating: 1, count: rank)
            requested = zip(input, strides).map { $0 * $1 }
        }
        // Strides and dilations as SpatialWindow reads them; padding from pads, or from the requested size.
        var window = try SpatialWindow(node, kernel: kernel, input: input)
        if let requested {
            guard requested.count == rank else { throw node.unsupported("output_shape", "\(requested) for \(rank) spatial axes") }
            let stride = rank == 1 ? [window.stride[1]] : window.stride
            let dilation = rank == 1 ? [window.dilation[1]] : window.dilation
            var pads = Array(repeating: 0, count: 2 * rank)
            for axis in 0..<rank {
                let natural = stride[axis] * (input[axis] - 1) + outputPadding[axis] + (kernel[axis] - 1) * dilation[axis] + 1
                let total = natural - requested[axis]
                if total < 0 {
                    outputPadding[axis] -= total
                } else {
                    let half = total / 2
                    (pads[axis], pads[axis + rank]) = autoPad == "SAME_UPPER" ? (half, total - half) : (total - half, half)
                }
            }
            window.padding = rank == 1 ? [0, pads[0], 0, pads[1]] : pads
        }
        let y = try lifted(x, node).convTranspose2d(
            weight: lifted(w, node), bias: bias, stride: window.stride, padding: window.padding,
            outputPadding: rank == 1 ? [0, outputPadding[0]] : outputPadding, dilation: window.dilation,
            groups: node.int("group", default: 1))
        return [try lowered(y, spatialRank: rank)]
    }

    /// MaxPool and AveragePool, with ceil_mode, pads below the window's extent and dilations (Kiln's `Pooling2D`
    /// follows ONNX's rules); MaxPool's Indices output is not computed.
    static func pool(_ graph: ONNXGraphBuilder, _ node: ONNXNode, maximum: Bool) throws -> [Tensor] {
        let x = try graph.input(node, 0)
        guard let kernel = try node.ints("kernel_shape") else { throw node.invalid("needs the kernel_shape attribute") }
        let input = spatial(x.shape)
        guard kernel.count == input.count else { throw node.unsupported("kernel_shape", "\(kernel) for input \(x.shape)") }
        let window = try SpatialWindow(node, kernel: kernel, input: input)
        let ceilMode = try node.int("ceil_mode", default: 0) != 0
        if maximum {
            // storage_order only orders the Indices output, which is not computed.
            _ = try node.int("storage_order")
        }
        let countIncludePadding = maximum ? false : try node.int("count_include_pad", default: 0) != 0
        let attributes = Pooling2D(
            kernel: window.kernel, stride: window.stride, padding: window.padding, dilation: window.dilation,
            countIncludePadding: countIncludePadding, ceilMode: ceilMode)
        let y = try Tensor.apply(maximum ? .maxPool2d(attributes) : .avgPool2d(attributes), [lifted(x, node)])
        return [try lowered(y, spatialRank: kernel.count)]
    }

    static func globalAveragePool(_ graph: ONNXGraphBuilder, _ node: ONNXNode) throws -> [Tensor] {
        let x = try graph.input(node, 0)
        guard x.shape.rank >= 3 else { throw node.invalid("x \(x.shape) needs at least one spatial axis") }
        return [try x.mean(axes: Array(2..<x.shape.rank), keepDimensions: true)]
    }

    /// Inference-mode batch normalisation: `(x − mean) / √(var + ε) · scale + B` per channel (axis 1), folded to
    /// `x · factor + shift` when the statistics are constants (two elementwise ops per run).
    static func batchNormalization(_ graph: ONNXGraphBuilder, _ node: ONNXNode) throws -> [Tensor] {
        let x = try graph.input(node, 0)
        let (scale, bias, mean, variance) = (
            try graph.input(node, 1), try graph.input(node, 2), try graph.input(node, 3), try graph.input(node, 4)
        )
        if try node.int("training_mode", default: 0) != 0 {
            throw node.unsupported("training_mode", "Kiln imports batch normalisation in inference form (training_mode = 0)")
        }
        let epsilon = try node.float("epsilon", default: 1e-5)
        _ = try node.float("momentum")  // Updates running statistics in training only.
        guard x.shape.rank >= 2 else { throw node.invalid("x \(x.shape) needs a channel axis") }
        let channels = x.shape[1]
        for (name, tensor) in [("scale", scale), ("B", bias), ("input_mean", mean), ("input_var", variance)]
        where tensor.shape != [channels] {
            throw node.invalid("\(name) must be [\(channels)], got \(tensor.shape)")
        }
        let channelShape = Shape([1, channels] + Array(repeating: 1, count: x.shape.rank - 2))
        let factor = try graph.fold(scale / (variance + Double(epsilon)).sqrt())
        let shift = try graph.fold(bias - mean * factor)
        return [try x * factor.reshaped(channelShape) + shift.reshaped(channelShape)]
    }
}
