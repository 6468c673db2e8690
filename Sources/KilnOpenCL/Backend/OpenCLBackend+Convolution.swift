// Convolution family: conv2d forward and its gradients with respect to the input and the weight,
// with Kernels/conv2d.cl, conv2d_narrow.cl, conv2d_blocked.cl and conv2d_channels.cl.
import KilnCore

extension KernelDescription {
    /// conv2d.cl: direct kernels, one work item per output element, and the im2col / col2im / layout
    /// kernels of the GEMM path (groups == 1); no tunables yet.
    static let conv2d = KernelDescription(
        file: "conv2d.cl",
        entries: [
            "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight", "conv2d_im2col", "conv2d_col2im",
            "conv2d_batch_to_rows", "conv2d_rows_to_batch", "conv2d_weight_slices_sum",
        ],
        tunables: [],
        isValid: { _ in true })

    /// conv2d_narrow.cl: stride-1 convolutions with few taps per output, 8 outputs per work item. Its defines
    /// are what a program is built for (the geometry and the forward pass's activation), not tunables; the
    /// defaults (one input channel, 3×3, no activation) are the variant `warmUp` builds ahead, which serves the
    /// weight gradient of the MNIST-style CNNs' first layer.
    static let conv2dNarrow = KernelDescription(
        file: "conv2d_narrow.cl",
        entries: ["conv2d_narrow_pad", "conv2d_narrow_forward", "conv2d_narrow_backward_weight"],
        tunables: [
            KernelTunable(name: "NARROW_C", defaultValue: 1, candidates: [1]),
            KernelTunable(name: "NARROW_KH", defaultValue: 3, candidates: [3]),
            KernelTunable(name: "NARROW_KW", defaultValue: 3, candidates: [3]),
            KernelTunable(name: "NARROW_ACTIVATION", defaultValue: KernelCodes.noActivation, candidates: [KernelCodes.noActivation]),
        ],
        isValid: { _ in true })

    /// conv2d_blocked.cl: the forward pass of stride-1 convolutions, a block of output channels by two row segments
    /// per work item (and through it, with the weight flipped, their input gradients).
    static let conv2dBlocked = KernelDescription(
        file: "conv2d_blocked.cl", entries: ["conv2d_blocked_forward", "conv2d_blocked_flip_weight"],
        tunables: [
            KernelTunable(name: "BLOCKED_CHANNELS", defaultValue: 8, candidates: [4, 8]),
            KernelTunable(name: "BLOCKED_WIDTH", defaultValue: 16, candidates: [8, 16]),
        ],
        isValid: { values in
            [4, 8].contains(values["BLOCKED_CHANNELS"] ?? 0) && [8, 16].contains(values["BLOCKED_WIDTH"] ?? 0)
        })

    /// conv2d_channels.cl: the forward pass of convolutions with many taps per output, 16 output channels by a row
    /// segment per work item (and through it, with the weight flipped, stride-1 input gradients), and weight gradients,
    /// 16 output channels by a group of taps per work item over a slice of images. CHANNELS_PIXELS, the segment's
    /// length, and CHANNELS_TAP_GROUP are what a program is built for (the host picks them from the output row and the
    /// device's `ChannelsGeometry`), not tunables.
    static let conv2dChannels = KernelDescription(
        file: "conv2d_channels.cl",
        entries: [
            "conv2d_channels_forward", "conv2d_channels_weight", "conv2d_channels_gradient_rows", "conv2d_channels_backward_weight",
        ],
        tunables: [
            KernelTunable(name: "CHANNELS_PIXELS", defaultValue: 7, candidates: [7]),
            KernelTunable(name: "CHANNELS_TAP_GROUP", defaultValue: 9, candidates: [9]),
        ],
        isValid: { values in
            (1...8).contains(values["CHANNELS_PIXELS"] ?? 0) && (1...9).contains(values["CHANNELS_TAP_GROUP"] ?? 0)
        })
}

