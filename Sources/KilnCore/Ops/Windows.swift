// Windows: the sliding windows of a 2-D convolution or pooling written with movement ops, for their decompositions.
// Tap (kh, kw) of every window, taken over the whole input at once, is a strided slice of the zero-padded input;
// its adjoint (where a tap's gradient lands in the input) is the same movements undone: slices become pads.

/// The windows over the last two axes of `x [..., H, W]` for a kernel `KH × KW` with the given stride, padding
/// `[top, left, bottom, right]` and dilation, giving `OH × OW` positions.
struct Windows {
    let kernel: (height: Int, width: Int)
    let stride: (height: Int, width: Int)
    let dilation: (height: Int, width: Int)
    /// `[top, left, bottom, right]`.
    let padding: [Int]
    let input: (height: Int, width: Int)
    let output: (height: Int, width: Int)

    /// The padded input's extents: the padding, plus what the last tap's strided run needs beyond the bottom and
    /// right edges (under one stride) so that every run is a slice of `output · stride` elements.
    var padded: (height: Int, width: Int) {
        (
            Swift.max(input.height + padding[0] + padding[2], (kernel.height - 1) * dilation.height + output.height * stride.height),
            Swift.max(input.width + padding[1] + padding[3], (kernel.width - 1) * dilation.width + output.width * stride.width)
        )
    }

    /// The taps in row-major window order.
    var taps: [(kh: Int, kw: Int)] {
        (0..<kernel.height).flatMap { kh in (0..<kernel.width).map { kw in (kh, kw) } }
    }

    /// `x [..., H, W]` zero-padded to `[..., paddedHeight, paddedWidth]`.
    func pad(_ x: Tensor) throws -> Tensor {
        let rank = x.shape.rank
        let rows = try padded(x, axis: rank - 2, before: padding[0], after: padded.height - input.height - padding[0])
        return try padded(rows, axis: rank - 1, before: padding[1], after: padded.width - input.width - padding[1])
    }

    /// The gradient of `pad`: the padded borders cut away.
    func unpad(_ g: Tensor) throws -> Tensor {
        let rank = g.shape.rank
        let rows = try g.shape[rank - 2] == input.height ? g : g.slice(axis: rank - 2, start: padding[0], length: input.height)
        return try rows.shape[rank - 1] == input.width ? rows : rows.slice(axis: rank - 1, start: padding[1], length: input.width)
    }

    /// Tap `(kh, kw)` of every window of the padded input: `[..., OH, OW]`, element `(oh, ow)` reading padded row
    /// `oh · strideH + kh · dilationH` and column `ow · strideW + kw · dilationW`.
    func tap(_ padded: Tensor, kh: Int, kw: Int) throws -> Tensor {
        let rank = padded.shape.rank
        let rows = try run(padded, axis: rank - 2, start: kh * dilation.height, count: output.height, stride: stride.height)
        return try run(rows, axis: rank - 1, start: kw * dilation.width, count: output.width, stride: stride.width)
    }

    /// The adjoint of `tap`: `g [..., OH, OW]` placed where the tap read, zeros elsewhere, in the padded shape.
    func tapAdjoint(_ g: Tensor, kh: Int, kw: Int) throws -> Tensor {
        let rank = g.shape.rank
        let columns = try runAdjoint(g, axis: rank - 1, start: kw * dilation.width, stride: stride.width, extent: padded.width)
        return try runAdjoint(columns, axis: rank - 2, start: kh * dilation.height, stride: stride.height, extent: padded.height)
    }

    /// Elements `start, start + stride, ...` (`count` of them) along `axis`: a slice of `count · stride` elements seen
    /// as `[count, stride]`, of which the first column is kept.
    private func run(_ x: Tensor, axis: Int, start: Int, count: Int, stride: Int) throws -> Tensor {
        let span = try x.slice(axis: axis, start: start, length: count * stride)
        if stride == 1 { return span }
        var split = span.shape.dimensions
        split[axis] = count
        split.insert(stride, at: axis + 1)
        var kept = span.shape.dimensions
        kept[axis] = count
        return try span.reshaped(Shape(split)).slice(axis: axis + 1, start: 0, length: 1).reshaped(Shape(kept))
    }

    /// The adjoint of `run`: each element followed by `stride − 1` zeros, then padded to `extent` along `axis`.
    private func runAdjoint(_ g: Tensor, axis: Int, start: Int, stride: Int, extent: Int) throws -> Tensor {
        let count = g.shape[axis]
        var spread = g
        if stride > 1 {
            var split = g.shape.dimensions
            split.insert(1, at: axis + 1)
            var merged = g.shape.dimensions
            merged[axis] = count * stride
            spread = try g.reshaped(Shape(split)).padded(axis: axis + 1, before: 0, after: stride - 1).reshaped(Shape(merged))
        }
        return try padded(spread, axis: axis, before: start, after: extent - start - count * stride)
    }

    private func padded(_ x: Tensor, axis: Int, before: Int, after: Int) throws -> Tensor {
        before == 0 && after == 0 ? x : try x.padded(axis: axis, before: before, after: after)
    }
}
