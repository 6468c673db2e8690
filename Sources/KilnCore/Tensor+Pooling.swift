// Max, average and global average pooling on NCHW tensors.

extension Tensor {
    /// Max over each `kernel` window; `padding` is `[top, left, bottom, right]` and never wins.
    /// Its gradient goes to the first maximum of a window in row-major order.
    public func maxPool2d(kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0, 0, 0], dilation: [Int] = [1, 1]) throws -> Tensor {
        try Tensor.apply(.maxPool2d(Pooling2D(kernel: kernel, stride: stride, padding: padding, dilation: dilation)), [self])
    }

    /// Mean over each `kernel` window, dividing by the whole window when `countIncludePadding`,
    /// else by the window's elements inside the input.
    public func avgPool2d(
        kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0, 0, 0], countIncludePadding: Bool = true
    ) throws -> Tensor {
        let attributes = Pooling2D(kernel: kernel, stride: stride, padding: padding, countIncludePadding: countIncludePadding)
        return try Tensor.apply(.avgPool2d(attributes), [self])
    }

    /// Mean over height and width: `[N, C, H, W]` to `[N, C, 1, 1]`.
    public func globalAvgPool2d() throws -> Tensor {
        guard shape.rank == 4 else { throw ShapeError(op: "global_avg_pool2d", "x must be rank 4 (NCHW)", shapes: [shape]) }
        return try mean(axes: [2, 3], keepDimensions: true)
    }
}
