// Elementwise family: fill, dropout masks, unary functions and their gradients, broadcasting binary
// functions, one-hot encoding and bias addition, with Kernels/elementwise.cl.
import KilnCore

extension KernelDescription {
    /// elementwise.cl: elementwise kernels; the contiguous ones take a run of `vectorLanes`-float vectors per work item.
    static let elementwise = KernelDescription(
        file: "elementwise.cl",
        entries: [
            "fill_forward", "dropout_mask_forward", "unary_forward", "unary_backward", "binary_forward",
            "binary_forward_scalar", "binary_forward_broadcast", "binary_forward_channel", "binary_forward_row",
            "one_hot_forward", "bias_add_forward", "update_momentum_buffer", "update_sgd", "update_adam_moment", "update_adam",
            "update_sgd_multi",
        ],
        tunables: [],
        isValid: { _ in true })
}

extension OpenCLBackend {
    /// Work items per group of the elementwise kernels; fixed so pocl compiles each kernel once.
    static let elementwiseLocal = [64]

    /// Floats per vector of the contiguous kernels (`KILN_LANES` in elementwise.cl).
    static let vectorLanes = 8

    func elementwise(_ entry: String, _ arguments: [KernelArgument], count: Int) throws {
        let kernel = try kernel(KernelDescription.elementwise.file, entry)
        try launch(kernel, arguments, global: [count], preferredLocal: Self.elementwiseLocal)
    }

    /// Launches a contiguous kernel over `count` elements, a run of `elementwiseRun(count)` per work item (the
    /// kernel's last argument).
    func vectorElementwise(_ entry: String, _ arguments: [KernelArgument], count: Int) throws {
        let run = try checkedRun(count, kernel: entry)
        try elementwise(entry, arguments + [.int(run)], count: (count + run - 1) / run)
    }

    /// `elementwiseRun(count)`, checked to be a positive multiple of `vectorLanes`.
    func checkedRun(_ count: Int, kernel: String) throws -> Int {
        let run = elementwiseRun(count)
        guard run > 0, run % Self.vectorLanes == 0 else {
            throw OpenCLError.invalidLaunch(
                kernel: kernel, reason: "a run of \(run) elements is not a positive multiple of \(Self.vectorLanes)")
        }
        return run
    }

    /// Elements per work item of the contiguous kernels over `count` elements on `device`: one vector on a GPU, whose
    /// neighbouring work items then read neighbouring vectors; on a CPU device runs long enough for about four work
    /// groups per compute unit, from one vector up to 1024 elements. pocl ran each work item as a call, so one vector
    /// per item cost more in dispatch than the work (pocl, AMD EPYC with AVX2: the MLP step's SGD update of 235,146
    /// parameters 0.40 ms with one vector per item, 0.28-0.36 with runs of 64, 0.19-0.29 with 256, 0.15-0.23 with
    /// 1024; a binary add of 802,816 floats 0.65-1.3 ms a launch with one vector, 0.48-0.53 with 1024).
    static func elementwiseRun(count: Int, device: OpenCLDeviceInfo) -> Int {
        guard !device.isGPU else { return vectorLanes }
        let groups = 4 * max(1, device.computeUnits)
        let run = (count + groups * elementwiseLocal[0] - 1) / (groups * elementwiseLocal[0])
        return min(1024, max(vectorLanes, (run + vectorLanes - 1) / vectorLanes * vectorLanes))
    }

    func fill(_ out: OpenCLBuffer, count: Int, value: Float) throws {
        try vectorElementwise("fill_forward", [.buffer(out), .int(count), .float(value)], count: count)
    }

    /// Bit-exact with `DropoutHash.uniform(seed:index:)`: `u = k / 2^24` for a 24-bit integer `k`, so
    /// `u < p` exactly when `k < ceil(p · 2^24)`, an integer test the kernel makes without rounding.
    func dropoutMask(_ out: OpenCLBuffer, count: Int, probability: Double, seed: UInt64) throws {
        let threshold = Int((probability * 16_777_216).rounded(.up))
        // Kernel arguments are 32-bit ints: the seed travels as two halves, reassembled as a ulong.
        let low = Int(Int32(truncatingIfNeeded: seed))
        let high = Int(Int32(truncatingIfNeeded: seed >> 32))
        try elementwise(
            "dropout_mask_forward",
            [.buffer(out), .int(count), .int(low), .int(high), .int(threshold), .float(Float(1 / (1 - probability)))],
            count: count)
    }

    func unary(_ function: UnaryFunction, _ x: OpenCLOperand, _ out: OpenCLBuffer) throws {
        let count = x.shape.count
        try vectorElementwise(
            "unary_forward",
            [.buffer(x.buffer), .buffer(out), .int(count), .int(function.kernelCode), .float(function.kernelSlope)],
            count: count)
    }

