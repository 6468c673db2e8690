// The convolution family: conv2d forward (with and without bias), its input and weight gradients, the fused
// forward with each activation, and the transposed convolution through the Tensor API. Random geometries:
// non-square kernels, strides 1-3, asymmetric padding, dilation 1-2, one group, two groups and depthwise;
// weight gradients over batches that split into one, several and prime-many slices; and the geometries the
// narrow kernels (conv2d_narrow.cl) serve: stride 1, one group, at most 27 taps per output (1 or 3 input
// channels with 3×3 kernels, and 1×3, 1×5, 3×5), output rows one below, at and above their 8-wide segments
// and longer; and those the blocked forward kernel (conv2d_blocked.cl) and the channel-vector kernel
// (conv2d_channels.cl) serve. Tolerance `.accumulation(terms:)` over the longest sum: C/G·KH·KW products (+ bias) per output,
// O/G·KH·KW per input-gradient element, N·OH·OW per weight-gradient element.
import KilnCore

/// One convolution's shapes, and the cases of its three passes.
struct ConvolutionGeometry {
    var attributes: Convolution2D
    var input: Shape
    var weight: Shape
    var output: Shape

    /// The geometry, when the dilated kernel fits the padded input.
    init?(_ attributes: Convolution2D, input: Shape, weight: Shape) {
        guard let output = try? Op.conv2d(attributes).outputShape(for: [input, weight]) else { return nil }
        (self.attributes, self.input, self.weight, self.output) = (attributes, input, weight, output)
    }

    /// Few enough multiply-adds for an interpreter.
    private func tier(work: Int) -> OpCase.Tier { work <= 40_000 ? .quick : .standard }

    private var forwardWork: Int { output.count * weight[1] * weight[2] * weight[3] }

    /// conv2d, or the fused conv2d with `activation`, plus a bias when `bias`.
    func forward(bias: Bool, activation: UnaryFunction? = nil, quick: Bool = true) -> OpCase {
        let inputs = [SeededInput(input), SeededInput(weight)] + (bias ? [SeededInput([weight[0]])] : [])
        let op: Op = activation.map { .fusedConv2d(attributes, activation: $0) } ?? .conv2d(attributes)
        return OpCase(
            op, inputs, tolerance: .accumulation(terms: weight[1] * weight[2] * weight[3] + 1),
            tier: quick ? tier(work: forwardWork) : .standard)
    }

    func inputGradient(quick: Bool = true) -> OpCase {
        OpCase(
            .conv2dBackwardInput(attributes, inputShape: input), [SeededInput(output), SeededInput(weight)],
            tolerance: .accumulation(terms: weight[0] / attributes.groups * weight[2] * weight[3]),
            tier: quick ? tier(work: forwardWork) : .standard)
    }

    func weightGradient(quick: Bool = true) -> OpCase {
        OpCase(
            .conv2dBackwardWeight(attributes, weightShape: weight), [SeededInput(input), SeededInput(output)],
            tolerance: .accumulation(terms: output[0] * output[2] * output[3]), tier: quick ? tier(work: forwardWork) : .standard)
    }
}

extension OpCatalog {
    static var convolution: [OpCase] {
        general + typicalLayer + weightGradientSlices + narrow + blocked + channels + fusedGeneral + transposed
    }

    /// A random geometry: one group, two groups or depthwise (`oneGroup` forces one), strides 1-3, padding 0-2 on
    /// each side, dilation 1-2, kernels 1-3 high and 1, 3 or 4 wide, inputs 1-9 high and 3-11 wide.
    static func randomGeometry(_ random: inout RandomSource, oneGroup: Bool = false) -> ConvolutionGeometry {
        while true {
            let groupKind = oneGroup ? "one" : random.pick(["one", "two", "depthwise"])
            let channelsPerGroup = groupKind == "depthwise" ? 1 : random.pick([1, 2, 3])
            let groups = groupKind == "one" ? 1 : groupKind == "two" ? 2 : random.pick([2, 3, 4])
            let outputsPerGroup = random.pick([1, 2, 3])
            let attributes = Convolution2D(
                stride: [random.pick([1, 2, 3]), random.pick([1, 2, 3])], padding: (0..<4).map { _ in random.pick([0, 0, 1, 2]) },
                dilation: [random.pick([1, 2]), random.pick([1, 2])], groups: groups)
            let input: Shape = [random.pick([1, 2]), channelsPerGroup * groups, random.pick([1, 4, 7, 9]), random.pick([3, 5, 8, 11])]
            let weight: Shape = [outputsPerGroup * groups, channelsPerGroup, random.pick([1, 2, 3]), random.pick([1, 3, 4])]
            if let geometry = ConvolutionGeometry(attributes, input: input, weight: weight) { return geometry }
        }
    }

