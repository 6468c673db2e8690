// Batch-norm family: per-channel moments and gradient sums (a work group per channel) and the elementwise
// normalisation and moments gradient, with Kernels/batch_norm.cl.
import KilnCore

extension KernelDescription {
    /// batch_norm.cl: batch normalisation's per-channel sums and elementwise passes.
    static let batchNorm = KernelDescription(
        file: "batch_norm.cl", entries: ["batch_moments", "batch_norm_sums", "batch_normalize", "batch_moments_backward"],
        tunables: [], isValid: { _ in true })
}

extension OpenCLBackend {
    /// Work items per channel of the sums: batch_norm.cl's BATCH_NORM_GROUP (a device may run fewer).
    static let batchNormGroup = 64

    /// x as `[N, C, S]`.
    private func channelLayout(_ x: OpenCLOperand) -> (channels: Int, spatial: Int, rows: Int) {
        let spatial = x.shape.dimensions.dropFirst(2).reduce(1, *)
        return (x.shape[1], spatial, x.shape.count / spatial)
    }

    /// A per-channel kernel: one work group per channel.
    private func launchPerChannel(_ entry: String, _ arguments: [KernelArgument], channels: Int) throws {
        let kernel = try kernel(KernelDescription.batchNorm.file, entry)
        try launch(kernel, arguments, global: [channels * Self.batchNormGroup], preferredLocal: [Self.batchNormGroup])
    }

    /// An elementwise kernel: 8 elements of one `(n, c)` run per work item.
    private func launchPerRun(_ entry: String, _ arguments: [KernelArgument], spatial: Int, rows: Int) throws {
        let kernel = try kernel(KernelDescription.batchNorm.file, entry)
        let vectors = (spatial + Self.vectorLanes - 1) / Self.vectorLanes
        try launch(kernel, arguments, global: [vectors, rows], preferredLocal: [min(vectors, 8), 8])
    }

    /// `[2, C]`: each channel's mean and biased variance.
    func batchMoments(_ x: OpenCLOperand, _ out: OpenCLBuffer) throws {
        let layout = channelLayout(x)
        try launchPerChannel(
            "batch_moments", [.buffer(x.buffer), .buffer(out), .int(layout.channels), .int(x.shape.count / layout.channels),
                .int(layout.spatial)], channels: layout.channels)
    }

    /// `[2, C]`: each channel's `Σ dy` and `Σ dy (x − mean) / √(variance + ε)`.
    func batchNormSums(epsilon: Double, x: OpenCLOperand, moments: OpenCLOperand, dy: OpenCLOperand, _ out: OpenCLBuffer) throws {
        let layout = channelLayout(x)
        try launchPerChannel(
            "batch_norm_sums",
            [.buffer(x.buffer), .buffer(moments.buffer), .buffer(dy.buffer), .buffer(out), .int(layout.channels),
                .int(x.shape.count / layout.channels), .int(layout.spatial), .float(Float(epsilon))], channels: layout.channels)
    }

    /// `(x − mean) · weight / √(variance + ε) + bias`.
    func batchNormalize(
        epsilon: Double, x: OpenCLOperand, moments: OpenCLOperand, weight: OpenCLOperand, bias: OpenCLOperand, _ out: OpenCLBuffer
    ) throws {
        let layout = channelLayout(x)
        try launchPerRun(
            "batch_normalize",
            [.buffer(x.buffer), .buffer(moments.buffer), .buffer(weight.buffer), .buffer(bias.buffer), .buffer(out), .int(layout.rows),
                .int(layout.channels), .int(layout.spatial), .float(Float(epsilon))], spatial: layout.spatial, rows: layout.rows)
    }

    /// `dMean / n + 2 (x − mean) dVariance / n`.
    func batchMomentsBackward(x: OpenCLOperand, moments: OpenCLOperand, dMoments: OpenCLOperand, _ out: OpenCLBuffer) throws {
        let layout = channelLayout(x)
        try launchPerRun(
            "batch_moments_backward",
            [.buffer(x.buffer), .buffer(moments.buffer), .buffer(dMoments.buffer), .buffer(out), .int(layout.rows), .int(layout.channels),
                .int(layout.spatial), .int(x.shape.count / layout.channels)], spatial: layout.spatial, rows: layout.rows)
    }
}