/// How conv2d_channels.cl runs on a device, from its float vector width: how many float16 accumulators a work item
/// keeps (one per output of a forward row segment, one per tap of a weight-gradient group), and from how many taps per
/// output it serves forward passes and input gradients. Each accumulator must stay in a register: a float16 is one
/// register on a device with 16-lane vectors (AVX-512: 32 of them) but two on an 8-lane one (AVX2: 16 of them), where
/// 7 outputs or 9 taps (14 or 18 registers, plus the weight or gradient vector) spill. Measured on pocl (2 cores,
/// interleaved, each round's best replicate): on the AVX-512 device, 3×3 convolutions with 32 and 64 input channels
/// (288 and 576 taps) at 172–200 GFLOP/s against conv2d_blocked.cl's 132–173, and those with 16 (144 taps) at 136
/// against 148; on the AVX2 device, conv2's forward 5.9–6.0 ms with segments of up to 8 outputs and 3.6–4.2 with up
/// to 5, its forward and backward 18.8–21.0 ms with 9 taps against 15.0–15.7 with 6, and the ResNet step, whose
/// 16-channel layers conv2d_blocked.cl served, 61–74 ms against 55–64 with this kernel from 144 taps.
public struct ChannelsGeometry: Sendable, Equatable {
    /// The most outputs of a forward segment (the host splits a row into the fewest segments of at most this many).
    public let maximumPixels: Int
    /// Taps per weight-gradient work item (CHANNELS_TAP_GROUP).
    public let tapGroup: Int
    /// The fewest taps per output (C·KH·KW, or O·KH·KW for an input gradient) of the convolutions it serves.
    public let tapMinimum: Int
    /// Blocks of 16 output channels per work item (CHANNELS_BLOCKS) where a pass has 32 or more: with 2 each
    /// broadcast input feeds two fmas, and a forward segment of 7 outputs keeps 14 accumulators rather than 7, more
    /// than the fma units' two per cycle times their four cycles of latency. On pocl with AVX-512 (AMD EPYC, Zen 5,
    /// 2026-12-07) see Docs/performance.md. With 8-lane registers the accumulators would not fit.
    public let channelBlocks: Int

    /// The geometry for a device whose preferred float vector width is `vectorWidth`: 8 outputs, 9 taps, 256 taps and
    /// 2 blocks at 16 lanes or more, else 5, 6, 144 and 1.
    public init(vectorWidth: Int) {
        (maximumPixels, tapGroup, tapMinimum, channelBlocks) = vectorWidth >= 16 ? (8, 9, 256, 2) : (5, 6, 144, 1)
    }

    /// Blocks of 16 channels per work item for a pass with `outputs` output channels.
    func blocks(outputs: Int) -> Int {
        outputs >= 32 ? channelBlocks : 1
    }

    /// `outputs` rounded up to whole work items' channels (16 × `blocks(outputs:)`): the rearranged weight's and dyT's
    /// row length.
    func paddedOutputs(_ outputs: Int) -> Int {
        let lanes = 16 * blocks(outputs: outputs)
        return (outputs + lanes - 1) / lanes * lanes
    }
}

/// Which kernels run a convolution pass.
enum ConvolutionPath {
    /// conv2d_narrow.cl for stride-1 convolutions with few taps per output (forward and weight gradient); else,
    /// with the CPU-shaped (register-blocked) GEMM, conv2d_channels.cl for the forward pass and input gradient of
    /// convolutions with many taps per output and for weight gradients with at least 16 output channels, and
    /// conv2d_blocked.cl for the forward pass and input gradient of other stride-1 convolutions; else im2col and
    /// gemm.cl's micro-kernel when groups == 1 and the column matrix fits `columnBufferLimit`; else `.direct`.
    case automatic
    /// The direct kernels (one work item per output element), which serve every geometry.
    case direct
}

extension OpenCLBackend {
    /// Work items per group of the convolution kernels; fixed so pocl compiles each kernel once.
    static let convolutionLocal = [64]
    /// The most taps per output (C·KH·KW) the narrow kernels take: an RGB 3×3 layer; beyond it the taps no
    /// longer fit the registers and the GEMM path's longer products pay off.
    static let narrowTapLimit = 27
    /// The largest column matrix (im2col) the GEMM path allocates, in bytes; larger problems use the direct kernels.
    static let columnBufferLimit = 256 << 20

    /// The column matrix's float count, when the GEMM path applies (groups == 1 and the matrix fits the limits).
    private func columnCount(_ attributes: Convolution2D, input: Shape, weight: Shape, output: Shape) -> Int? {
        guard attributes.groups == 1 else { return nil }
        let count = input[0] * input[1] * weight[2] * weight[3] * output[2] * output[3]
        let bytes = count * MemoryLayout<Float>.size
        guard bytes <= Self.columnBufferLimit, bytes <= context.device.maxAllocationBytes else { return nil }
        return count
    }

    /// conv2d_narrow.cl's geometry defines (NARROW_C, NARROW_KH, NARROW_KW), when its kernels serve it: groups 1, stride 1, dilation 1,
    /// at most `narrowTapLimit` taps per output, output rows of at least 8.
    static func narrowDefines(_ attributes: Convolution2D, weight: Shape, output: Shape) -> [(String, Int)]? {
        guard attributes.groups == 1, attributes.stride == [1, 1], attributes.dilation == [1, 1], output[3] >= 8,
            weight[1] * weight[2] * weight[3] <= Self.narrowTapLimit
        else { return nil }
        return [("NARROW_C", weight[1]), ("NARROW_KH", weight[2]), ("NARROW_KW", weight[3])]
    }