    /// Every pass over random geometries, with a bias on every other forward; a third of them one group (the
    /// GEMM and narrow paths), the rest two groups or depthwise (the direct kernels).
    private static var general: [OpCase] {
        var forward = RandomSource(seed: 0xC0F0)
        var inputGradient = RandomSource(seed: 0xC0B1)
        var weightGradient = RandomSource(seed: 0xC0B2)
        var oneGroup = RandomSource(seed: 0xD1EC)
        return (0..<24).map { randomGeometry(&forward).forward(bias: $0 % 2 == 0, quick: $0 < 6) }
            + (0..<24).map { randomGeometry(&inputGradient).inputGradient(quick: $0 < 6) }
            + (0..<24).map { randomGeometry(&weightGradient).weightGradient(quick: $0 < 6) }
            + (0..<12).flatMap { index -> [OpCase] in
                let geometry = randomGeometry(&oneGroup, oneGroup: true)
                return [
                    geometry.forward(bias: index % 2 == 0, quick: false), geometry.inputGradient(quick: false),
                    geometry.weightGradient(quick: false),
                ]
            }
    }

    /// An ordinary layer (stride 1, same padding, 8 → 16 channels), all three passes.
    private static var typicalLayer: [OpCase] {
        guard let geometry = ConvolutionGeometry(Convolution2D(padding: [1, 1, 1, 1]), input: [2, 8, 12, 12], weight: [16, 8, 3, 3]) else {
            return []
        }
        return [geometry.forward(bias: true), geometry.inputGradient(), geometry.weightGradient()]
    }

    /// The weight gradient's product split into slices of whole images: batches that give one slice, several
    /// slices, and a prime number of one-image slices.
    private static var weightGradientSlices: [OpCase] {
        var random = RandomSource(seed: 0xD1ED)
        return [1, 7, 9, 12, 16, 64].map { batch in
            var geometry = randomGeometry(&random, oneGroup: true)
            geometry.input = Shape([batch] + geometry.input.dimensions.dropFirst())
            geometry.output = Shape([batch] + geometry.output.dimensions.dropFirst())
            return geometry.weightGradient(quick: false)
        }
    }

    /// A geometry the narrow kernels serve (stride 1, one group, at most 27 taps, output rows of at least 8): `taps`
    /// fixes (C, KH, KW), else they come from few combinations (each is a program of its own); `width` fixes the
    /// output row's length. At most 500,000 multiply-adds a pass, which the debug-build reference computes in about
    /// half a second.
    static func narrowGeometry(_ random: inout RandomSource, batch: Int? = nil, taps: [Int]? = nil, width: Int? = nil)
        -> ConvolutionGeometry
    {
        while true {
            let channels = taps?[0] ?? random.pick([1, 1, 3])
            let weight: Shape = [random.pick([1, 4, 7, 32]), channels, taps?[1] ?? random.pick([1, 3]), taps?[2] ?? random.pick([3, 5])]
            let padding = (0..<4).map { _ in random.pick([0, 1, 2]) }
            let inputWidth = width.map { $0 + weight[3] - 1 - padding[1] - padding[3] } ?? random.pick([8, 10, 13, 28, 33])
            let input: Shape = [batch ?? random.pick([1, 2, 3]), channels, random.pick([1, 5, 9]), inputWidth]
            guard inputWidth > 0, let geometry = ConvolutionGeometry(Convolution2D(padding: padding), input: input, weight: weight),
                geometry.output[3] >= 8, channels * weight[2] * weight[3] <= 27,
                geometry.output.count * channels * weight[2] * weight[3] <= 500_000
            else { continue }
            return geometry
        }
    }

