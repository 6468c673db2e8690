// The pooling family (NCHW): max and average over windows, and their gradients. Window (oh, ow) tap (kh, kw) reads
// input row oh * strideH - padTop + kh * dilationH and column ow * strideW - padLeft + kw * dilationW. Each decomposes
// into the windows' taps (`Windows`), a maximum or a sum over them, and for the gradients each tap's share sent back.
// Padding and the output size follow ONNX and PyTorch: any padding smaller than the window's extent, and with
// `ceilMode` the output size rounded up as long as the last window starts inside the input or its leading padding.

/// Attributes of 2-D pooling.
public struct Pooling2D: Hashable, Sendable {
    /// `[height, width]` of the window.
    public var kernel: [Int]
    /// `[vertical, horizontal]`.
    public var stride: [Int]
    /// `[top, left, bottom, right]` (ONNX order).
    public var padding: [Int]
    /// `[vertical, horizontal]`.
    public var dilation: [Int]
    /// Average pooling only: divide by the window's taps inside the padded input (`true`: the whole window, except
    /// where `ceilMode` lets it reach past the padding, as PyTorch) or by its taps inside the input (`false`).
    public var countIncludePadding: Bool
    /// Round the output size up rather than down (PyTorch's and ONNX's `ceil_mode`); a window that would start in the
    /// trailing padding is dropped. Taps past the padding count as padding.
    public var ceilMode: Bool