    /// x zero-padded to `[N, C, height, width]` (`conv2d_narrow_pad`; by default OH + KH - 1 and OW + KW - 1, a
    /// stride-1 convolution's extent), for conv2d_narrow.cl, conv2d_blocked.cl and conv2d_channels.cl.
    private func paddedInput(
        _ attributes: Convolution2D, x: OpenCLOperand, weight: Shape, output: Shape, height: Int? = nil, width: Int? = nil,
        defines: [(String, Int)] = KernelDescription.conv2dNarrow.defines()
    ) throws -> OpenCLBuffer {
        let (planes, height, width) = (x.shape[0] * x.shape[1], height ?? output[2] + weight[2] - 1, width ?? output[3] + weight[3] - 1)
        let padded = try workspace(.paddedInput, count: planes * height * width)
        let kernel = try kernel(KernelDescription.conv2dNarrow.file, "conv2d_narrow_pad", defines: defines)
        try launch(
            kernel,
            [.buffer(x.buffer), .buffer(padded)]
                + [x.shape[2], x.shape[3], attributes.padding[0], attributes.padding[1], height, width, planes].map {
                    KernelArgument.int($0)
                },
            global: [height, planes], preferredLocal: [height, 8])
        return padded
    }

    /// Whether conv2d_channels.cl computes the forward pass (with the register-blocked GEMM, on CPU devices): one
    /// group, more than one tap position (a 1×1 convolution is a product already), at least `geometry.tapMinimum` taps
    /// per output (C·KH·KW).
    static func usesChannelsForward(_ attributes: Convolution2D, weight: Shape, geometry: ChannelsGeometry) -> Bool {
        attributes.groups == 1 && weight[2] * weight[3] > 1 && weight[1] * weight[2] * weight[3] >= geometry.tapMinimum
    }

    /// Whether conv2d_channels.cl computes the input gradient, as the forward pass of dy with the weight flipped: as
    /// `usesChannelsForward` counting the output channels' taps (O·KH·KW), at stride 1 and dilation 1 with the padding
    /// narrower than the kernel (else the flipped convolution's padding would be negative).
    static func usesChannelsInputGradient(_ attributes: Convolution2D, weight: Shape, geometry: ChannelsGeometry) -> Bool {
        attributes.groups == 1 && attributes.stride == [1, 1] && attributes.dilation == [1, 1] && weight[2] * weight[3] > 1
            && weight[0] * weight[2] * weight[3] >= geometry.tapMinimum && attributes.padding[0] < weight[2]
            && attributes.padding[1] < weight[3]
    }

    /// conv2d_channels.cl's forward pass of `x` with the weight `w` [O, C, KH, KW] (`usesChannelsForward`), or with
    /// `inputGradient` the input gradient for dy = `x` (`usesChannelsInputGradient`): dy convolved with the weight
    /// flipped in both spatial axes and its channel axes swapped, padded by KH − 1 − PT on top and KW − 1 − PL on the
    /// left.
    private func channelsConvolution(
        _ attributes: Convolution2D, x: OpenCLOperand, w: OpenCLOperand, inputGradient: Bool, bias: OpenCLOperand?, _ out: OpenCLBuffer,
        _ outShape: Shape, activation: UnaryFunction?
    ) throws {
        let (kh, kw) = (w.shape[2], w.shape[3])
        let (inputs, outputs) = inputGradient ? (w.shape[0], w.shape[1]) : (w.shape[1], w.shape[0])
        let convolved =
            inputGradient ? Convolution2D(padding: [kh - 1 - attributes.padding[0], kw - 1 - attributes.padding[1], 0, 0]) : attributes
        let blocks = channelsGeometry.blocks(outputs: outputs)
        let defines = channelsDefines(outputWidth: outShape[3], weight: [kh, kw], convolved, blocks: blocks)
        let paddedOutputs = channelsGeometry.paddedOutputs(outputs)
        let count = inputs * kh * kw * paddedOutputs
        let weights = try workspace(.channelsWeight, count: count)
        let file = KernelDescription.conv2dChannels.file
        try launch(
            try kernel(file, "conv2d_channels_weight", defines: defines),
            [.buffer(w.buffer), .buffer(weights)]
                + [w.shape[0], w.shape[1], kh, kw, inputGradient ? 1 : 0, paddedOutputs, count].map { KernelArgument.int($0) },
            global: [count], preferredLocal: Self.convolutionLocal)
        let (stride, dilation) = (convolved.stride, convolved.dilation)
        let height = (outShape[2] - 1) * stride[0] + (kh - 1) * dilation[0] + 1
        let width = (outShape[3] - 1) * stride[1] + (kw - 1) * dilation[1] + 1
        let padded = try paddedInput(convolved, x: x, weight: w.shape, output: outShape, height: height, width: width)
        // Without a bias the kernel never reads argument 2; any buffer fills the slot.
        let geometry = [inputs, outputs, paddedOutputs, outShape[2], outShape[3], height, width, stride[0]]
        try launch(
            try kernel(file, "conv2d_channels_forward", defines: defines),
            [
                .buffer(padded), .buffer(weights), .buffer(bias?.buffer ?? weights), .int(bias == nil ? 0 : 1), .buffer(out),
                .int(KernelCodes.activation(activation)), .float(KernelCodes.slope(activation)),
            ] + geometry.map { KernelArgument.int($0) },
            global: [paddedOutputs / (16 * blocks), outShape[2], outShape[0]], preferredLocal: [1, 1, 1])
    }

