// Matmul family: C = op(A) . op(B) for rank 2 and batched rank 3 with Kernels/gemm.cl.
import KilnCore

extension KernelDescription {
    /// gemm.cl: the register-blocked micro-kernel and the transpose that feeds it a transposed B.
    static let gemm = KernelDescription(
        file: "gemm.cl",
        entries: ["gemm_forward", "gemm_transpose"],
        tunables: [
            KernelTunable(name: "GEMM_ROWS", defaultValue: 6, candidates: [1, 2, 4, 6, 8]),
            KernelTunable(name: "GEMM_WIDTH", defaultValue: 16, candidates: [4, 8, 16]),
        ],
        isValid: { values in
            guard let rows = values["GEMM_ROWS"], let width = values["GEMM_WIDTH"] else { return false }
            return (1...12).contains(rows) && [4, 8, 16].contains(width)
        })
}

extension OpenCLBackend {
    /// Work items per group of `gemm_forward`, `[row blocks, column blocks, batch]`. Fixed so pocl compiles
    /// the kernel once.
    static let gemmLocal = [1, 1, 1]

    func matmul(
        transposeA: Bool, transposeB: Bool, _ a: OpenCLOperand, _ b: OpenCLOperand, _ out: OpenCLBuffer, _ outShape: Shape
    ) throws {
        try matmul(transposeA: transposeA, transposeB: transposeB, a, b, out, outShape, tunables: [:])
    }

    /// `matmul` with explicit tunable values (missing ones take the description's defaults), for tuning and tests.
    func matmul(
        transposeA: Bool, transposeB: Bool, _ a: OpenCLOperand, _ b: OpenCLOperand, _ out: OpenCLBuffer, _ outShape: Shape,
        tunables: [String: Int]
    ) throws {
        let description = KernelDescription.gemm
        let defines = description.defines(tunables)
        let values = Dictionary(uniqueKeysWithValues: defines)
        guard description.isValid(values) else {
            throw OpenCLError.invalidLaunch(kernel: "gemm_forward", reason: "invalid tunables \(values)")
        }
        let rank = outShape.rank
        let batch = rank == 3 ? outShape[0] : 1
        let (m, n) = (outShape[rank - 2], outShape[rank - 1])
        let k = transposeA ? a.shape[rank - 2] : a.shape[rank - 1]

        // A transposed B^T [N, K] becomes B [K, N] in a scratch buffer, so the micro-kernel streams rows of B.
        var bBuffer = b.buffer
        if transposeB {
            let scratch = try OpenCLBuffer(context: context, byteCount: batch * k * n * MemoryLayout<Float>.size)
            let transpose = try kernel(description.file, "gemm_transpose", defines: defines)
            try launch(
                transpose, [.buffer(b.buffer), .buffer(scratch), .int(n), .int(k)], global: [n, k, batch],
                preferredLocal: [16, 16, 1])
            bBuffer = scratch
        }

        let rows = values["GEMM_ROWS"] ?? 1
        let width = values["GEMM_WIDTH"] ?? 1
        let forward = try kernel(description.file, "gemm_forward", defines: defines)
        // A[i, p] is at i * rowStride + p * columnStride: [M, K] row-major, or [K, M] when transposed.
        let (rowStride, columnStride) = transposeA ? (1, m) : (k, 1)
        try launch(
            forward,
            [.buffer(a.buffer), .buffer(bBuffer), .buffer(out), .int(m), .int(n), .int(k), .int(rowStride), .int(columnStride)],
            global: [(m + rows - 1) / rows, (n + width - 1) / width, batch],
            preferredLocal: Self.gemmLocal)
    }
}
