// ArgMax family: the index of the first maximum along an axis, with Kernels/argmax.cl.
import KilnCore

extension KernelDescription {
    /// argmax.cl: one work item per row along the reduced axis.
    static let argMax = KernelDescription(file: "argmax.cl", entries: ["argmax_forward"], tunables: [], isValid: { _ in true })
}

extension OpenCLBackend {
    /// `x` seen as `[O, S, I]` around `axis` (negative counts from the end): `out [O, I]`, one work item per row.
    func argMax(axis: Int, _ x: OpenCLOperand, _ out: OpenCLBuffer) throws {
        let dims = x.shape.dimensions
        let axis = axis < 0 ? axis + dims.count : axis
        let inner = dims[(axis + 1)...].reduce(1, *)
        let rows = dims[..<axis].reduce(1, *) * inner
        let kernel = try kernel(KernelDescription.argMax.file, "argmax_forward")
        try launch(
            kernel, [.buffer(x.buffer), .buffer(out), .int(rows), .int(dims[axis]), .int(inner)], global: [rows],
            preferredLocal: Self.reduceLocal)
    }
}
