// Loss family: fused softmax cross-entropy and its gradient with Kernels/loss.cl, one work item per row.
import KilnCore

extension KernelDescription {
    /// loss.cl: softmax cross-entropy per row, forward and backward.
    static let loss = KernelDescription(
        file: "loss.cl", entries: ["softmax_cross_entropy_forward", "softmax_cross_entropy_backward"], tunables: [],
        isValid: { _ in true })
}

extension OpenCLBackend {
    /// Work items per group of the loss kernels; fixed so pocl compiles each kernel once.
    static let lossLocal = [16]

    /// `[N]` losses of `logits [N, C]` against `labels [N]`.
    func softmaxCrossEntropy(logits: OpenCLOperand, labels: OpenCLOperand, _ out: OpenCLBuffer) throws {
        let (rows, classes) = (logits.shape[0], logits.shape[1])
        let kernel = try kernel(KernelDescription.loss.file, "softmax_cross_entropy_forward")
        try launch(
            kernel, [.buffer(logits.buffer), .buffer(labels.buffer), .buffer(out), .int(rows), .int(classes)], global: [rows],
            preferredLocal: Self.lossLocal)
    }

    /// `[N, C]`: `dy[n] · (softmax − oneHot)`.
    func softmaxCrossEntropyBackward(logits: OpenCLOperand, labels: OpenCLOperand, dy: OpenCLOperand, _ out: OpenCLBuffer) throws {
        let (rows, classes) = (logits.shape[0], logits.shape[1])
        let kernel = try kernel(KernelDescription.loss.file, "softmax_cross_entropy_backward")
        try launch(
            kernel, [.buffer(logits.buffer), .buffer(labels.buffer), .buffer(dy.buffer), .buffer(out), .int(rows), .int(classes)],
            global: [rows], preferredLocal: Self.lossLocal)
    }
}
