// LSTM family: the fused LSTM cell (Kernels/lstm_cell.cl) and the fused LSTM sequence (Kernels/lstm_sequence.cl),
// forward and backward.
import KilnCore

extension KernelDescription {
    /// lstm_cell.cl: the cell's forward and backward passes, one work item per (n, j).
    static let lstmCell = KernelDescription(
        file: "lstm_cell.cl", entries: ["lstm_cell_forward", "lstm_cell_backward"], tunables: [], isValid: { _ in true })

    /// lstm_sequence.cl's forward: one launch for the whole sequence, a work group per block of `LSTM_ROWS` batch rows.
    /// On pocl (2 cores, lstm_fwdbwd) width 16 ran fastest, and rows 4: each weight vector loaded feeds four rows
    /// (with a work group per core, the char-LSTM's forward took 6.8–7.3 ms with rows 4 against 9.2–9.8 with 2,
    /// 7.6–12.5 with 6 and 8.2–8.9 with 8, measured interleaved).
    static let lstmSequenceForward = lstmSequence(entry: "lstm_sequence_forward", rows: 4, width: 16)
    /// lstm_sequence.cl's backward through time, likewise.
    static let lstmSequenceBackward = lstmSequence(entry: "lstm_sequence_backward", rows: 4, width: 16)

    private static func lstmSequence(entry: String, rows: Int, width: Int) -> KernelDescription {
        KernelDescription(
            file: "lstm_sequence.cl", entries: [entry],
            tunables: [
                KernelTunable(name: "LSTM_ROWS", defaultValue: rows, candidates: [1, 2, 3, 4]),
                KernelTunable(name: "LSTM_WIDTH", defaultValue: width, candidates: [4, 8, 16]),
            ],
            isValid: { values in
                guard let rows = values["LSTM_ROWS"], let width = values["LSTM_WIDTH"] else { return false }
                return (1...4).contains(rows) && [1, 2, 4, 8, 16].contains(width)
            })
    }
}

extension OpenCLBackend {
    /// Work items per group of the LSTM kernels; fixed so pocl compiles each kernel once.
    static let lstmLocal = [64]

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
    /// (`x · W_ihᵀ + bias`), `W_hh` is transposed once, `h0` and `c0` are copied into their blocks, then one
    /// `lstm_sequence_forward` launch runs every step.
    func lstmSequence(
        x: OpenCLOperand, h0: OpenCLOperand, c0: OpenCLOperand, weightIH: OpenCLOperand, weightHH: OpenCLOperand,
        bias: OpenCLOperand, _ out: OpenCLBuffer, tunables: [String: Int] = [:]
    ) throws {
        let (steps, batch, inputs, hidden) = (x.shape[0], x.shape[1], x.shape[2], h0.shape[1])
        let rows = steps * batch
        let projection = try workspace(.lstmProjection, count: rows * 4 * hidden)
        try matmul(
            transposeA: false, transposeB: true, OpenCLOperand(buffer: x.buffer, shape: [rows, inputs]), weightIH, projection,
            outShape: [rows, 4 * hidden], columnBias: bias, activation: nil)
        let weightT = try transposed(weightHH.buffer, rows: 4 * hidden, columns: hidden, batch: 1, into: .lstmRecurrentWeight)
        let block = batch * hidden
        try enqueueCopy(h0.buffer, offset: 0, to: out, offset: 0, count: block)
        try enqueueCopy(c0.buffer, offset: 0, to: out, offset: (steps + 1) * block, count: block)
        try launchSequence(
            .lstmSequenceForward, batch: batch, hidden: hidden, tunables: tunables,
            arguments: [.buffer(projection), .buffer(weightT), .buffer(out), .int(steps), .int(batch), .int(hidden)])
    }

    /// `dz [T, N, 4H] | dh0 | dc0` of `Op.lstmSequenceBackward`: one `lstm_sequence_backward` launch runs every step
    /// from the last, then the initial state.
    func lstmSequenceBackward(
        weightHH: OpenCLOperand, state: OpenCLOperand, dState: OpenCLOperand, _ out: OpenCLBuffer, tunables: [String: Int] = [:]
    ) throws {
        let (steps, batch, hidden) = ((state.shape[0] - 2) / 6, state.shape[1], state.shape[2])
        let cellGradient = try workspace(.lstmCellGradient, count: batch * hidden)
        try launchSequence(
            .lstmSequenceBackward, batch: batch, hidden: hidden, tunables: tunables,
            arguments: [
                .buffer(weightHH.buffer), .buffer(state.buffer), .buffer(dState.buffer), .buffer(out), .buffer(cellGradient), .int(steps),
                .int(batch), .int(hidden),
            ])
    }

    /// Launches a `lstm_sequence.cl` kernel with work groups of whole batch rows spanning every hidden unit: each
    /// step of a row needs all of the row's previous step, and batch rows are independent, so the groups never wait
    /// for each other and the whole sequence is one launch. The row blocks are shared out as one group per compute
    /// unit where the device allows, since every group streams all of `W_hh` each step; a GPU with more compute units
    /// than row blocks keeps a group per block. (pocl, 2 cores, interleaved over three rounds: 2 groups ran the
    /// char-LSTM step in 34.4–35.9 ms and lstm_fwdbwd in 4.1–4.9, against 37.4–44.8 and 4.2–6.7 with 4 to 32.)
    private func launchSequence(
        _ description: KernelDescription, batch: Int, hidden: Int, tunables: [String: Int], arguments: [KernelArgument]
    ) throws {
        var defines = description.defines(tunables)
        let rows = defines[0].1
        // The widest vector that divides `hidden`, so no work item straddles the last unit.
        while hidden % defines[1].1 != 0 { defines[1].1 /= 2 }
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