    public init(
        kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0, 0, 0], dilation: [Int] = [1, 1],
        countIncludePadding: Bool = true, ceilMode: Bool = false
    ) {
        self.kernel = kernel
        self.stride = stride ?? kernel
        self.padding = padding
        self.dilation = dilation
        self.countIncludePadding = countIncludePadding
        self.ceilMode = ceilMode
    }

    /// `(kernel − 1) · dilation + 1` along each axis: the rows and columns one window spans.
    var extent: [Int] { (0..<2).map { (kernel[$0] - 1) * dilation[$0] + 1 } }

    /// The output shape for `x`; every window must hold at least one input element.
    func outputShape(input x: Shape, _ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.require(x.rank == 4, "x must be rank 4 (NCHW)")
        try rule.require(kernel.count == 2 && kernel.allSatisfy { $0 > 0 }, "kernel \(kernel) must be two positive numbers")
        try rule.require(stride.count == 2 && stride.allSatisfy { $0 > 0 }, "stride \(stride) must be two positive numbers")
        try rule.require(dilation.count == 2 && dilation.allSatisfy { $0 > 0 }, "dilation \(dilation) must be two positive numbers")
        try rule.require(
            padding.count == 4 && padding.allSatisfy { $0 >= 0 },
            "padding \(padding) must be four non-negative numbers [top, left, bottom, right]")
        // Bounded so that the extent, and the padded input below it, cannot overflow.
        try rule.require(
            (kernel + dilation).allSatisfy { $0 < 1 << 30 }, "kernel \(kernel) and dilation \(dilation) must be below 2^30")
        try rule.require(
            padding[0] < extent[0] && padding[2] < extent[0] && padding[1] < extent[1] && padding[3] < extent[1],
            "padding \(padding) must be smaller than the window's extent \(extent) ((kernel − 1) · dilation + 1) on every side")
        try rule.require(x.count > 0, "zero-sized input")
        let convolution = Convolution2D(stride: stride, padding: padding, dilation: dilation)
        var (oh, ow) = try convolution.outputSize(input: (x[2], x[3]), kernel: (kernel[0], kernel[1]), rule)
        if ceilMode { (oh, ow) = (roundedUpOutputs(input: x[2], axis: 0), roundedUpOutputs(input: x[3], axis: 1)) }
        // With dilation a window can skip over the whole input; every window must read at least one element.
        for (axis, outputs) in [(0, oh), (1, ow)] {
            for position in 0..<outputs {
                let start = position * stride[axis] - padding[axis]
                let taps = (0..<kernel[axis]).map { start + $0 * dilation[axis] }
                try rule.require(
                    taps.contains { $0 >= 0 && $0 < x[2 + axis] },
                    "window \(position) along \(axis == 0 ? "height" : "width") lies entirely in the padding (padding \(padding), dilation \(dilation))"
                )
            }
        }
        return [x[0], x[1], oh, ow]
    }

    /// The output size along `axis` (0 height, 1 width) rounded up, less a last window that would start in the trailing
    /// padding. The floor rule's check that one window fits the padded input has passed.
    private func roundedUpOutputs(input: Int, axis: Int) -> Int {
        let room = input + padding[axis] + padding[axis + 2] - extent[axis]
        let outputs = room / stride[axis] + (room % stride[axis] == 0 ? 1 : 2)
        return (outputs - 1) * stride[axis] >= input + padding[axis] ? outputs - 1 : outputs
    }

    /// The windows from an input of `inputShape` to an output of `outputShape`.
    func windows(input inputShape: Shape, output outputShape: Shape) -> Windows {
        Windows(
            kernel: (kernel[0], kernel[1]), stride: (stride[0], stride[1]), dilation: (dilation[0], dilation[1]), padding: padding,
            input: (inputShape[2], inputShape[3]), output: (outputShape[2], outputShape[3]))
    }

    /// Every tap of `x` (zero-padded) as `[N, C, OH, OW]`, in row-major window order.
    func taps(_ x: Tensor, _ windows: Windows) throws -> [Tensor] {
        let padded = try windows.pad(x)
        return try windows.taps.map { try windows.tap(padded, kh: $0.kh, kw: $0.kw) }
    }

    /// Each tap's position lies inside the input: 1, or 0 in the padding, `[1, 1, OH, OW]` per tap.
    func insideMasks(_ windows: Windows, on device: Device) throws -> [Tensor] {
        try taps(Tensor.ones([1, 1, windows.input.height, windows.input.width], on: device), windows)
    }

    /// What each window's sum is divided by: the taps inside the padded input (the whole window without `ceilMode`),
    /// or the taps inside the input.
    func divisor(_ windows: Windows, on device: Device) throws -> Tensor {
        if countIncludePadding && !ceilMode { return try Tensor.full(Double(kernel[0] * kernel[1]), shape: [], on: device) }
        // Counting the padding is counting the taps inside the padded input, read as an input without padding.
        let counted =
            countIncludePadding
            ? Windows(
                kernel: windows.kernel, stride: windows.stride, dilation: windows.dilation, padding: [0, 0, 0, 0],
                input: (windows.input.height + padding[0] + padding[2], windows.input.width + padding[1] + padding[3]),
                output: windows.output) : windows
        let masks = try insideMasks(counted, on: device)
        return try masks.dropFirst().reduce(masks[0]) { try $0 + $1 }
    }

    /// The maximum over each window's taps, padding counting as −∞ (it adds `log 0`): `[N, C, OH, OW]`, with the taps
    /// and their inside masks.
    func maximum(_ x: Tensor, _ windows: Windows) throws -> (maximum: Tensor, taps: [Tensor], masks: [Tensor]) {
        let masks = try insideMasks(windows, on: x.device)
        let taps = try zip(taps(x, windows), masks).map { tap, mask in try tap + mask.log() }
        let (batch, channels) = (x.shape[0], x.shape[1])
        let positions = windows.output.height * windows.output.width
        let stacked = try Tensor.concatenate(taps.map { try $0.reshaped([batch, channels, 1, positions]) }, axis: 2)
        let maximum = try stacked.max(axes: [2]).reshaped([batch, channels, windows.output.height, windows.output.width])
        return (maximum, taps, masks)
    }
}

/// Input `x [N, C, H, W]`: the maximum over each window's taps inside the input; padding never wins. Every window holds
/// at least one input element (the shape rule rejects attributes that would make a window of padding only).
struct MaxPool2D: Decomposable {
    let attributes: Pooling2D

    var name: String { "max_pool2d" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(1)
        return try attributes.outputShape(input: rule.shapes[0], rule)
    }

    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        [try Tensor.apply(.maxPool2dBackward(attributes), [inputs[0], g])]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let x = inputs[0]
        let geometry = PoolingGeometry(input: shapes[0], output: output, attributes)
        var y = [Scalar](repeating: 0, count: output.count)
        for plane in 0..<geometry.planes {
            for oh in 0..<geometry.outputHeight {
                for ow in 0..<geometry.outputWidth {
                    if let winner = geometry.firstMaximum(x, plane: plane, oh: oh, ow: ow) {
                        y[geometry.outputIndex(plane: plane, oh: oh, ow: ow)] = x[winner]
                    }
                }
            }
        }
        return y
    }

    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let output = try Op.maxPool2d(attributes).outputShape(for: [inputs[0].shape])
        return try attributes.maximum(inputs[0], attributes.windows(input: inputs[0].shape, output: output)).maximum
    }
}

