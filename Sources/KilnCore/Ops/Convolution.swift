// The convolution family: 2-D cross-correlation (NCHW input, OIHW weight), its gradients with respect to the input
// and the weight, and the convolution + activation that plans create. All three passes share one correspondence:
// output position (oh, ow) and kernel tap (kh, kw) read input row oh * strideH - padTop + kh * dilationH and column
// ow * strideW - padLeft + kw * dilationW. Each decomposes into a product with the input's columns (one row per
// channel and tap, gathered by `Windows`).

/// Attributes of a 2-D convolution.
public struct Convolution2D: Hashable, Sendable {
    /// `[vertical, horizontal]`.
    public var stride: [Int]
    /// `[top, left, bottom, right]` (ONNX order).
    public var padding: [Int]
    /// `[vertical, horizontal]`.
    public var dilation: [Int]
    public var groups: Int

    public init(stride: [Int] = [1, 1], padding: [Int] = [0, 0, 0, 0], dilation: [Int] = [1, 1], groups: Int = 1) {
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
    }

    func validate(_ rule: ShapeRule) throws(ShapeError) {
        try rule.require(stride.count == 2 && stride.allSatisfy { $0 > 0 }, "stride \(stride) must be two positive numbers")
        try rule.require(dilation.count == 2 && dilation.allSatisfy { $0 > 0 }, "dilation \(dilation) must be two positive numbers")
        try rule.require(
            padding.count == 4 && padding.allSatisfy { $0 >= 0 },
            "padding \(padding) must be four non-negative numbers [top, left, bottom, right]")
        try rule.require(groups > 0, "groups \(groups) must be positive")
    }

    /// Output height and width; throws when the dilated kernel does not fit in the padded input.
    func outputSize(input: (Int, Int), kernel: (Int, Int), _ rule: ShapeRule) throws(ShapeError) -> (Int, Int) {
        try rule.require(kernel.0 > 0 && kernel.1 > 0, "kernel size \(kernel.0)x\(kernel.1) must be positive")
        try rule.require(input.0 > 0 && input.1 > 0, "zero-sized input")
        let paddedH = input.0 + padding[0] + padding[2]
        let paddedW = input.1 + padding[1] + padding[3]
        let spanH = dilation[0] * (kernel.0 - 1) + 1
        let spanW = dilation[1] * (kernel.1 - 1) + 1
        try rule.require(
            spanH <= paddedH && spanW <= paddedW,
            "window \(spanH)x\(spanW) (kernel \(kernel.0)x\(kernel.1), dilation \(dilation)) is larger than the padded input \(paddedH)x\(paddedW)"
        )
        return ((paddedH - spanH) / stride[0] + 1, (paddedW - spanW) / stride[1] + 1)
    }

    /// The shape rule of `conv2d` on `x`, `w` and an optional bias.
    func outputShape(_ rule: ShapeRule, _ inputs: [Shape]) throws(ShapeError) -> Shape {
        try rule.require(inputs.count == 2 || inputs.count == 3, "takes x, w and an optional bias")
        let (x, w) = (inputs[0], inputs[1])
        try rule.require(x.rank == 4 && w.rank == 4, "x and w must be rank 4 (NCHW and OIHW)")
        try validate(rule)
        try rule.require(w[0] % groups == 0, "\(w[0]) output channels do not divide into \(groups) groups")
        try rule.require(x[1] == w[1] * groups, "x has \(x[1]) channels but w expects \(w[1]) x \(groups) groups")
        if inputs.count == 3 { try rule.require(inputs[2] == [w[0]], "bias must be [\(w[0])]") }
        let (oh, ow) = try outputSize(input: (x[2], x[3]), kernel: (w[2], w[3]), rule)
        return [x[0], w[0], oh, ow]
    }

    /// The windows over an input of `inputShape` for a weight of `weightShape`.
    func windows(input inputShape: Shape, weight weightShape: Shape, output outputShape: Shape) -> Windows {
        Windows(
            kernel: (weightShape[2], weightShape[3]), stride: (stride[0], stride[1]), dilation: (dilation[0], dilation[1]),
            padding: padding, input: (inputShape[2], inputShape[3]), output: (outputShape[2], outputShape[3]))
    }

    /// The input's columns, `[N·groups, C/groups · KH·KW, OH·OW]`: row `c · KH·KW + k` of group `g` of image `n` holds
    /// tap `k` of input channel `g · C/groups + c` at every output position.
    func columns(_ x: Tensor, _ windows: Windows) throws -> Tensor {
        let (batch, channels) = (x.shape[0], x.shape[1])
        let positions = windows.output.height * windows.output.width
        let padded = try windows.pad(x)
        let taps = try windows.taps.map { try windows.tap(padded, kh: $0.kh, kw: $0.kw).reshaped([batch, channels, 1, positions]) }
        return try Tensor.concatenate(taps, axis: 2).reshaped([batch * groups, channels / groups * taps.count, positions])
    }