    /// The defines conv2d_channels.cl's programs are built with: the segments of an output row `outputWidth` wide (the
    /// fewest of at most `channelsGeometry.maximumPixels` outputs, CHANNELS_PIXELS each but the last, CHANNELS_TAIL,
    /// which takes the rest), the weight-gradient tap group, the `weight`'s height and width, the convolution's
    /// column stride and dilations, and the `blocks` of 16 output channels per work item. A stride-1 layer's passes
    /// with as many blocks share them, so one program serves all their launches.
    private func channelsDefines(outputWidth: Int, weight: [Int], _ attributes: Convolution2D, blocks: Int) -> [(String, Int)] {
        let most = channelsGeometry.maximumPixels
        let count = (outputWidth + most - 1) / most
        let pixels = (outputWidth + count - 1) / count
        return KernelDescription.conv2dChannels.defines(["CHANNELS_PIXELS": pixels, "CHANNELS_TAP_GROUP": channelsGeometry.tapGroup])
            + [
                ("CHANNELS_TAIL", outputWidth - (count - 1) * pixels), ("CHANNELS_KH", weight[0]), ("CHANNELS_KW", weight[1]),
                ("CHANNELS_SW", attributes.stride[1]), ("CHANNELS_DH", attributes.dilation[0]), ("CHANNELS_DW", attributes.dilation[1]),
                ("CHANNELS_BLOCKS", blocks),
            ]
    }

    /// Whether conv2d_channels.cl computes the weight gradient (with the register-blocked GEMM, on CPU devices): one
    /// group, more than one tap position and at least 16 output channels, one full block of lanes.
    static func usesChannelsWeightGradient(_ attributes: Convolution2D, weight: Shape) -> Bool {
        attributes.groups == 1 && weight[2] * weight[3] > 1 && weight[0] >= 16
    }

    /// conv2d_channels.cl's weight gradient (`usesChannelsWeightGradient`): dy's channels moved last (dyT
    /// [N·OH·OW, O rounded up to 16]), then per slice of whole images the partial gradient [C·KH·KW, O] of each block
    /// of 16 output channels by group of taps, then their sum (`sumWeightSlices`).
    private func channelsWeightGradient(
        _ attributes: Convolution2D, x: OpenCLOperand, dy: OpenCLOperand, _ out: OpenCLBuffer, _ outShape: Shape
    ) throws {
        let (batch, o, c, kh, kw) = (x.shape[0], outShape[0], outShape[1], outShape[2], outShape[3])
        let (oh, ow, q) = (dy.shape[2], dy.shape[3], c * kh * kw)
        let blocks = channelsGeometry.blocks(outputs: o)
        let paddedOutputs = channelsGeometry.paddedOutputs(o)
        let file = KernelDescription.conv2dChannels.file
        let taps = channelsGeometry.tapGroup
        let defines = channelsDefines(outputWidth: ow, weight: [kh, kw], attributes, blocks: blocks)
        let gradients = try workspace(.rows, count: batch * oh * ow * paddedOutputs)
        try launch(
            try kernel(file, "conv2d_channels_gradient_rows", defines: defines),
            [.buffer(dy.buffer), .buffer(gradients), .int(o), .int(paddedOutputs), .int(oh * ow)],
            global: [(oh * ow + 15) / 16, paddedOutputs / 16, batch], preferredLocal: [1, 1, 1])
        let (stride, dilation) = (attributes.stride, attributes.dilation)
        let height = (oh - 1) * stride[0] + (kh - 1) * dilation[0] + 1
        let width = (ow - 1) * stride[1] + (kw - 1) * dilation[1] + 1
        let padded = try paddedInput(attributes, x: x, weight: outShape, output: dy.shape, height: height, width: width)
        let sliceImages = Self.weightSliceImages(batch: batch)
        let slices = batch / sliceImages
        let parts = try workspace(.weightPartials, count: slices * q * o)
        let geometry = [sliceImages, c, o, paddedOutputs, oh, ow, height, width, kh, kw] + stride + dilation
        try launch(
            try kernel(file, "conv2d_channels_backward_weight", defines: defines),
            [.buffer(padded), .buffer(gradients), .buffer(parts)] + geometry.map { KernelArgument.int($0) },
            global: [paddedOutputs / (16 * blocks), (q + taps - 1) / taps, slices], preferredLocal: [1, 1, 1])
        try sumWeightSlices(parts, out, slices: slices, o: o, q: q)
    }