/// Inputs `(x, dy)`: each window's `dy` goes to the first maximum of the window in row-major tap order (on ties the
/// first wins), accumulating where windows overlap.
struct MaxPool2DBackward: Decomposable {
    let attributes: Pooling2D

    var name: String { "max_pool2d_backward" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(2)
        let expected = try attributes.outputShape(input: rule.shapes[0], rule)
        try rule.require(rule.shapes[1] == expected, "dy must be \(expected)")
        return rule.shapes[0]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (x, dy) = (inputs[0], inputs[1])
        let geometry = PoolingGeometry(input: shapes[0], output: shapes[1], attributes)
        var dx = [Scalar](repeating: 0, count: shapes[0].count)
        for plane in 0..<geometry.planes {
            for oh in 0..<geometry.outputHeight {
                for ow in 0..<geometry.outputWidth {
                    if let winner = geometry.firstMaximum(x, plane: plane, oh: oh, ow: ow) {
                        dx[winner] += dy[geometry.outputIndex(plane: plane, oh: oh, ow: ow)]
                    }
                }
            }
        }
        return dx
    }

    /// Tap `k` wins where it equals the window's maximum inside the input and no earlier tap has won; each tap's
    /// share of `dy` is sent back where the tap read.
    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let (x, dy) = (inputs[0], inputs[1])
        let windows = attributes.windows(input: x.shape, output: dy.shape)
        let (maximum, taps, masks) = try attributes.maximum(x, windows)
        var unclaimed: Tensor?
        var placed: [Tensor] = []
        for (index, tap) in windows.taps.enumerated() {
            let isMaximum = try taps[index].equal(maximum) * masks[index]
            let wins = try unclaimed.map { try isMaximum * $0 } ?? isMaximum
            unclaimed = try unclaimed.map { try $0 - wins } ?? (1 - wins)
            placed.append(try windows.tapAdjoint(wins * dy, kh: tap.kh, kw: tap.kw))
        }
        return try windows.unpad(placed.dropFirst().reduce(placed[0]) { try $0 + $1 })
    }
}

/// Input `x [N, C, H, W]`: the sum over each window's taps inside the input, divided by `kernelH · kernelW` when
/// `countIncludePadding`, else by the number of taps inside the input.
struct AvgPool2D: Decomposable {
    let attributes: Pooling2D

    var name: String { "avg_pool2d" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(1)
        return try attributes.outputShape(input: rule.shapes[0], rule)
    }

    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        [try Tensor.apply(.avgPool2dBackward(attributes, inputShape: inputs[0].shape), [g])]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let x = inputs[0]
        let geometry = PoolingGeometry(input: shapes[0], output: output, attributes)
        var y = [Scalar](repeating: 0, count: output.count)
        for plane in 0..<geometry.planes {
            for oh in 0..<geometry.outputHeight {
                for ow in 0..<geometry.outputWidth {
                    let taps = geometry.inputIndices(plane: plane, oh: oh, ow: ow)
                    let divisor = geometry.divisor(oh: oh, ow: ow, insideTaps: taps.count)
                    guard divisor > 0 else { continue }
                    y[geometry.outputIndex(plane: plane, oh: oh, ow: ow)] = taps.map { x[$0] }.reduce(0, +) / Scalar(divisor)
                }
            }
        }
        return y
    }

    /// The taps (zero in the padding) summed in window order, divided by the divisor.
    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let x = inputs[0]
        let output = try Op.avgPool2d(attributes).outputShape(for: [x.shape])
        let windows = attributes.windows(input: x.shape, output: output)
        let positions = output[2] * output[3]
        let stacked = try Tensor.concatenate(
            attributes.taps(x, windows).map { try $0.reshaped([output[0], output[1], 1, positions]) }, axis: 2)
        return try stacked.sum(axes: [2]).reshaped(output) / attributes.divisor(windows, on: x.device)
    }
}

/// Input `dy`: the gradient of average pooling, of shape `inputShape`: each window's `dy / divisor` added to every
/// input element the window read.
struct AvgPool2DBackward: Decomposable {
    let attributes: Pooling2D
    let inputShape: Shape

    var name: String { "avg_pool2d_backward" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(1)
        let expected = try attributes.outputShape(input: inputShape, rule)
        try rule.require(rule.shapes[0] == expected, "dy must be \(expected) for input \(inputShape)")
        return inputShape
    }