    /// The weight `[O, C/groups, KH, KW]` as one `[O/groups, C/groups · KH·KW]` matrix per image and group, `[N·groups, O/groups, Q]`.
    func weightMatrices(_ w: Tensor, batch: Int) throws -> Tensor {
        let rows = w.shape.count / w.shape[0]
        return try w.reshaped([1, groups, w.shape[0] / groups, rows]).broadcast(to: [batch, groups, w.shape[0] / groups, rows])
            .reshaped([batch * groups, w.shape[0] / groups, rows])
    }
}

/// Inputs `(x [N, C, H, W], w [O, C/groups, KH, KW])` and optionally `b [O]`: cross-correlation,
/// `y[n, o, oh, ow] = b[o] + Σ over c, kh, kw of x[n, g · C/groups + c, ih, iw] · w[o, c, kh, kw]` with `g` the group of `o`;
/// positions in the padding read zero.
struct Conv2D: Decomposable {
    let attributes: Convolution2D

    var name: String { "conv2d" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape { try attributes.outputShape(rule, rule.shapes) }

    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        let (x, w) = (inputs[0], inputs[1])
        var gradients: [Tensor?] = [
            try Tensor.apply(.conv2dBackwardInput(attributes, inputShape: x.shape), [g, w]),
            try Tensor.apply(.conv2dBackwardWeight(attributes, weightShape: w.shape), [x, g]),
        ]
        if inputs.count == 3 { gradients.append(try g.sum(axes: [0, 2, 3])) }
        return gradients
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (x, weight, bias) = (inputs[0], inputs[1], inputs.count > 2 ? inputs[2] : nil)
        let geometry = ConvolutionGeometry(input: shapes[0], weight: shapes[1], output: output, attributes)
        var y = [Scalar](repeating: 0, count: output.count)
        for n in 0..<geometry.batch {
            for o in 0..<geometry.outputChannels {
                for oh in 0..<geometry.outputHeight {
                    for ow in 0..<geometry.outputWidth {
                        var sum: Scalar = bias?[o] ?? 0
                        for c in 0..<geometry.channelsPerGroup {
                            for kh in 0..<geometry.kernelHeight {
                                guard let ih = geometry.inputRow(oh: oh, kh: kh) else { continue }
                                for kw in 0..<geometry.kernelWidth {
                                    guard let iw = geometry.inputColumn(ow: ow, kw: kw) else { continue }
                                    sum +=
                                        x[geometry.inputIndex(n: n, o: o, c: c, ih: ih, iw: iw)]
                                        * weight[geometry.weightIndex(o: o, c: c, kh: kh, kw: kw)]
                                }
                            }
                        }
                        y[geometry.outputIndex(n: n, o: o, oh: oh, ow: ow)] = sum
                    }
                }
            }
        }
        return y
    }

    /// Per image and group, the weight matrix times the input's columns, then the bias.
    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let (x, w) = (inputs[0], inputs[1])
        let output = try Op.conv2d(attributes).outputShape(for: inputs.map(\.shape))
        let windows = attributes.windows(input: x.shape, weight: w.shape, output: output)
        let product = try attributes.weightMatrices(w, batch: x.shape[0]).matmul(attributes.columns(x, windows)).reshaped(output)
        return try inputs.count == 3 ? product.addingBias(inputs[2]) : product
    }
}

/// Inputs as `conv2d`: `activation(conv2d(x, w, b))` in one launch where the backend can, the fused form plans create.
struct FusedConv2D: Decomposable {
    let attributes: Convolution2D
    let activation: UnaryFunction

    var name: String { "conv2d_\(activation)" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.require(activation.isFusibleActivation, "\(activation) cannot be fused")
        return try attributes.outputShape(rule, rule.shapes)
    }

    /// The fused op is defined by its decomposition.
    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let convolution = try Conv2D(attributes: attributes).evaluate(inputs, shapes, output: output)
        return try Unary(function: activation).evaluate([convolution], [output], output: output)
    }

    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        try Tensor.apply(.unary(activation), [Tensor.apply(.conv2d(attributes), inputs)])
    }
}

/// Inputs `(dy [N, O, OH, OW], w [O, C/groups, KH, KW])`: the gradient with respect to the input, of shape `inputShape`
/// (also the transposed convolution). Every product `x · w` of the forward pass sends `dy · w` back to the input
/// element it read; input elements no window reads get zero.
struct Conv2DBackwardInput: Decomposable {
    let attributes: Convolution2D
    let inputShape: Shape

