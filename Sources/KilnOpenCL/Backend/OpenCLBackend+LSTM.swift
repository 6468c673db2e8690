// LSTM family: the fused LSTM cell (Kernels/lstm_cell.cl) and the fused LSTM sequence (Kernels/lstm_sequence.cl),
// forward and backward.
import KilnCore

extension KernelDescription {
    /// lstm_cell.cl: the cell's forward and backward passes, one work item per (n, j).
    static let lstmCell = KernelDescription(
        file: "lstm_cell.cl", entries: ["lstm_cell_forward", "lstm_cell_backward"], tunables: [], isValid: { _ in true })

    /// lstm_sequence.cl's forward: one launch for the whole sequence, a work group per block of `LSTM_ROWS` batch rows.
    /// Its rows and width on a device come from `LSTMBlocking` unless the tuning table sets them; the defaults here
    /// are the 16-lane device's.
    static let lstmSequenceForward = lstmSequence(entry: "lstm_sequence_forward", pack: "lstm_pack_weight", rows: 4, width: 16)
    /// lstm_sequence.cl's backward through time, likewise, its rows and width from `LSTMBlocking.backward`.
    static let lstmSequenceBackward = lstmSequence(entry: "lstm_sequence_backward", pack: "lstm_pack_weight_backward", rows: 4, width: 16)

    /// A sequence kernel `entry` and the kernel `pack` that rearranges W_hh for it.
    private static func lstmSequence(entry: String, pack: String, rows: Int, width: Int) -> KernelDescription {
        KernelDescription(
            file: "lstm_sequence.cl",
            entries: [entry, pack],
            tunables: [
                KernelTunable(name: "LSTM_ROWS", defaultValue: rows, candidates: [1, 2, 3, 4, 8]),
                KernelTunable(name: "LSTM_WIDTH", defaultValue: width, candidates: [4, 8, 16]),
            ],
            isValid: { values in
                guard let rows = values["LSTM_ROWS"], let width = values["LSTM_WIDTH"] else { return false }
                return (1...8).contains(rows) && [1, 2, 4, 8, 16].contains(width)
            })
    }
}

extension OpenCLBackend {
    /// Work items per group of the LSTM kernels; fixed so pocl compiles each kernel once.
    static let lstmLocal = [64]
    /// Steps p of the recurrent product one work item of lstm_sequence.cl's pack kernels moves (LSTM_PACK_STEPS).
    static let lstmPackSteps = 32

    /// `h | c` as `[N, 2H]` from `z [N, 4H]` and `cPrev [N, H]`.
    func lstmCell(z: OpenCLOperand, cPrev: OpenCLOperand, _ out: OpenCLBuffer) throws {
        let (batch, hidden) = (cPrev.shape[0], cPrev.shape[1])
        let forward = try kernel(KernelDescription.lstmCell.file, "lstm_cell_forward")
        try launch(
            forward, [.buffer(z.buffer), .buffer(cPrev.buffer), .buffer(out), .int(batch), .int(hidden)],
            global: [batch * hidden], preferredLocal: Self.lstmLocal)
    }

    /// `dz | dcPrev` as `[N, 5H]` from the forward inputs, its output `state` and the gradient `dState`.
    func lstmCellBackward(
        z: OpenCLOperand, cPrev: OpenCLOperand, state: OpenCLOperand, dState: OpenCLOperand, _ out: OpenCLBuffer
    ) throws {
        let (batch, hidden) = (cPrev.shape[0], cPrev.shape[1])
        let backward = try kernel(KernelDescription.lstmCell.file, "lstm_cell_backward")
        try launch(
            backward,
            [
                .buffer(z.buffer), .buffer(cPrev.buffer), .buffer(state.buffer), .buffer(dState.buffer), .buffer(out), .int(batch),
                .int(hidden),
            ],
            global: [batch * hidden], preferredLocal: Self.lstmLocal)
    }

