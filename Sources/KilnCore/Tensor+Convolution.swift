// Convolution and transposed convolution on NCHW tensors.

extension Tensor {
    /// Cross-correlation of `self [N, C, H, W]` with `weight [O, C/groups, KH, KW]`, plus `bias [O]`.
    ///
    /// `padding` is `[top, left, bottom, right]`. The textbook convolution (kernel flipped) is this op
    /// with the kernel flipped in both spatial axes.
    public func conv2d(
        weight: Tensor, bias: Tensor? = nil, stride: [Int] = [1, 1], padding: [Int] = [0, 0, 0, 0],
        dilation: [Int] = [1, 1], groups: Int = 1
    ) throws -> Tensor {
        let attributes = Convolution2D(stride: stride, padding: padding, dilation: dilation, groups: groups)
        return try Tensor.apply(.conv2d(attributes), [self, weight] + (bias.map { [$0] } ?? []))
    }

    /// Transposed convolution of `self [N, Cin, H, W]` with `weight [Cin, Cout/groups, KH, KW]` (PyTorch's
    /// `ConvTranspose2d` layout), plus `bias [Cout]`. It is the gradient of `conv2d` with respect to its input;
    /// `outputPadding` (`[bottom, right]`, each below the stride) picks among the output sizes that map back to `H, W`.
    public func convTranspose2d(
        weight: Tensor, bias: Tensor? = nil, stride: [Int] = [1, 1], padding: [Int] = [0, 0, 0, 0],
        outputPadding: [Int] = [0, 0], dilation: [Int] = [1, 1], groups: Int = 1
    ) throws -> Tensor {
        let attributes = Convolution2D(stride: stride, padding: padding, dilation: dilation, groups: groups)
        let rule = ShapeRule(op: "conv_transpose2d", shapes: [shape, weight.shape])
        try rule.require(shape.rank == 4 && weight.shape.rank == 4, "x and w must be rank 4")
        try rule.require(shape[1] == weight.shape[0], "x has \(shape[1]) channels but w expects \(weight.shape[0])")
        try rule.require(
            outputPadding.count == 2 && stride.count == 2 && outputPadding[0] >= 0 && outputPadding[1] >= 0
                && outputPadding[0] < stride[0] && outputPadding[1] < stride[1],
            "output padding \(outputPadding) must be non-negative and below the stride \(stride)")
        try rule.require(padding.count == 4 && dilation.count == 2, "padding needs 4 numbers and dilation 2")
        let height = (shape[2] - 1) * stride[0] - padding[0] - padding[2] + dilation[0] * (weight.shape[2] - 1) + 1 + outputPadding[0]
        let width = (shape[3] - 1) * stride[1] - padding[1] - padding[3] + dilation[1] * (weight.shape[3] - 1) + 1 + outputPadding[1]
        try rule.require(height > 0 && width > 0, "output would be \(height)x\(width)")
        let outputShape: Shape = [shape[0], weight.shape[1] * groups, height, width]
        let output = try Tensor.apply(.conv2dBackwardInput(attributes, inputShape: outputShape), [self, weight])
        return try bias.map { try output.addingBias($0) } ?? output
    }
}