    private static var narrow: [OpCase] {
        var forward = RandomSource(seed: 0x4A11)
        var fused = RandomSource(seed: 0x4A12)
        var weightGradient = RandomSource(seed: 0x4A13)
        var segments = RandomSource(seed: 0x4A15)
        let activations = fusibleActivations
        var cases = (0..<24).map { narrowGeometry(&forward).forward(bias: $0 % 3 != 0, quick: $0 < 4) }
        cases += (activations + activations).enumerated().map { index, activation in
            narrowGeometry(&fused, taps: [1, 3, 3]).forward(
                bias: index < activations.count, activation: activation, quick: index < activations.count)
        }
        cases += [1, 2, 7, 12, 16, 64].flatMap { batch in
            (0..<3).map { index in narrowGeometry(&weightGradient, batch: batch).weightGradient(quick: batch < 7 && index == 0) }
        }
        // Output rows one below, at and above one and two 8-wide segments, with 1 and 3 input channels and 3×3 kernels.
        for width in [8, 9, 15, 16, 17] {
            for channels in [1, 3] {
                let geometry = narrowGeometry(&segments, batch: 2, taps: [channels, 3, 3], width: width)
                cases += [geometry.forward(bias: true), geometry.weightGradient()]
            }
        }
        // The first layer of the course's CNN at batch 8 (the debug-build reference takes 2 s per 8 images).
        if let first = ConvolutionGeometry(Convolution2D(padding: [1, 1, 1, 1]), input: [8, 1, 28, 28], weight: [32, 1, 3, 3]) {
            cases += [first.forward(bias: true, activation: .relu, quick: false), first.weightGradient(quick: false)]
        }
        return cases
    }

    /// The geometries conv2d_blocked.cl serves on CPU devices, forward and input gradient (stride 1, one group, more
    /// than one tap, beyond the narrow kernels; the last padded wider than its kernel, so its input gradient takes the
    /// GEMM path): output channels one below and above its block of 8, odd output heights (a last row pair of
    /// one row), output rows shorter than, one over and between its 16- and 8-wide segments, asymmetric padding,
    /// non-square kernels, without a bias and with fused activations.
    private static var blocked: [OpCase] {
        let geometries: [(Convolution2D, Shape, Shape)] = [
            (Convolution2D(padding: [1, 1, 1, 1]), [2, 5, 7, 21], [7, 5, 3, 3]),
            (Convolution2D(padding: [1, 1, 1, 1]), [1, 4, 6, 7], [9, 4, 3, 3]),
            (Convolution2D(padding: [0, 1, 2, 1]), [2, 4, 9, 17], [8, 4, 2, 4]),
            (Convolution2D(padding: [1, 1, 1, 1]), [1, 16, 5, 33], [16, 16, 3, 3]),
            (Convolution2D(padding: [2, 0, 1, 2]), [3, 6, 4, 5], [3, 6, 3, 5]),
            (Convolution2D(padding: [3, 1, 0, 1]), [2, 5, 6, 9], [11, 5, 2, 3]),
        ]
        return passes(of: geometries, biasFirst: true, weightGradients: false)
    }

