// LSTM family: the fused LSTM cell, forward and backward, with Kernels/lstm_cell.cl.
import KilnCore

extension KernelDescription {
    /// lstm_cell.cl: the cell's forward and backward passes, one work item per (n, j).
    static let lstmCell = KernelDescription(
        file: "lstm_cell.cl", entries: ["lstm_cell_forward", "lstm_cell_backward"], tunables: [], isValid: { _ in true })
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
}