    func unaryGradient(_ function: UnaryFunction, x: OpenCLOperand, dy: OpenCLOperand, _ out: OpenCLBuffer) throws {
        let count = x.shape.count
        try vectorElementwise(
            "unary_backward",
            [
                .buffer(x.buffer), .buffer(dy.buffer), .buffer(out), .int(count), .int(function.kernelCode),
                .float(function.kernelSlope),
            ],
            count: count)
    }

    /// Elements per work item of `binary_forward_channel` and `binary_forward_row` (the run along a row).
    static let binaryRunLength = 128

    /// Operands of the output's shape (up to size-1 axes) take the plain kernel; a one-element operand beside one of the
    /// output's shape takes the scalar kernel; an operand of the output's shape beside one that, after
    /// axis merging, is a per-channel block ([1, C, 1] against [N, C, I]) or a row ([1, K] against [M, K])
    /// takes the row kernels; any other broadcast takes the strided one, with each operand read through
    /// `Shape.broadcastStrides(to:)` (0 along broadcast axes).
    func binary(_ function: BinaryFunction, _ a: OpenCLOperand, _ b: OpenCLOperand, _ out: OpenCLBuffer, _ outShape: Shape) throws {
        let count = outShape.count
        let head: [KernelArgument] = [.buffer(a.buffer), .buffer(b.buffer), .buffer(out), .int(count), .int(function.kernelCode)]
        // Operands with as many elements as the output differ from it only by size-1 axes: the same layout.
        if a.shape.count == count && b.shape.count == count {
            try vectorElementwise("binary_forward", head, count: count)
            return
        }
        if a.shape.count == 1 && b.shape == outShape || b.shape.count == 1 && a.shape == outShape {
            try vectorElementwise("binary_forward_scalar", head + [.int(a.shape == outShape ? 1 : 0)], count: count)
            return
        }
        let layout = StridedLayout(
            dimensions: outShape.dimensions,
            strides: [a.shape.broadcastStrides(to: outShape), b.shape.broadcastStrides(to: outShape)])
        if count > 0, a.shape == outShape || b.shape == outShape,
            let pattern = Self.rowBroadcast(layout, smallOperand: a.shape == outShape ? 1 : 0)
        {
            let run = Self.binaryRunLength
            let chunks = (pattern.inner + run - 1) / run
            let rows = count / pattern.inner
            let smallOperand = a.shape == outShape ? 1 : 0
            let entry = pattern.channels == nil ? "binary_forward_row" : "binary_forward_channel"
            var arguments: [KernelArgument] = [
                .buffer(a.buffer), .buffer(b.buffer), .buffer(out), .int(rows), .int(function.kernelCode), .int(smallOperand),
            ]
            if let channels = pattern.channels { arguments.append(.int(channels)) }
            arguments += [.int(pattern.inner), .int(chunks), .int(run)]
            try elementwise(entry, arguments, count: rows * chunks)
            return
        }
        let entry = "binary_forward_broadcast"
        try elementwise(entry, head + layout.arguments(kernel: entry), count: count)
    }

    /// The row-kernel view of a broadcast whose operand `1 - smallOperand` has the output's shape: after
    /// merging, the small operand's strides are (0, 1, 0) over [O, C, I] or (1, 0) over [C, I] (a constant
    /// per row of I elements: `channels` = C), or (0, 1) over [M, K] (a row of K: `channels` = nil, inner = K).
    /// nil for any other pattern.
    static func rowBroadcast(_ layout: StridedLayout, smallOperand: Int) -> (channels: Int?, inner: Int)? {
        let merged = layout.merged()
        let dimensions = merged.dimensions
        let strides = merged.strides[smallOperand]
        switch strides {
        case [0, 1, 0]: return (dimensions[1], dimensions[2])
        case [1, 0]: return (dimensions[0], dimensions[1])
        case [0, 1]: return (nil, dimensions[1])
        default: return nil
        }
    }

    func oneHot(labels: OpenCLOperand, classes: Int, _ out: OpenCLBuffer) throws {
        let count = labels.shape.count * classes
        try elementwise("one_hot_forward", [.buffer(labels.buffer), .buffer(out), .int(count), .int(classes)], count: count)
    }

    /// `x [N, C, ...]` plus `bias [C]` along axis 1.
    func biasAdd(_ x: OpenCLOperand, bias: OpenCLOperand, _ out: OpenCLBuffer) throws {
        let count = x.shape.count
        let inner = x.shape.dimensions.dropFirst(2).reduce(1, *)
        try elementwise(
            "bias_add_forward",
            [.buffer(x.buffer), .buffer(bias.buffer), .buffer(out), .int(count), .int(x.shape[1]), .int(inner)],
            count: count)
    }
}
