// Batch-norm family: per-channel moments and gradient sums (per run, then per channel) and the elementwise
// normalisation and moments gradient, with Kernels/batch_norm.cl.
import KilnCore

extension KernelDescription {
    /// batch_norm.cl: batch normalisation's per-channel sums and elementwise passes.
    static let batchNorm = KernelDescription(
        file: "batch_norm.cl",
        entries: [
            "batch_run_moments", "batch_channel_moments", "batch_run_sums", "batch_channel_sums", "batch_normalize",
            "batch_moments_backward",
        ],
        tunables: [], isValid: { _ in true })
}

extension OpenCLBackend {
    /// Work items per group of the per-run and per-channel sums; fixed so pocl compiles each kernel once.
    static let batchNormLocal = [64]

    /// x as `[N, C, S]`.
    private func channelLayout(_ x: OpenCLOperand) -> (channels: Int, spatial: Int, rows: Int) {
        let spatial = x.shape.dimensions.dropFirst(2).reduce(1, *)
        return (x.shape[1], spatial, x.shape.count / spatial)
    }

    /// A per-channel sum: `runEntry` over every `(n, c)` run into `[2, N·C]` scratch, then `channelEntry` over the channels.
    private func sumPerChannel(
        run runEntry: String, _ runArguments: [KernelArgument], channel channelEntry: String, _ channelArguments: [KernelArgument],
        rows: Int, channels: Int
    ) throws {
        let file = KernelDescription.batchNorm.file
        try launch(try kernel(file, runEntry), runArguments, global: [rows], preferredLocal: Self.batchNormLocal)
        try launch(try kernel(file, channelEntry), channelArguments, global: [channels], preferredLocal: Self.batchNormLocal)
    }

    /// Vectors of 8 per work item of the elementwise kernels: batch_norm.cl's BATCH_NORM_CHUNK.
    static let batchNormChunk = 32

    /// An elementwise kernel: up to `batchNormChunk` vectors of 8 elements of one `(n, c)` run per work item.
    private func launchPerRun(_ entry: String, _ arguments: [KernelArgument], spatial: Int, rows: Int) throws {
        let kernel = try kernel(KernelDescription.batchNorm.file, entry)
        let elements = Self.vectorLanes * Self.batchNormChunk
        try launch(kernel, arguments, global: [(spatial + elements - 1) / elements, rows], preferredLocal: [1, 64])
    }

    /// `[2, C]`: each channel's mean and biased variance.
    func batchMoments(_ x: OpenCLOperand, _ out: OpenCLBuffer) throws {
        let layout = channelLayout(x)
        let partial = try workspace(.partialSums, count: 2 * layout.rows)
        try sumPerChannel(
            run: "batch_run_moments", [.buffer(x.buffer), .buffer(partial), .int(layout.rows), .int(layout.spatial)],
            channel: "batch_channel_moments",
            [.buffer(partial), .buffer(out), .int(layout.channels), .int(x.shape[0]), .int(layout.spatial)], rows: layout.rows,
            channels: layout.channels)
    }

    /// `[2, C]`: each channel's `Σ dy` and `Σ dy (x − mean) / √(variance + ε)`.
    func batchNormSums(epsilon: Double, x: OpenCLOperand, moments: OpenCLOperand, dy: OpenCLOperand, _ out: OpenCLBuffer) throws {
        let layout = channelLayout(x)
        let partial = try workspace(.partialSums, count: 2 * layout.rows)
        try sumPerChannel(
            run: "batch_run_sums",
            [
                .buffer(x.buffer), .buffer(moments.buffer), .buffer(dy.buffer), .buffer(partial), .int(layout.rows), .int(layout.channels),
                .int(layout.spatial),
            ],
            channel: "batch_channel_sums",
            [.buffer(partial), .buffer(moments.buffer), .buffer(out), .int(layout.channels), .int(x.shape[0]), .float(Float(epsilon))],
            rows: layout.rows, channels: layout.channels)
    }

    /// `(x − mean) · weight / √(variance + ε) + bias`.
    func batchNormalize(
        epsilon: Double, x: OpenCLOperand, moments: OpenCLOperand, weight: OpenCLOperand, bias: OpenCLOperand, _ out: OpenCLBuffer
    ) throws {
        let layout = channelLayout(x)
        try launchPerRun(
            "batch_normalize",
            [
                .buffer(x.buffer), .buffer(moments.buffer), .buffer(weight.buffer), .buffer(bias.buffer), .buffer(out), .int(layout.rows),
                .int(layout.channels), .int(layout.spatial), .float(Float(epsilon)),
            ], spatial: layout.spatial, rows: layout.rows)
    }

    /// `dMean / n + 2 (x − mean) dVariance / n`.
    func batchMomentsBackward(x: OpenCLOperand, moments: OpenCLOperand, dMoments: OpenCLOperand, _ out: OpenCLBuffer) throws {
        let layout = channelLayout(x)
        try launchPerRun(
            "batch_moments_backward",
            [
                .buffer(x.buffer), .buffer(moments.buffer), .buffer(dMoments.buffer), .buffer(out), .int(layout.rows),
                .int(layout.channels),
                .int(layout.spatial), .int(x.shape.count / layout.channels),
            ], spatial: layout.spatial, rows: layout.rows)
    }
}
