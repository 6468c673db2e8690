// Convolution family: conv2d forward and its gradients with respect to the input and the weight,
// with Kernels/conv2d.cl.
import KilnCore

extension KernelDescription {
    /// conv2d.cl: direct kernels, one work item per output element; no tunables yet.
    static let conv2d = KernelDescription(
        file: "conv2d.cl",
        entries: ["conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight"],
        tunables: [],
        isValid: { _ in true })
}

extension OpenCLBackend {
    /// Work items per group of the convolution kernels; fixed so pocl compiles each kernel once.
    static let convolutionLocal = [64]

    func conv2d(
        _ attributes: Convolution2D, x: OpenCLOperand, w: OpenCLOperand, bias: OpenCLOperand?, _ out: OpenCLBuffer,
        _ outShape: Shape
    ) throws {
        let kernel = try kernel(KernelDescription.conv2d.file, "conv2d_forward")
        // Without a bias the kernel never reads argument 2; any buffer fills the slot.
        let arguments: [KernelArgument] = [.buffer(x.buffer), .buffer(w.buffer), .buffer(bias?.buffer ?? w.buffer), .int(bias == nil ? 0 : 1), .buffer(out)]
        try launch(
            kernel, arguments + convolutionGeometry(attributes, input: x.shape, weight: w.shape, output: outShape),
            global: [outShape.count], preferredLocal: Self.convolutionLocal)
    }

    func conv2dBackwardInput(
        _ attributes: Convolution2D, dy: OpenCLOperand, w: OpenCLOperand, _ out: OpenCLBuffer, _ outShape: Shape
    ) throws {
        let kernel = try kernel(KernelDescription.conv2d.file, "conv2d_backward_input")
        try launch(
            kernel,
            [.buffer(dy.buffer), .buffer(w.buffer), .buffer(out)]
                + convolutionGeometry(attributes, input: outShape, weight: w.shape, output: dy.shape),
            global: [outShape.count], preferredLocal: Self.convolutionLocal)
    }

    func conv2dBackwardWeight(
        _ attributes: Convolution2D, x: OpenCLOperand, dy: OpenCLOperand, _ out: OpenCLBuffer, _ outShape: Shape
    ) throws {
        let kernel = try kernel(KernelDescription.conv2d.file, "conv2d_backward_weight")
        try launch(
            kernel,
            [.buffer(x.buffer), .buffer(dy.buffer), .buffer(out)]
                + convolutionGeometry(attributes, input: x.shape, weight: outShape, output: dy.shape),
            global: [outShape.count], preferredLocal: Self.convolutionLocal)
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