    var name: String { "conv2d_backward_input" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(2)
        let (dy, w) = (rule.shapes[0], rule.shapes[1])
        try rule.require(dy.rank == 4 && w.rank == 4 && inputShape.rank == 4, "dy, w and the input shape must be rank 4")
        try rule.require(inputShape.dimensions.allSatisfy { $0 > 0 }, "zero-sized or negative dimension in the input shape \(inputShape)")
        let expected = try rule.renamed { () throws(ShapeError) in try attributes.outputShape(rule, [inputShape, w]) }
        try rule.require(dy == expected, "dy must be \(expected) for input \(inputShape)")
        return inputShape
    }

    /// Linear in dy (its adjoint is the convolution) and in w (a weight gradient with the roles of x and dy).
    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        let (dy, w) = (inputs[0], inputs[1])
        return [
            try Tensor.apply(.conv2d(attributes), [g, w]),
            try Tensor.apply(.conv2dBackwardWeight(attributes, weightShape: w.shape), [g, dy]),
        ]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (dy, weight) = (inputs[0], inputs[1])
        let geometry = ConvolutionGeometry(input: inputShape, weight: shapes[1], output: shapes[0], attributes)
        var dx = [Scalar](repeating: 0, count: inputShape.count)
        for n in 0..<geometry.batch {
            for o in 0..<geometry.outputChannels {
                for oh in 0..<geometry.outputHeight {
                    for ow in 0..<geometry.outputWidth {
                        let gradient = dy[geometry.outputIndex(n: n, o: o, oh: oh, ow: ow)]
                        for c in 0..<geometry.channelsPerGroup {
                            for kh in 0..<geometry.kernelHeight {
                                guard let ih = geometry.inputRow(oh: oh, kh: kh) else { continue }
                                for kw in 0..<geometry.kernelWidth {
                                    guard let iw = geometry.inputColumn(ow: ow, kw: kw) else { continue }
                                    dx[geometry.inputIndex(n: n, o: o, c: c, ih: ih, iw: iw)] +=
                                        gradient * weight[geometry.weightIndex(o: o, c: c, kh: kh, kw: kw)]
                                }
                            }
                        }
                    }
                }
            }
        }
        return dx
    }

    /// The columns' gradient (each weight matrix transposed times dy), each tap's rows sent back where the tap read.
    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let (dy, w) = (inputs[0], inputs[1])
        let (batch, channels) = (inputShape[0], inputShape[1])
        let windows = attributes.windows(input: inputShape, weight: w.shape, output: dy.shape)
        let positions = dy.shape[2] * dy.shape[3]
        let groups = attributes.groups
        let columnGradient = try attributes.weightMatrices(w, batch: batch)
            .matmul(dy.reshaped([batch * groups, dy.shape[1] / groups, positions]), transposeSelf: true)
            .reshaped([batch, channels, windows.taps.count, positions])
        let placed = try windows.taps.enumerated().map { index, tap in
            let rows = try columnGradient.slice(axis: 2, start: index, length: 1).reshaped([batch, channels, dy.shape[2], dy.shape[3]])
            return try windows.tapAdjoint(rows, kh: tap.kh, kw: tap.kw)
        }
        // The shape rule admits only kernels of at least one tap.
        return try windows.unpad(placed.dropFirst().reduce(placed[0]) { try $0 + $1 })
    }
}

/// Inputs `(x [N, C, H, W], dy [N, O, OH, OW])`: the gradient with respect to the weight, of shape `weightShape`.
/// `dw[o, c, kh, kw]` sums `dy · x` over every batch element and output position at which that tap read an input
/// element (padding contributes nothing).
struct Conv2DBackwardWeight: Decomposable {
    let attributes: Convolution2D
    let weightShape: Shape

