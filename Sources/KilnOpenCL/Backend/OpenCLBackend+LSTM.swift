// LSTM family: the fused LSTM cell (Kernels/lstm_cell.cl) and the fused LSTM sequence (Kernels/lstm_sequence.cl),
// forward and backward.
import COpenCL
import KilnCore

extension KernelDescription {
    /// lstm_cell.cl: the cell's forward and backward passes, one work item per (n, j).
    static let lstmCell = KernelDescription(
        file: "lstm_cell.cl", entries: ["lstm_cell_forward", "lstm_cell_backward"], tunables: [], isValid: { _ in true })

    /// lstm_sequence.cl: one launch per time step, each work item a block of batch rows by hidden units.
    /// On pocl (2 cores, the lstm_fwdbwd workload) rows 3 × width 8 (12 vector accumulators, the
    /// 16 AVX2 registers' limit) ran fastest of rows 1 to 4 × width 4, 8, 16, with one work item per group.
    static let lstmSequence = KernelDescription(
        file: "lstm_sequence.cl", entries: ["lstm_sequence_forward", "lstm_sequence_backward"],
        tunables: [
            KernelTunable(name: "LSTM_ROWS", defaultValue: 3, candidates: [1, 2, 3, 4]),
            KernelTunable(name: "LSTM_WIDTH", defaultValue: 8, candidates: [4, 8, 16]),
        ],
        isValid: { values in
            guard let rows = values["LSTM_ROWS"], let width = values["LSTM_WIDTH"] else { return false }
            return (1...8).contains(rows) && [1, 2, 4, 8, 16].contains(width)
        })
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
    /// `lstm_sequence_forward` launch per step.
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
        try copy(h0.buffer, to: out, offset: 0, count: block)
        try copy(c0.buffer, to: out, offset: (steps + 1) * block, count: block)

        let (defines, width) = Self.lstmSequenceDefines(hidden: hidden, tunables: tunables)
        let forward = try kernel(KernelDescription.lstmSequence.file, "lstm_sequence_forward", defines: defines)
        let global = [(batch + defines[0].1 - 1) / defines[0].1, hidden / width]
        for t in 0..<steps {
            try launch(
                forward, [.buffer(projection), .buffer(weightT), .buffer(out), .int(t), .int(steps), .int(batch), .int(hidden)],
                global: global, preferredLocal: [1, 1])
        }
    }

    /// `dz [T, N, 4H] | dh0 | dc0` of `Op.lstmSequenceBackward`: one `lstm_sequence_backward` launch per step from
    /// the last, then one more for the initial state.
    func lstmSequenceBackward(
        weightHH: OpenCLOperand, state: OpenCLOperand, dState: OpenCLOperand, _ out: OpenCLBuffer, tunables: [String: Int] = [:]
    ) throws {
        let (steps, batch, hidden) = ((state.shape[0] - 2) / 6, state.shape[1], state.shape[2])
        let cellGradient = try workspace(.lstmCellGradient, count: batch * hidden)
        let (defines, width) = Self.lstmSequenceDefines(hidden: hidden, tunables: tunables)
        let backward = try kernel(KernelDescription.lstmSequence.file, "lstm_sequence_backward", defines: defines)
        let global = [(batch + defines[0].1 - 1) / defines[0].1, hidden / width]
        for t in stride(from: steps - 1, through: -1, by: -1) {
            try launch(
                backward,
                [
                    .buffer(weightHH.buffer), .buffer(state.buffer), .buffer(dState.buffer), .buffer(out), .buffer(cellGradient),
                    .int(t), .int(steps), .int(batch), .int(hidden),
                ],
                global: global, preferredLocal: [1, 1])
        }
    }

    /// The `lstm_sequence.cl` defines (`LSTM_ROWS`, `LSTM_WIDTH`, in the description's order) and the width used:
    /// the requested width when it divides `hidden`, else the widest smaller power of two that does.
    static func lstmSequenceDefines(hidden: Int, tunables: [String: Int]) -> (defines: [(String, Int)], width: Int) {
        var defines = KernelDescription.lstmSequence.defines(tunables)
        var width = defines[1].1
        while hidden % width != 0 { width /= 2 }
        defines[1].1 = width
        return (defines, width)
    }

    /// Enqueues a copy of `count` floats from the start of `source` into `destination` at float `offset`.
    private func copy(_ source: OpenCLBuffer, to destination: OpenCLBuffer, offset: Int, count: Int) throws {
        let size = MemoryLayout<Float>.size
        try check(
            clEnqueueCopyBuffer(context.queue, source.memory, destination.memory, 0, offset * size, count * size, 0, nil, nil),
            "clEnqueueCopyBuffer")
    }
}