    /// Whether conv2d_blocked.cl's forward kernel computes the forward pass and the input gradient (with the
    /// register-blocked GEMM, on CPU devices): stride 1, dilation 1, groups 1, more than one tap (a 1×1 convolution is
    /// a product already, with no column matrix to avoid). On pocl (2 cores, interleaved) the forward alone took
    /// conv2_fwd to 0.78–0.88 of the GEMM path's time (five rounds; in the ResNet step the 16-channel 28×28
    /// convolutions 4–6 ms instead of 8.6–11.3, the 7×7 ones about the same); with the input gradients too the ResNet
    /// step took 0.74–0.90 of its time and the CNN step 0.84–0.93 (four rounds).
    static func usesBlockedForward(_ attributes: Convolution2D, weight: Shape) -> Bool {
        attributes.groups == 1 && attributes.stride == [1, 1] && attributes.dilation == [1, 1] && weight[2] * weight[3] > 1
    }

    /// conv2d_blocked.cl's forward pass (see `usesBlockedForward`) on the input zero-padded to whole segments.
    private func blockedForward(
        _ attributes: Convolution2D, x: OpenCLOperand, w: OpenCLOperand, bias: OpenCLOperand?, _ out: OpenCLBuffer, _ outShape: Shape,
        activation: UnaryFunction?
    ) throws {
        var values = Dictionary(uniqueKeysWithValues: tunedDefines(.conv2dBlocked))
        // Segments of 8 where they waste fewer lanes than 16 (rows of 7: 8 lanes, 1 unused, against 9 of 16).
        let narrowWidth = 8
        if (outShape[3] + narrowWidth - 1) / narrowWidth * narrowWidth < (outShape[3] + 15) / 16 * 16 {
            values["BLOCKED_WIDTH"] = narrowWidth
        }
        let defines = KernelDescription.conv2dBlocked.defines(values)
        let (channels, width) = (values["BLOCKED_CHANNELS"] ?? 1, values["BLOCKED_WIDTH"] ?? 1)
        let segments = (outShape[3] + width - 1) / width
        let paddedWidth = segments * width + w.shape[3] - 1
        let padded = try paddedInput(attributes, x: x, weight: w.shape, output: outShape, width: paddedWidth)
        let kernel = try kernel(KernelDescription.conv2dBlocked.file, "conv2d_blocked_forward", defines: defines)
        let blocks = (outShape[1] + channels - 1) / channels
        // Without a bias the kernel never reads argument 2; any buffer fills the slot.
        let geometry = [
            x.shape[1], outShape[1], outShape[2], outShape[3], outShape[2] + w.shape[2] - 1, paddedWidth, w.shape[2], w.shape[3],
        ]
        try launch(
            kernel,
            [
                .buffer(padded), .buffer(w.buffer), .buffer(bias?.buffer ?? w.buffer), .int(bias == nil ? 0 : 1), .buffer(out),
                .int(KernelCodes.activation(activation)), .float(KernelCodes.slope(activation)),
            ] + geometry.map { KernelArgument.int($0) },
            global: [blocks * segments, (outShape[2] + 1) / 2, outShape[0]], preferredLocal: [1, 1, 1])
    }

