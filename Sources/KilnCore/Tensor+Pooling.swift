// Max, average and global average pooling on NCHW tensors.

extension Tensor {
    /// Max over each `kernel` window; `padding` is `[top, left, bottom, right]`, each side smaller than the window's
    /// extent, and never wins. `ceilMode` rounds the output size up (PyTorch's `ceil_mode`). Its gradient goes to the
    /// first maximum of a window in row-major order.
    public func maxPool2d(
        kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0, 0, 0], dilation: [Int] = [1, 1], ceilMode: Bool = false
    ) throws -> Tensor {
        let attributes = Pooling2D(kernel: kernel, stride: stride, padding: padding, dilation: dilation, ceilMode: ceilMode)
        return try Tensor.apply(.maxPool2d(attributes), [self])
    }

    /// Mean over each `kernel` window, dividing by the window's taps inside the padded input when
    /// `countIncludePadding` (the whole window unless `ceilMode` lets it reach past the padding, as PyTorch), else by
    /// its taps inside the input. `ceilMode` rounds the output size up.
    public func avgPool2d(
        kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0, 0, 0], dilation: [Int] = [1, 1],
        countIncludePadding: Bool = true, ceilMode: Bool = false
    ) throws -> Tensor {
        let attributes = Pooling2D(
            kernel: kernel, stride: stride, padding: padding, dilation: dilation, countIncludePadding: countIncludePadding,
            ceilMode: ceilMode)
        return try Tensor.apply(.avgPool2d(attributes), [self])
    }

    /// Mean over height and width: `[N, C, H, W]` to `[N, C, 1, 1]`.
    public func globalAvgPool2d() throws -> Tensor {
        guard shape.rank == 4 else { throw ShapeError(op: "global_avg_pool2d", "x must be rank 4 (NCHW)", shapes: [shape]) }
        return try mean(axes: [2, 3], keepDimensions: true)
    }
}