    /// The packed `state [6T + 2, N, H]` of `Op.lstmSequence`: one GEMM projects every step's input
    /// (`x · W_ihᵀ + bias`), `W_hh` is packed once into the forward kernel's unit blocks, `h0` and `c0` are copied
    /// into their blocks, then one `lstm_sequence_forward` launch runs every step.
    func lstmSequence(
        x: OpenCLOperand, h0: OpenCLOperand, c0: OpenCLOperand, weightIH: OpenCLOperand, weightHH: OpenCLOperand,
        bias: OpenCLOperand, _ out: OpenCLBuffer
    ) throws {
        let (steps, batch, inputs, hidden) = (x.shape[0], x.shape[1], x.shape[2], h0.shape[1])
        let rows = steps * batch
        let projection = try workspace(.lstmProjection, count: rows * 4 * hidden)
        try matmul(
            transposeA: false, transposeB: true, OpenCLOperand(buffer: x.buffer, shape: [rows, inputs]), weightIH, projection,
            outShape: [rows, 4 * hidden], columnBias: bias, activation: nil)
        let description = KernelDescription.lstmSequenceForward
        let defines = sequenceDefines(description, blocking: lstmForwardBlocking, hidden: hidden)
        let packed = try packedRecurrentWeight(weightHH, hidden: hidden, steps: hidden, description: description, defines: defines)
        let block = batch * hidden
        try enqueueCopy(h0.buffer, offset: 0, to: out, offset: 0, count: block)
        try enqueueCopy(c0.buffer, offset: 0, to: out, offset: (steps + 1) * block, count: block)
        try launchSequence(
            description, defines: defines, batch: batch, hidden: hidden,
            arguments: [.buffer(projection), .buffer(packed), .buffer(out), .int(steps), .int(batch), .int(hidden)])
    }

    /// `dz [T, N, 4H] | dh0 | dc0` of `Op.lstmSequenceBackward`: `W_hh` is packed once into the backward kernel's unit
    /// blocks, then one `lstm_sequence_backward` launch runs every step from the last, then the initial state.
    func lstmSequenceBackward(weightHH: OpenCLOperand, state: OpenCLOperand, dState: OpenCLOperand, _ out: OpenCLBuffer) throws {
        let (steps, batch, hidden) = ((state.shape[0] - 2) / 6, state.shape[1], state.shape[2])
        let cellGradient = try workspace(.lstmCellGradient, count: batch * hidden)
        let description = KernelDescription.lstmSequenceBackward
        let defines = sequenceDefines(description, blocking: lstmBackwardBlocking, hidden: hidden)
        let packed = try packedRecurrentWeight(weightHH, hidden: hidden, steps: 4 * hidden, description: description, defines: defines)
        try launchSequence(
            description, defines: defines, batch: batch, hidden: hidden,
            arguments: [
                .buffer(packed), .buffer(state.buffer), .buffer(dState.buffer), .buffer(out), .buffer(cellGradient), .int(steps),
                .int(batch), .int(hidden),
            ])
    }

    /// A sequence kernel's `LSTM_ROWS` and `LSTM_WIDTH`: the tuning table's values for lstm_sequence.cl where it has
    /// them, else `blocking`'s, the width then halved until it divides `hidden` when given (so no work item straddles
    /// the last unit; `warmUp` builds for hidden sizes the width divides).
    func sequenceDefines(_ description: KernelDescription, blocking: LSTMBlocking, hidden: Int? = nil) -> [(String, Int)] {
        let values = ["LSTM_ROWS": blocking.rows, "LSTM_WIDTH": blocking.width].merging(tuning?.kernels[description.file] ?? [:]) { $1 }
        var defines = description.defines(values)
        while let hidden, hidden % defines[1].1 != 0 { defines[1].1 /= 2 }
        return defines
    }

    /// `W_hh [4H, H]` rearranged by `description`'s pack kernel (its second entry) into the `lstmRecurrentWeight`
    /// workspace, so each work item of the sequence kernel built with `defines` streams its unit block's weights as one
    /// contiguous run; `steps` is the length of the kernel's product (H forward, 4H backward).
    private func packedRecurrentWeight(
        _ weightHH: OpenCLOperand, hidden: Int, steps: Int, description: KernelDescription, defines: [(String, Int)]
    ) throws -> OpenCLBuffer {
        let packed = try workspace(.lstmRecurrentWeight, count: 4 * hidden * hidden)
        try launch(
            try kernel(description.file, description.entries[1], defines: defines),
            [.buffer(weightHH.buffer), .buffer(packed), .int(hidden)],
            global: [(steps + Self.lstmPackSteps - 1) / Self.lstmPackSteps, hidden / defines[1].1], preferredLocal: [1, 1])
        return packed
    }