    /// The input gradient of a stride-1 convolution as the forward pass of conv2d_blocked.cl: dx is dy convolved with
    /// the weight flipped in both spatial axes and with its channel axes swapped (`conv2d_blocked_flip_weight`), padded
    /// by KH − 1 − PT on top and KW − 1 − PL on the left; dy's rows and columns past the last that reach dx are left
    /// out. Returns false, launching nothing, when the padding is as wide as the kernel or wider (the flipped
    /// convolution's padding would be negative).
    private func blockedInputGradient(
        _ attributes: Convolution2D, dy: OpenCLOperand, w: OpenCLOperand, _ out: OpenCLBuffer, _ outShape: Shape
    ) throws -> Bool {
        let (o, c, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        guard attributes.padding[0] < kh, attributes.padding[1] < kw else { return false }
        let flipped = try workspace(.flippedWeight, count: w.shape.count)
        let flip = try kernel(KernelDescription.conv2dBlocked.file, "conv2d_blocked_flip_weight", defines: tunedDefines(.conv2dBlocked))
        try launch(
            flip, [.buffer(w.buffer), .buffer(flipped)] + [o, c, kh, kw].map { KernelArgument.int($0) }, global: [w.shape.count],
            preferredLocal: Self.convolutionLocal)
        let transposed = Convolution2D(padding: [kh - 1 - attributes.padding[0], kw - 1 - attributes.padding[1], 0, 0])
        try blockedForward(
            transposed, x: dy, w: OpenCLOperand(buffer: flipped, shape: [c, o, kh, kw]), bias: nil, out, outShape, activation: nil)
        return true
    }

    /// The images per slice of the weight gradient's product (a divisor of `batch`, so every slice is whole):
    /// about eight slices, enough partial products to share two cores with few extra sums.
    static func weightSliceImages(batch: Int) -> Int {
        let target = (batch + 7) / 8
        return (1...target).last { batch % $0 == 0 } ?? 1
    }

    /// The column matrix of the batch (`conv2d_im2col`): `[Q][N * P]`, or with `sliceImages` < N, N / sliceImages
    /// slices `[Q][sliceImages * P]` one after the other. Each work item writes a run of consecutive entries.
    private func im2col(
        _ attributes: Convolution2D, x: OpenCLOperand, weight: Shape, output: Shape, count: Int, sliceImages: Int? = nil
    ) throws -> OpenCLBuffer {
        let columns = try workspace(.columns, count: count)
        let kernel = try kernel(KernelDescription.conv2d.file, "conv2d_im2col")
        let items = x.shape[0] * x.shape[1] * weight[2] * weight[3]
        try launch(
            kernel,
            [.buffer(x.buffer), .buffer(columns), .int(sliceImages ?? x.shape[0])]
                + convolutionGeometry(attributes, input: x.shape, weight: weight, output: output),
            global: [items], preferredLocal: Self.convolutionLocal)
        return columns
    }

    /// `conv2d_batch_to_rows` (`[N, O, P]` to `[O, N * P]`, `toRows`) or `conv2d_rows_to_batch` (back).
    private func moveBatch(_ input: OpenCLBuffer, _ output: OpenCLBuffer, batch: Int, channels: Int, plane: Int, toRows: Bool) throws {
        let kernel = try kernel(KernelDescription.conv2d.file, toRows ? "conv2d_batch_to_rows" : "conv2d_rows_to_batch")
        try launch(
            kernel, [.buffer(input), .buffer(output), .int(batch), .int(channels), .int(plane)], global: [batch * channels],
            preferredLocal: Self.convolutionLocal)
    }

    func conv2d(
        _ attributes: Convolution2D, x: OpenCLOperand, w: OpenCLOperand, bias: OpenCLOperand?, _ out: OpenCLBuffer,
        _ outShape: Shape
    ) throws {
        try conv2d(attributes, x: x, w: w, bias: bias, out, outShape, path: .automatic)
    }

    /// The convolution, then `activation` when given: in the GEMM's epilogue, or (direct path) in place after it.
    func conv2d(
        _ attributes: Convolution2D, x: OpenCLOperand, w: OpenCLOperand, bias: OpenCLOperand?, _ out: OpenCLBuffer,
        _ outShape: Shape, path: ConvolutionPath, activation: UnaryFunction? = nil
    ) throws {
        if path == .automatic, let geometry = Self.narrowDefines(attributes, weight: w.shape, output: outShape) {
            let defines = geometry + [("NARROW_ACTIVATION", KernelCodes.activation(activation))]
            let padded = try paddedInput(attributes, x: x, weight: w.shape, output: outShape, defines: defines)
            let kernel = try kernel(KernelDescription.conv2dNarrow.file, "conv2d_narrow_forward", defines: defines)
            // Work item (pair of 8-output row segments, output row, image); groups of whole rows (a divisor of OH up to 16).
            let pairs = (outShape[3] + 15) / 16
            let rowsPerGroup = (1...min(16, outShape[2])).last { outShape[2] % $0 == 0 } ?? 1
            // Without a bias the kernel never reads argument 2; any buffer fills the slot.
            try launch(
                kernel,
                [
                    .buffer(padded), .buffer(w.buffer), .buffer(bias?.buffer ?? w.buffer), .int(bias == nil ? 0 : 1), .buffer(out),
                    .float(KernelCodes.slope(activation)),
                ] + [outShape[0], outShape[1], outShape[2], outShape[3]].map { KernelArgument.int($0) },
                global: [pairs, outShape[2], outShape[0]], preferredLocal: [pairs, rowsPerGroup, 1])
            return
        }
        if path == .automatic, gemmVariant != .tiled, Self.usesChannelsForward(attributes, weight: w.shape, geometry: channelsGeometry) {
            try channelsConvolution(attributes, x: x, w: w, inputGradient: false, bias: bias, out, outShape, activation: activation)
            return
        }
        if path == .automatic, gemmVariant != .tiled, Self.usesBlockedForward(attributes, weight: w.shape) {
            try blockedForward(attributes, x: x, w: w, bias: bias, out, outShape, activation: activation)
            return
        }
        if path != .direct, let count = columnCount(attributes, input: x.shape, weight: w.shape, output: outShape) {
            // yRows [O, N*P] = w [O, Q] . col [Q, N*P], each row starting from its bias, then back to [N, O, P].
            let columns = try im2col(attributes, x: x, weight: w.shape, output: outShape, count: count)
            let (batch, o, q, p) = (x.shape[0], w.shape[0], w.shape[1] * w.shape[2] * w.shape[3], outShape[2] * outShape[3])
            let rows = try workspace(.rows, count: outShape.count)
            try gemm(
                a: w.buffer, aBatchStride: 0, b: columns, bBatchStride: 0, c: rows, cBatchStride: 0, m: o, n: batch * p, k: q, batch: 1,
                bias: bias.map { .rows($0.buffer) } ?? .none, activation: activation)
            try moveBatch(rows, out, batch: batch, channels: o, plane: p, toRows: false)
            return
        }
        let kernel = try kernel(KernelDescription.conv2d.file, "conv2d_forward")
        // Without a bias the kernel never reads argument 2; any buffer fills the slot.
        let arguments: [KernelArgument] = [
            .buffer(x.buffer), .buffer(w.buffer), .buffer(bias?.buffer ?? w.buffer), .int(bias == nil ? 0 : 1), .buffer(out),
        ]
        try launch(
            kernel, arguments + convolutionGeometry(attributes, input: x.shape, weight: w.shape, output: outShape),
            global: [outShape.count], preferredLocal: Self.convolutionLocal)
        if let activation { try unary(activation, OpenCLOperand(buffer: out, shape: outShape), out) }
    }

    func conv2dBackwardInput(
        _ attributes: Convolution2D, dy: OpenCLOperand, w: OpenCLOperand, _ out: OpenCLBuffer, _ outShape: Shape
    ) throws {
        try conv2dBackwardInput(attributes, dy: dy, w: w, out, outShape, path: .automatic)
    }

    func conv2dBackwardInput(
        _ attributes: Convolution2D, dy: OpenCLOperand, w: OpenCLOperand, _ out: OpenCLBuffer, _ outShape: Shape,
        path: ConvolutionPath
    ) throws {
        if path == .automatic, gemmVariant != .tiled,
            Self.usesChannelsInputGradient(attributes, weight: w.shape, geometry: channelsGeometry)
        {
            try channelsConvolution(attributes, x: dy, w: w, inputGradient: true, bias: nil, out, outShape, activation: nil)
            return
        }
        if path == .automatic, gemmVariant != .tiled, Self.usesBlockedForward(attributes, weight: w.shape),
            try blockedInputGradient(attributes, dy: dy, w: w, out, outShape)
        {
            return
        }
        let geometry = convolutionGeometry(attributes, input: outShape, weight: w.shape, output: dy.shape)
        if path != .direct, let count = columnCount(attributes, input: outShape, weight: w.shape, output: dy.shape) {
            // dcol [Q, N*P] = w^T [Q, O] . dyRows [O, N*P], then col2im gathers the columns back into dx.
            let (batch, o, q, p) = (dy.shape[0], w.shape[0], w.shape[1] * w.shape[2] * w.shape[3], dy.shape[2] * dy.shape[3])
            let weightTransposed = try transposed(w.buffer, rows: o, columns: q, batch: 1, into: .transposedWeight)
            let rows = try workspace(.rows, count: dy.shape.count)
            try moveBatch(dy.buffer, rows, batch: batch, channels: o, plane: p, toRows: true)
            let columns = try workspace(.columns, count: count)
            try gemm(
                a: weightTransposed, aBatchStride: 0, b: rows, bBatchStride: 0, c: columns, cBatchStride: 0, m: q, n: batch * p, k: o,
                batch: 1)
            let kernel = try kernel(KernelDescription.conv2d.file, "conv2d_col2im")
            try launch(
                kernel, [.buffer(columns), .buffer(out)] + geometry, global: [outShape[0] * outShape[1] * outShape[2]],
                preferredLocal: Self.convolutionLocal)
            return
        }
        let kernel = try kernel(KernelDescription.conv2d.file, "conv2d_backward_input")
        try launch(
            kernel,
            [.buffer(dy.buffer), .buffer(w.buffer), .buffer(out)] + geometry,
            global: [outShape.count], preferredLocal: Self.convolutionLocal)
    }

    func conv2dBackwardWeight(
        _ attributes: Convolution2D, x: OpenCLOperand, dy: OpenCLOperand, _ out: OpenCLBuffer, _ outShape: Shape
    ) throws {
        try conv2dBackwardWeight(attributes, x: x, dy: dy, out, outShape, path: .automatic)
    }

    func conv2dBackwardWeight(
        _ attributes: Convolution2D, x: OpenCLOperand, dy: OpenCLOperand, _ out: OpenCLBuffer, _ outShape: Shape,
        path: ConvolutionPath
    ) throws {
        if path == .automatic, let geometry = Self.narrowDefines(attributes, weight: outShape, output: dy.shape) {
            let defines = geometry + [("NARROW_ACTIVATION", KernelCodes.noActivation)]
            // part[s] [C·KH·KW, O] per slice of whole images, then dw [O, C·KH·KW] = their sum.
            let (batch, o, q) = (x.shape[0], outShape[0], outShape.count / outShape[0])
            let sliceImages = Self.weightSliceImages(batch: batch)
            let slices = batch / sliceImages
            let padded = try paddedInput(attributes, x: x, weight: outShape, output: dy.shape, defines: defines)
            let parts = try workspace(.weightPartials, count: slices * q * o)
            let kernel = try kernel(KernelDescription.conv2dNarrow.file, "conv2d_narrow_backward_weight", defines: defines)
            try launch(
                kernel,
                [.buffer(padded), .buffer(dy.buffer), .buffer(parts)]
                    + [sliceImages, slices, o, dy.shape[2], dy.shape[3]].map { KernelArgument.int($0) },
                global: [o, slices], preferredLocal: [1, 1])
            try sumWeightSlices(parts, out, slices: slices, o: o, q: q)
            return
        }
        if path == .automatic, gemmVariant != .tiled, Self.usesChannelsWeightGradient(attributes, weight: outShape) {
            try channelsWeightGradient(attributes, x: x, dy: dy, out, outShape)
            return
        }
        if path != .direct, let count = columnCount(attributes, input: x.shape, weight: outShape, output: dy.shape) {
            // part[z] [Q, O] = col[:, slice z] . dyT[slice z] for S slices of whole images, then dw [O, Q] = their sum.
            let (batch, o, q, p) = (x.shape[0], outShape[0], outShape.count / outShape[0], dy.shape[2] * dy.shape[3])
            let sliceImages = Self.weightSliceImages(batch: batch)
            let (slices, k) = (batch / sliceImages, sliceImages * p)
            let columns = try im2col(attributes, x: x, weight: outShape, output: dy.shape, count: count, sliceImages: sliceImages)
            let gradientsTransposed = try transposed(dy.buffer, rows: o, columns: p, batch: batch, into: .rows)
            let parts = try workspace(.weightPartials, count: slices * q * o)
            try gemm(
                a: columns, aBatchStride: q * k, b: gradientsTransposed, bBatchStride: k * o, c: parts, cBatchStride: q * o, m: q,
                n: o, k: k, batch: slices)
            try sumWeightSlices(parts, out, slices: slices, o: o, q: q)
            return
        }
        let kernel = try kernel(KernelDescription.conv2d.file, "conv2d_backward_weight")
        try launch(
            kernel,
            [.buffer(x.buffer), .buffer(dy.buffer), .buffer(out)]
                + convolutionGeometry(attributes, input: x.shape, weight: outShape, output: dy.shape),
            global: [outShape.count], preferredLocal: Self.convolutionLocal)
    }

    /// `conv2d_weight_slices_sum`: dw [O, Q] = the sum of the `slices` partial products [Q, O] in `parts`.
    private func sumWeightSlices(_ parts: OpenCLBuffer, _ out: OpenCLBuffer, slices: Int, o: Int, q: Int) throws {
        let sum = try kernel(KernelDescription.conv2d.file, "conv2d_weight_slices_sum")
        try launch(
            sum, [.buffer(parts), .buffer(out), .int(slices), .int(o), .int(q)], global: [o * q], preferredLocal: Self.convolutionLocal)
    }

    /// The `CONV_GEOMETRY` arguments of conv2d.cl, in its order:
    /// N, C, H, W, O, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW, G.
    private func convolutionGeometry(_ attributes: Convolution2D, input: Shape, weight: Shape, output: Shape) -> [KernelArgument] {
        [
            input[0], input[1], input[2], input[3], weight[0], output[2], output[3], weight[2], weight[3],
            attributes.stride[0], attributes.stride[1], attributes.padding[0], attributes.padding[1],
            attributes.dilation[0], attributes.dilation[1], attributes.groups,
        ].map { KernelArgument.int($0) }
    }
}