    var name: String { "conv2d_backward_weight" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(2)
        let (x, dy) = (rule.shapes[0], rule.shapes[1])
        try rule.require(
            weightShape.dimensions.allSatisfy { $0 > 0 }, "zero-sized or negative dimension in the weight shape \(weightShape)")
        let expected = try rule.renamed { () throws(ShapeError) in try attributes.outputShape(rule, [x, weightShape]) }
        try rule.require(dy == expected, "dy must be \(expected) for weight \(weightShape)")
        return weightShape
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (x, dy) = (inputs[0], inputs[1])
        let geometry = ConvolutionGeometry(input: shapes[0], weight: weightShape, output: shapes[1], attributes)
        var dw = [Scalar](repeating: 0, count: weightShape.count)
        for o in 0..<geometry.outputChannels {
            for c in 0..<geometry.channelsPerGroup {
                for kh in 0..<geometry.kernelHeight {
                    for kw in 0..<geometry.kernelWidth {
                        var sum: Scalar = 0
                        for n in 0..<geometry.batch {
                            for oh in 0..<geometry.outputHeight {
                                guard let ih = geometry.inputRow(oh: oh, kh: kh) else { continue }
                                for ow in 0..<geometry.outputWidth {
                                    guard let iw = geometry.inputColumn(ow: ow, kw: kw) else { continue }
                                    sum +=
                                        dy[geometry.outputIndex(n: n, o: o, oh: oh, ow: ow)]
                                        * x[geometry.inputIndex(n: n, o: o, c: c, ih: ih, iw: iw)]
                                }
                            }
                        }
                        dw[geometry.weightIndex(o: o, c: c, kh: kh, kw: kw)] = sum
                    }
                }
            }
        }
        return dw
    }

    /// Per image and group, dy times the transposed columns, summed over the images.
    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let (x, dy) = (inputs[0], inputs[1])
        let batch = x.shape[0]
        let groups = attributes.groups
        let windows = attributes.windows(input: x.shape, weight: weightShape, output: dy.shape)
        let perImage = try dy.reshaped([batch * groups, dy.shape[1] / groups, dy.shape[2] * dy.shape[3]])
            .matmul(attributes.columns(x, windows), transposeOther: true)
        return try perImage.reshaped([batch, weightShape.count]).sum(axes: [0]).reshaped(weightShape)
    }
}

/// The sizes of one convolution and the index arithmetic its three reference loops share.
struct ConvolutionGeometry {
    let batch: Int, channels: Int, inputHeight: Int, inputWidth: Int
    let outputChannels: Int, outputHeight: Int, outputWidth: Int
    let channelsPerGroup: Int, outputChannelsPerGroup: Int
    let kernelHeight: Int, kernelWidth: Int
    let strideHeight: Int, strideWidth: Int, padTop: Int, padLeft: Int, dilationHeight: Int, dilationWidth: Int

    init(input: Shape, weight: Shape, output: Shape, _ attributes: Convolution2D) {
        (batch, channels, inputHeight, inputWidth) = (input[0], input[1], input[2], input[3])
        (outputChannels, outputHeight, outputWidth) = (output[1], output[2], output[3])
        (channelsPerGroup, kernelHeight, kernelWidth) = (weight[1], weight[2], weight[3])
        outputChannelsPerGroup = outputChannels / attributes.groups
        (strideHeight, strideWidth) = (attributes.stride[0], attributes.stride[1])
        (padTop, padLeft) = (attributes.padding[0], attributes.padding[1])
        (dilationHeight, dilationWidth) = (attributes.dilation[0], attributes.dilation[1])
    }

    /// The input row that output row `oh` reads at kernel row `kh`, or nil when it falls in the padding: the window
    /// starts `padTop` rows above row `oh · strideH`.
    func inputRow(oh: Int, kh: Int) -> Int? {
        let ih = oh * strideHeight - padTop + kh * dilationHeight
        return ih >= 0 && ih < inputHeight ? ih : nil
    }

    /// The input column that output column `ow` reads at kernel column `kw`, or nil when it falls in the padding.
    func inputColumn(ow: Int, kw: Int) -> Int? {
        let iw = ow * strideWidth - padLeft + kw * dilationWidth
        return iw >= 0 && iw < inputWidth ? iw : nil
    }

    /// The flat index of the input element at row `ih`, column `iw` of channel `c` of the group that output channel `o`
    /// belongs to. Output channel o belongs to group o / (O / groups), which reads input channels
    /// group * (C / groups) ..< (group + 1) * (C / groups).
    func inputIndex(n: Int, o: Int, c: Int, ih: Int, iw: Int) -> Int {
        let inputChannel = (o / outputChannelsPerGroup) * channelsPerGroup + c
        return ((n * channels + inputChannel) * inputHeight + ih) * inputWidth + iw
    }

    /// The flat index of `w[o, c, kh, kw]` (OIHW, with I = C / groups).
    func weightIndex(o: Int, c: Int, kh: Int, kw: Int) -> Int {
        ((o * channelsPerGroup + c) * kernelHeight + kh) * kernelWidth + kw
    }

    /// The flat index of `y[n, o, oh, ow]` (NCHW).
    func outputIndex(n: Int, o: Int, oh: Int, ow: Int) -> Int {
        ((n * outputChannels + o) * outputHeight + oh) * outputWidth + ow
    }
}
