// Pooling family: max and average pooling and their gradients with Kernels/pool2d.cl.
import KilnCore

extension KernelDescription {
    /// pool2d.cl: direct kernels, one work item per output (forward) or input (backward) element, or per
    /// output row (max pooling forward, and its backward when windows cannot overlap).
    static let pool2d = KernelDescription(
        file: "pool2d.cl",
        entries: [
            "pool2d_forward_avg", "pool2d_backward_max", "pool2d_backward_avg",
            "pool2d_forward_max_rows", "pool2d_forward_max_2x2", "pool2d_backward_max_disjoint_rows", "pool2d_backward_max_2x2",
        ],
        tunables: [],
        isValid: { _ in true })
}

extension OpenCLBackend {
    /// Work items per group of the pooling kernels; fixed so pocl compiles each kernel once.
    static let poolingLocal = [64]

    /// 2x2 windows at stride 2 without padding, dilation or ceil mode (whose last window may reach past the input):
    /// the fixed kernels `pool2d_forward_max_2x2` and `pool2d_backward_max_2x2`.
    static func isPlain2x2(_ attributes: Pooling2D) -> Bool {
        attributes.kernel == [2, 2] && attributes.stride == [2, 2] && attributes.dilation == [1, 1]
            && attributes.padding.allSatisfy { $0 == 0 } && !attributes.ceilMode
    }

    func pool2d(_ attributes: Pooling2D, maximum: Bool, x: OpenCLOperand, _ out: OpenCLBuffer, _ outShape: Shape) throws {
        try pool2d(attributes, maximum: maximum, x: x, out, outShape, allowFixed: true)
    }

    /// Max pooling takes one work item per output row: `pool2d_forward_max_2x2` for plain 2x2 windows unless
    /// `allowFixed` is false (tests run the general row kernel on that geometry too), else
    /// `pool2d_forward_max_rows`.
    func pool2d(
        _ attributes: Pooling2D, maximum: Bool, x: OpenCLOperand, _ out: OpenCLBuffer, _ outShape: Shape, allowFixed: Bool
    ) throws {
        let geometry = poolingGeometry(attributes, input: x.shape, output: outShape)
        let rows = outShape[0] * outShape[1] * outShape[2]
        if maximum {
            if allowFixed && Self.isPlain2x2(attributes) {
                let kernel = try kernel(KernelDescription.pool2d.file, "pool2d_forward_max_2x2")
                try launch(
                    kernel, [.buffer(x.buffer), .buffer(out)] + geometry.prefix(5), global: [rows], preferredLocal: Self.poolingLocal)
                return
            }
            let kernel = try kernel(KernelDescription.pool2d.file, "pool2d_forward_max_rows")
            try launch(kernel, [.buffer(x.buffer), .buffer(out)] + geometry, global: [rows], preferredLocal: Self.poolingLocal)
        } else {
            let kernel = try kernel(KernelDescription.pool2d.file, "pool2d_forward_avg")
            try launch(
                kernel, [.buffer(x.buffer), .buffer(out)] + averaging(attributes) + geometry,
                global: [outShape.count], preferredLocal: Self.poolingLocal)
        }
    }

    func maxPool2dBackward(_ attributes: Pooling2D, x: OpenCLOperand, dy: OpenCLOperand, _ out: OpenCLBuffer) throws {
        try maxPool2dBackward(attributes, x: x, dy: dy, out, allowDisjoint: true)
    }

    /// Windows that cannot overlap take one work item per dy row (`pool2d_backward_max_2x2` for plain 2x2
    /// windows unless `allowFixed` is false, else `pool2d_backward_max_disjoint_rows`) unless `allowDisjoint`
    /// is false (tests run the gather on those geometries too).
    func maxPool2dBackward(
        _ attributes: Pooling2D, x: OpenCLOperand, dy: OpenCLOperand, _ out: OpenCLBuffer, allowDisjoint: Bool,
        allowFixed: Bool = true
    ) throws {
        let geometry = poolingGeometry(attributes, input: x.shape, output: dy.shape)
        let (kernelSize, stride, dilation) = (attributes.kernel, attributes.stride, attributes.dilation)
        let disjoint = (0..<2).allSatisfy { (kernelSize[$0] - 1) * dilation[$0] < stride[$0] }
        guard allowDisjoint, disjoint else {
            let kernel = try kernel(KernelDescription.pool2d.file, "pool2d_backward_max")
            try launch(
                kernel, [.buffer(x.buffer), .buffer(dy.buffer), .buffer(out)] + geometry, global: [x.shape.count],
                preferredLocal: Self.poolingLocal)
            return
        }
        // The windows tile dx exactly when each is a dense block as wide as the stride, without padding,
        // and together they span the input; otherwise the elements no window reads must be zeroed first.
        let tiles = (0..<2).allSatisfy { axis in
            dilation[axis] == 1 && kernelSize[axis] == stride[axis] && attributes.padding[axis] == 0
                && dy.shape[axis + 2] * stride[axis] == x.shape[axis + 2]
        }
        if !tiles { try zero(out, count: x.shape.count) }
        let rows = dy.shape[0] * dy.shape[1] * dy.shape[2]
        let fixed = allowFixed && Self.isPlain2x2(attributes)
        let kernel = try kernel(KernelDescription.pool2d.file, fixed ? "pool2d_backward_max_2x2" : "pool2d_backward_max_disjoint_rows")
        try launch(
            kernel, [.buffer(x.buffer), .buffer(dy.buffer), .buffer(out)] + (fixed ? Array(geometry.prefix(5)) : geometry),
            global: [rows], preferredLocal: Self.poolingLocal)
    }

    func avgPool2dBackward(_ attributes: Pooling2D, dy: OpenCLOperand, _ out: OpenCLBuffer, _ outShape: Shape) throws {
        let kernel = try kernel(KernelDescription.pool2d.file, "pool2d_backward_avg")
        try launch(
            kernel,
            [.buffer(dy.buffer), .buffer(out)] + averaging(attributes)
                + poolingGeometry(attributes, input: outShape, output: dy.shape),
            global: [outShape.count], preferredLocal: Self.poolingLocal)
    }

    /// The average kernels' arguments before the geometry: whether the padding counts, and the bottom and right padding.
    private func averaging(_ attributes: Pooling2D) -> [KernelArgument] {
        [.int(attributes.countIncludePadding ? 1 : 0), .int(attributes.padding[2]), .int(attributes.padding[3])]
    }

    /// The `POOL_GEOMETRY` arguments of pool2d.cl, in its order: P, H, W, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW.
    private func poolingGeometry(_ attributes: Pooling2D, input: Shape, output: Shape) -> [KernelArgument] {
        [
            input[0] * input[1], input[2], input[3], output[2], output[3], attributes.kernel[0], attributes.kernel[1],
            attributes.stride[0], attributes.stride[1], attributes.padding[0], attributes.padding[1],
            attributes.dilation[0], attributes.dilation[1],
        ].map { KernelArgument.int($0) }
    }
}