    /// The geometries conv2d_channels.cl serves on CPU devices (one group, more than one tap position; forward when
    /// C·KH·KW reaches 256 taps, input gradient when O·KH·KW does at stride 1, weight gradient from 16 output
    /// channels, each pass when the narrow kernels do not serve it): output channels
    /// one over its 16-lane blocks, fewer than one block, and pairs of blocks whose second is partial or empty
    /// (50 and 33, where 16-lane devices take 32 channels per work item), rows split into one to five segments of 5 to 8 outputs
    /// (1, 5, 7, 8, 9, 13, 40 wide), strides, dilation and asymmetric padding, 1×3 and 5×5 kernels, without a bias
    /// and with fused activations, a batch of 12 (the weight gradient's six slices of two images); the first two small
    /// enough for an interpreter.
    private static var channels: [OpCase] {
        let geometries: [(Convolution2D, Shape, Shape)] = [
            (Convolution2D(padding: [1, 1, 1, 1]), [1, 29, 1, 5], [17, 29, 3, 3]),
            (Convolution2D(padding: [1, 1, 1, 1]), [1, 3, 2, 9], [32, 3, 3, 3]),
            (Convolution2D(padding: [1, 1, 1, 1]), [2, 29, 5, 13], [17, 29, 3, 3]),
            (Convolution2D(padding: [1, 1, 1, 1]), [1, 30, 4, 7], [33, 30, 3, 3]),
            (Convolution2D(padding: [1, 1, 1, 1]), [2, 30, 3, 7], [50, 30, 3, 3]),
            (Convolution2D(stride: [2, 2], padding: [1, 0, 2, 1], dilation: [1, 2]), [12, 32, 9, 11], [16, 32, 3, 3]),
            (Convolution2D(padding: [0, 1, 0, 1]), [1, 100, 3, 1], [5, 100, 1, 3]),
            (Convolution2D(padding: [2, 2, 2, 2]), [1, 12, 8, 8], [20, 12, 5, 5]),
            (Convolution2D(padding: [1, 1, 1, 1]), [1, 32, 2, 40], [16, 32, 3, 3]),
        ]
        return passes(of: geometries, biasFirst: false, weightGradients: true)
    }

    /// Each geometry's forward pass (with a bias on every other one, from the first when `biasFirst`), its fused
    /// forward (ReLU and leaky ReLU in turn), its input gradient at stride 1 and dilation 1, and with
    /// `weightGradients` its weight gradient.
    private static func passes(of geometries: [(Convolution2D, Shape, Shape)], biasFirst: Bool, weightGradients: Bool) -> [OpCase] {
        var cases: [OpCase] = []
        for (index, (attributes, input, weight)) in geometries.enumerated() {
            guard let geometry = ConvolutionGeometry(attributes, input: input, weight: weight) else { continue }
            cases.append(geometry.forward(bias: (index % 2 == 0) == biasFirst))
            cases.append(geometry.forward(bias: true, activation: index % 2 == 0 ? .relu : .leakyRelu(slope: 0.1)))
            if attributes.stride == [1, 1], attributes.dilation == [1, 1] { cases.append(geometry.inputGradient()) }
            if weightGradients { cases.append(geometry.weightGradient()) }
        }
        return cases
    }

    /// The fused forward on geometries the narrow kernels do not serve: the GEMM path (one group) and the direct
    /// kernels (groups), each activation.
    private static var fusedGeneral: [OpCase] {
        var random = RandomSource(seed: 0xF05E)
        return fusibleActivations.flatMap { activation in
            [randomGeometry(&random, oneGroup: true), randomGeometry(&random)].map { $0.forward(bias: true, activation: activation) }
        }
    }

    /// `convTranspose2d` through the Tensor API: the input gradient of a convolution run as a layer.
    private static var transposed: [OpCase] {
        let cases: [(x: Shape, w: Shape, stride: [Int], padding: [Int], outputPadding: [Int], dilation: [Int], groups: Int)] = [
            ([1, 3, 4, 5], [3, 2, 3, 3], [2, 2], [1, 1, 1, 1], [1, 0], [1, 1], 1),
            ([2, 4, 3, 3], [4, 1, 2, 3], [3, 1], [0, 1, 2, 0], [2, 0], [1, 2], 2),
            ([1, 2, 5, 4], [2, 3, 3, 2], [1, 2], [0, 0, 0, 0], [0, 1], [2, 1], 1),
        ]
        return cases.map { c in
            OpCase(
                graph: "conv_transpose2d",
                summary:
                    "convTranspose2d stride \(c.stride) padding \(c.padding) output padding \(c.outputPadding) dilation \(c.dilation) groups \(c.groups)",
                [SeededInput(c.x), SeededInput(c.w)], tolerance: .accumulation(terms: c.w[0] / c.groups * c.w[2] * c.w[3]), tier: .quick
            ) { tensors in
                [
                    try tensors[0].convTranspose2d(
                        weight: tensors[1], stride: c.stride, padding: c.padding, outputPadding: c.outputPadding, dilation: c.dilation,
                        groups: c.groups)
                ]
            }
        }
    }
}