    /// Average pooling's backward is the transpose of a linear map, so its own gradient is the forward.
    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        [try Tensor.apply(.avgPool2d(attributes), [g])]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let dy = inputs[0]
        let geometry = PoolingGeometry(input: inputShape, output: shapes[0], attributes)
        var dx = [Scalar](repeating: 0, count: inputShape.count)
        for plane in 0..<geometry.planes {
            for oh in 0..<geometry.outputHeight {
                for ow in 0..<geometry.outputWidth {
                    let taps = geometry.inputIndices(plane: plane, oh: oh, ow: ow)
                    let divisor = geometry.divisor(oh: oh, ow: ow, insideTaps: taps.count)
                    guard divisor > 0 else { continue }
                    let share = dy[geometry.outputIndex(plane: plane, oh: oh, ow: ow)] / Scalar(divisor)
                    for tap in taps { dx[tap] += share }
                }
            }
        }
        return dx
    }

    /// Each window's share, `dy / divisor`, sent back through every tap.
    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let dy = inputs[0]
        let windows = attributes.windows(input: inputShape, output: dy.shape)
        let share = try dy / attributes.divisor(windows, on: dy.device)
        let placed = try windows.taps.map { try windows.tapAdjoint(share, kh: $0.kh, kw: $0.kw) }
        return try windows.unpad(placed.dropFirst().reduce(placed[0]) { try $0 + $1 })
    }
}

/// The sizes of one pooling and the window arithmetic its reference loops share. Batch and channel are folded
/// into one `plane` index, since pooling treats every `[n, c]` plane alike.
struct PoolingGeometry {
    let planes: Int, inputHeight: Int, inputWidth: Int
    let outputHeight: Int, outputWidth: Int
    let attributes: Pooling2D

    init(input: Shape, output: Shape, _ attributes: Pooling2D) {
        (planes, inputHeight, inputWidth) = (input[0] * input[1], input[2], input[3])
        (outputHeight, outputWidth) = (output[2], output[3])
        self.attributes = attributes
    }

    /// The flat input indices window `[plane, oh, ow]` reads, in row-major tap order, skipping taps in the padding.
    func inputIndices(plane: Int, oh: Int, ow: Int) -> [Int] {
        var indices: [Int] = []
        for kh in 0..<attributes.kernel[0] {
            for kw in 0..<attributes.kernel[1] {
                // padding is [top, left, bottom, right]; the window starts padTop rows above row oh * stride.
                let ih = oh * attributes.stride[0] - attributes.padding[0] + kh * attributes.dilation[0]
                let iw = ow * attributes.stride[1] - attributes.padding[1] + kw * attributes.dilation[1]
                guard ih >= 0, ih < inputHeight, iw >= 0, iw < inputWidth else { continue }
                indices.append((plane * inputHeight + ih) * inputWidth + iw)
            }
        }
        return indices
    }

    /// The index of the first largest input element of the window, or nil when it reads none.
    func firstMaximum<Scalar: ReferenceScalar>(_ x: [Scalar], plane: Int, oh: Int, ow: Int) -> Int? {
        var winner: Int?
        for index in inputIndices(plane: plane, oh: oh, ow: ow) {
            // Strictly greater, so a later equal value does not displace the first.
            if let current = winner, !(x[index] > x[current]) { continue }
            winner = index
        }
        return winner
    }

    /// What window `(oh, ow)`'s sum is divided by, given how many of its taps lie inside the input: with
    /// `countIncludePadding`, its taps inside the padded input.
    func divisor(oh: Int, ow: Int, insideTaps: Int) -> Int {
        guard attributes.countIncludePadding else { return insideTaps }
        let (kernel, stride, dilation, padding) = (attributes.kernel, attributes.stride, attributes.dilation, attributes.padding)
        func counted(_ output: Int, axis: Int, input: Int) -> Int {
            (0..<kernel[axis]).count { output * stride[axis] + $0 * dilation[axis] < input + padding[axis] + padding[axis + 2] }
        }
        return counted(oh, axis: 0, input: inputHeight) * counted(ow, axis: 1, input: inputWidth)
    }

    /// The flat index of `y[plane, oh, ow]`.
    func outputIndex(plane: Int, oh: Int, ow: Int) -> Int {
        (plane * outputHeight + oh) * outputWidth + ow
    }
}