    /// Launches a `lstm_sequence.cl` kernel with work groups of whole batch rows spanning every hidden unit: each
    /// step of a row needs all of the row's previous step, and batch rows are independent, so the groups never wait
    /// for each other and the whole sequence is one launch. The row blocks are shared out as one group per compute
    /// unit where the device allows, since every group streams all of `W_hh` each step; a GPU with more compute units
    /// than row blocks keeps a group per block. (pocl, 2 cores, interleaved over three rounds: 2 groups ran the
    /// char-LSTM step in 34.4–35.9 ms and lstm_fwdbwd in 4.1–4.9, against 37.4–44.8 and 4.2–6.7 with 4 to 32.)
    private func launchSequence(
        _ description: KernelDescription, defines: [(String, Int)], batch: Int, hidden: Int, arguments: [KernelArgument]
    ) throws {
        let rows = defines[0].1
        let units = hidden / defines[1].1
        let kernel = try kernel(description.file, description.entries[0], defines: defines)
        let device = context.device
        guard units <= min(kernel.workGroupSizeLimit, device.maxWorkGroupSize, device.maxWorkItemSizes.dropFirst().first ?? 1) else {
            throw OpenCLError.invalidLaunch(
                kernel: kernel.name,
                reason: "hidden size \(hidden) needs \(units) work items in a group, more than the device allows")
        }
        let blocks = (batch + rows - 1) / rows
        let groupLimit = min(kernel.workGroupSizeLimit, device.maxWorkGroupSize) / units
        let computeUnits = max(1, device.computeUnits)
        let blocksPerGroup = max(1, min((blocks + computeUnits - 1) / computeUnits, groupLimit, device.maxWorkItemSizes.first ?? 1))
        try launch(kernel, arguments, global: [blocks, units], preferredLocal: [blocksPerGroup, units])
    }
}

/// Batch rows and hidden units per work item of lstm_sequence_forward (LSTM_ROWS and LSTM_WIDTH) on a device.
public struct LSTMBlocking: Sendable, Equatable {
    public let rows: Int
    public let width: Int

    public init(rows: Int, width: Int) {
        (self.rows, self.width) = (rows, width)
    }

    /// 4 rows of 16 units at 16 float lanes or more (16 float16 accumulators in 32 registers), else 2 rows of 8 (8
    /// float8 accumulators in 16: 4 × 16 spilled on AVX2). pocl, AMD EPYC with AVX2, the char-LSTM's forward over
    /// 64 steps: 9.8-14.1 ms with 2 × 8, 11.9-15.3 with 4 × 8, 27-30 with 3 × 8, 14.4-15.7 with 4 × 16.
    public init(vectorWidth: Int) {
        self = vectorWidth >= 16 ? LSTMBlocking(rows: 4, width: 16) : LSTMBlocking(rows: 2, width: 8)
    }

    /// lstm_sequence_backward's blocking: 16 units, one float16 of dh per row, and 8 rows at 16 float lanes or more,
    /// else 4. Its product has one accumulator per row, so 4 rows are fewer than the fma units' two per cycle times
    /// their four cycles of latency on AVX-512 (pocl, AMD EPYC, Zen 5, 2026-12-07: see Docs/performance.md); with
    /// 8-lane registers a float16 takes two and 8 rows would spill (pocl, AVX2: the char-LSTM's backward took
    /// 12.9-13.8 ms with 4 × 16 against 14.5-14.7 with 4 × 8, 16.3-16.9 with 2 × 16 and 25.9-28.4 with 2 × 8).
    public static func backward(vectorWidth: Int) -> LSTMBlocking {
        LSTMBlocking(rows: vectorWidth >= 16 ? 8 : 4, width: 16)
    }
}
