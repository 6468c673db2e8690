// Matmul family: C = op(A) . op(B) for rank 2 and batched rank 3 with Kernels/gemm.cl (or gemm_tiled.cl, see
// OpenCLBackend+TiledGemm.swift).
import KilnCore

extension KernelDescription {
    /// gemm.cl: the register-blocked micro-kernel (directly or on a packed B) and the tiled transpose that feeds it
    /// transposed operands.
    static let gemm = KernelDescription(
        file: "gemm.cl",
        entries: ["gemm_forward", "gemm_pack_b", "gemm_forward_packed", "gemm_forward_dot", "gemm_transpose"],
        tunables: [
            KernelTunable(name: "GEMM_ROWS", defaultValue: 6, candidates: [1, 2, 4, 6, 8]),
            KernelTunable(name: "GEMM_WIDTH", defaultValue: 16, candidates: [4, 8, 16]),
            KernelTunable(name: "GEMM_TILE", defaultValue: 8, candidates: [1, 4, 8, 16]),
            KernelTunable(name: "GEMM_PAIRED", defaultValue: 0, candidates: [0, 1]),
            KernelTunable(name: "GEMM_DOT_WIDTH", defaultValue: 8, candidates: [8, 16]),
        ],
        isValid: { values in
            guard let rows = values["GEMM_ROWS"], let width = values["GEMM_WIDTH"], let tile = values["GEMM_TILE"],
                let paired = values["GEMM_PAIRED"], let dotWidth = values["GEMM_DOT_WIDTH"]
            else { return false }
            return (1...12).contains(rows) && [4, 8, 16].contains(width) && (1...16).contains(tile) && (0...1).contains(paired)
                && [8, 16].contains(dotWidth)
        })

    /// Tunable values a device takes by its preferred float vector width unless it was tuned, by kernel file:
    /// gemm_forward's work items take two column blocks and gemm_forward_packed's walk their panels in pairs
    /// (`GEMM_PAIRED`) where a row's 16 accumulators are one register, so a work item keeps 2 × GEMM_ROWS of them and
    /// loads each value of A once for two fmas. On pocl with AVX-512
    /// (AMD EPYC, Zen 5, 2026-12-07, `kiln bench`, three interleaved runs) that took SGEMM from 280 to 345 GFLOP/s at
    /// 256³, 340 to 440 at 512³, 355 to 470 at 1024³ and 330 to 420 at 2048³ (the FMA peak of the 2 cores is 537): six
    /// accumulators are fewer than the fma units' two per cycle times their four cycles of latency. With 8-wide
    /// registers each row already takes two and the pairs would need 24 of the 16 registers.
    static func deviceDefaults(vectorWidth: Int) -> [String: [String: Int]] {
        [gemm.file: ["GEMM_PAIRED": vectorWidth >= 16 ? 1 : 0, "GEMM_DOT_WIDTH": vectorWidth >= 16 ? 16 : 8]]
    }
}

extension OpenCLBackend {
    /// Work items per group of `gemm_forward`, `[row blocks, column blocks, batch]`. Fixed so pocl compiles
    /// the kernel once. On pocl (2 cores) groups of 1, 4 or 16 work items ran within noise of each other; one
    /// item per group gives the finest load balance for small products.
    static let gemmLocal = [1, 1, 1]

    func matmul(
        transposeA: Bool, transposeB: Bool, _ a: OpenCLOperand, _ b: OpenCLOperand, _ out: OpenCLBuffer, _ outShape: Shape
    ) throws {
        try matmul(transposeA: transposeA, transposeB: transposeB, a, b, out, outShape, tunables: [:])
    }

    /// `matmul` with a per-column bias and an activation in the same launch (the `linear` op).
    func matmul(
        transposeA: Bool, transposeB: Bool, _ a: OpenCLOperand, _ b: OpenCLOperand, _ out: OpenCLBuffer, outShape: Shape,
        columnBias: OpenCLOperand, activation: UnaryFunction?
    ) throws {
        try matmul(
            transposeA: transposeA, transposeB: transposeB, a, b, out, outShape, tunables: [:], bias: .columns(columnBias.buffer),
            activation: activation)
    }

    /// `matmul` times `activation`'s derivative at `x` (laid out as the product) in the same launch (the
    /// `linearGradient` op).
    func matmul(
        transposeA: Bool, transposeB: Bool, _ a: OpenCLOperand, _ b: OpenCLOperand, _ out: OpenCLBuffer, outShape: Shape,
        derivativeOf activation: UnaryFunction, at x: OpenCLOperand
    ) throws {
        try matmul(
            transposeA: transposeA, transposeB: transposeB, a, b, out, outShape, tunables: [:],
            derivative: GemmDerivative(function: activation, input: x.buffer))
    }

    /// `matmul` with explicit tunable values (missing ones take the device's tuned values, else the defaults), for tuning and tests.
    func matmul(
        transposeA: Bool, transposeB: Bool, _ a: OpenCLOperand, _ b: OpenCLOperand, _ out: OpenCLBuffer, _ outShape: Shape,
        tunables: [String: Int], bias: GemmBias = .none, activation: UnaryFunction? = nil, derivative: GemmDerivative? = nil
    ) throws {
        let description = KernelDescription.gemm
        let defines = tunedDefines(description, tunables)
        let values = Dictionary(uniqueKeysWithValues: defines)
        guard description.isValid(values) else {
            throw OpenCLError.invalidLaunch(kernel: "gemm_forward", reason: "invalid tunables \(values)")
        }
        let rank = outShape.rank
        let batch = rank == 3 ? outShape[0] : 1
        let (m, n) = (outShape[rank - 2], outShape[rank - 1])
        let k = transposeA ? a.shape[rank - 2] : a.shape[rank - 1]

        // A transposed B goes to gemm.cl as it is (packed straight from B^T, one pass as a transpose would be, or read
        // in place by the dot-product kernel) unless the tiled kernel, which reads B as it is, runs the product. A
        // transposed A is read in place by gemm.cl's micro-kernel where `readsTransposedA` picks the product, else first
        // transposed into a scratch buffer (O(MK) work), as it is for the tiled and the dot-product kernels, which read
        // rows of A.
        let onGemmKernels = !(gemmVariant == .tiled && tunables.isEmpty)
        let readsTransposedB = transposeB && onGemmKernels
        let aInPlace =
            transposeA && onGemmKernels && !(readsTransposedB && dotProductForm(m, n, k)) && self.readsTransposedA(m, n, k)
        let aBuffer =
            transposeA && !aInPlace
            ? try transposed(a.buffer, rows: k, columns: m, batch: batch, into: .transposedA, defines: defines) : a.buffer
        let bBuffer =
            transposeB && !readsTransposedB
            ? try transposed(b.buffer, rows: n, columns: k, batch: batch, into: .transposedB, defines: defines) : b.buffer

        try gemm(
            a: aBuffer, aTransposed: aInPlace, aBatchStride: m * k, b: bBuffer, bBatchStride: k * n,
            bTransposed: readsTransposedB, c: out, cBatchStride: m * n, m: m, n: n, k: k, batch: batch, bias: bias,
            activation: activation, derivative: derivative, tunables: tunables)
    }

    /// `C[z] = activation(A[z] . B[z] + bias)` (times `derivative`'s factor when given) for `z < batch`, with A [M, K]
    /// (stored as A^T [K, M] when `aTransposed`), B [K, N] (stored as B^T [N, K] when `bTransposed`) and C [M, N]
    /// row-major at the given batch strides (0 shares a matrix across the batch): gemm_tiled.cl when `gemmVariant` is
    /// `.tiled`, no gemm.cl `tunables` are given and neither operand is transposed (and a tile configuration fits the
    /// device), else gemm.cl's `gemm_forward`, or its packed kernels for the products `packedPanels` picks and every
    /// other `bTransposed` one (the tiled kernel does not take a transposed B), or its dot-product kernel for the
    /// `bTransposed` ones `dotProductForm` picks whose A is not transposed.
    func gemm(
        a: OpenCLBuffer, aTransposed: Bool = false, aBatchStride: Int, b: OpenCLBuffer, bBatchStride: Int, bTransposed: Bool = false,
        c: OpenCLBuffer, cBatchStride: Int, m: Int, n: Int, k: Int, batch: Int, bias: GemmBias = .none,
        activation: UnaryFunction? = nil, derivative: GemmDerivative? = nil, tunables: [String: Int] = [:]
    ) throws {
        let epilogue = Self.epilogueArguments(bias: bias, activation: activation, derivative: derivative, unused: a)
        // Element (i, p) of A is at i * rowStride + p * step.
        let aStrides: [KernelArgument] = aTransposed ? [.int(1), .int(m)] : [.int(k), .int(1)]
        if gemmVariant == .tiled, tunables.isEmpty, !bTransposed, !aTransposed,
            try tiledGemm(
                a: a, aBatchStride: aBatchStride, b: b, bBatchStride: bBatchStride, c: c, cBatchStride: cBatchStride, m: m, n: n,
                k: k, batch: batch, epilogue: epilogue)
        {
            return
        }
        let description = KernelDescription.gemm
        let defines = tunedDefines(description, tunables)
        let values = Dictionary(uniqueKeysWithValues: defines)
        let rows = values["GEMM_ROWS"] ?? 1
        // Columns per work item of gemm_forward: one column block, or two with GEMM_PAIRED.
        let columns = (values["GEMM_WIDTH"] ?? 1) * (1 + (values["GEMM_PAIRED"] ?? 0))
        if bTransposed, !aTransposed, dotProductForm(m, n, k) {
            let dotRows = Self.dotRows(width: values["GEMM_DOT_WIDTH"] ?? 8)
            try launch(
                try kernel(description.file, "gemm_forward_dot", defines: defines),
                [
                    .buffer(a), .buffer(b), .buffer(c), .int(m), .int(n), .int(k), .int(aBatchStride), .int(bBatchStride),
                    .int(cBatchStride),
                ] + epilogue,
                global: [(m + dotRows - 1) / dotRows, (n + Self.dotColumns - 1) / Self.dotColumns, batch],
                preferredLocal: Self.gemmLocal)
            return
        }
        // A transposed B that the rule leaves direct is packed all the same (the direct kernel reads rows of B), a panel
        // per work item, or a pair of them where panels go in pairs.
        let paired = values["GEMM_PAIRED"] == 1
        if let panelsPerItem = packedPanels(m, n, k, paired) ?? (bTransposed ? (paired ? 2 : 1) : nil) {
            try packedGemm(
                a: a, aStrides: aStrides, aBatchStride: aBatchStride, b: b, bBatchStride: bBatchStride, bTransposed: bTransposed, c: c,
                cBatchStride: cBatchStride, m: m, n: n, k: k, batch: batch, epilogue: epilogue, defines: defines,
                panelsPerItem: panelsPerItem)
            return
        }
        try launch(
            try kernel(description.file, "gemm_forward", defines: defines),
            [.buffer(a), .buffer(b), .buffer(c), .int(m), .int(n), .int(k)] + aStrides
                + [.int(aBatchStride), .int(bBatchStride), .int(cBatchStride)] + epilogue,
            global: [(m + rows - 1) / rows, (n + columns - 1) / columns, batch],
            preferredLocal: Self.gemmLocal)
    }

    /// Whether `gemm` runs an `m` x `k` x `n` product on B packed into column panels (gemm.cl's gemm_pack_b and
    /// gemm_forward_packed), and if so how many panels one work item walks; nil for the direct kernel. Packed when A
    /// has at least 256 rows and K is at least 256, so the pass packing B costs under about 3% of the product (pocl:
    /// 0.3 ms against 10 ms at 1024^3): a work item of the direct kernel walks a panel of B one row (N floats) apart
    /// per step, and when N·4 bytes is a multiple of a large power of two the K lines of its panel fall in a few cache
    /// sets and keep evicting each other (pocl, AMD EPYC with AVX2, 2026-12-07, packed against direct: 512^3 1.60-1.65
    /// ms against 2.09-2.12, the char-LSTM's 1024×256×2048 6.2-6.4 against 9.0-9.5, 1024×64×2048 1.5-1.9 against
    /// 2.0-2.1, 512×512×256 0.87-0.99 against 1.12-1.14; 256×1024×256 and 1024×128×1024 within the rounds' spread;
    /// earlier, on AVX-512, B of 2^20 floats or rows off the cache lines, N not a multiple of 16: 1024×65×2048 100-104
    /// -> 150-161 GFLOP/s). Skinny products (64 to 255 rows) are packed too when K and N are both at least 1024: the
    /// packing then costs up to a third of the product, but the direct kernel's long panel walks ran at a quarter to
    /// two thirds of its speed (pocl, 2026-12-06: 64×1024×1024 117 -> 165 GFLOP/s, 64×2048×2048 50 -> 116,
    /// 64×4096×4096 31 -> 104); with a short K (the convolutions' 64×12544×576: 184 against 109) or a narrow B
    /// (64×512×2048: 190 against 176) the direct kernel stays faster. Tall products with a short K (32 to 255: a dense
    /// layer's weight gradient, a rank-K update) are packed when B's rows are a multiple of 2 KiB apart and at least 1024
    /// long, the aliasing case: packing plus product against the direct kernel (pocl, AMD EPYC with AVX2, 2026-12-07,
    /// back to back in a C harness) 1024×1024×64 0.85, 1024×3072×64 0.70, 4096×4096×64 0.63, 256×1024×64 0.90,
    /// 1024×1536×64 0.85, 1024×1024×128 0.77; with rows off those multiples 1.00-1.15 (1024×3136×64 1.00, 1024×1200×64
    /// 1.06, the MLP's 256×784×64 1.10), at K 16 0.90-1.08 and at K 8 1.11. A work item of a tall product walks
    /// several panels for one block of rows, so that block's rows of A come from cache for all but the first: 8 when A
    /// is 16 MiB or more (2048^3 on pocl: 185 -> 205 GFLOP/s), else 4 (pocl, AMD EPYC with AVX2, 2026-12-07, the
    /// packed product with 4 panels against 1, a C harness, median of 20 interleaved rounds: 1024^3 0.96, 512^3 0.96,
    /// 300^3 0.85, 256^3 0.95, 1024×1024×256 0.87, 512×2048×512 0.94, 1024×1024×64 0.88, 4096×4096×64 0.91,
    /// 256×4096×1024 0.98, the char-LSTM's 1024×256×2048 1.00; 8 against 4 at 2048^3 0.96, at 1024^3 1.01). A skinny
    /// product walks 1: its B is the large operand, and one panel per item lets the next block of rows find that panel
    /// in cache (64×2048×2048 with 4: 1.10). With the panels in pairs (`paired`, GEMM_PAIRED) a tall product walks 4
    /// even for A of 16 MiB or more (pocl, AMD EPYC Zen 5 with AVX-512, 2026-12-08, `kiln profile --workload
    /// sgemm_2048`, three alternating runs: 37.3-38.3 ms with 4, 37.0-38.2 with 2, 40.1-42.5 with 8 and 41.4-41.8 with
    /// 16; 8 panels' pairs stream 1 MiB of B per block of rows, this core's whole L2), and up to 512 rows of A stay on
    /// the direct kernel unless B's rows alias or the product is skinny as above (same device, four alternating runs:
    /// 256³ 0.104-0.139 ms direct against 0.138-0.156 packed, 512³ 0.587-0.660 against 0.613-0.731; its 12 accumulators
    /// then gain more than the packing pass and its launch cost). The backend's `packedPanels` defaults to this rule.
    static func packedPanels(m: Int, n: Int, k: Int, paired: Bool = false) -> Int? {
        let aliasing = n >= 1024 && n % 512 == 0
        let tall = m >= 256 && (k >= 256 || (k >= 32 && aliasing))
        let skinny = m >= 64 && k >= 1024 && n >= 1024
        guard tall || skinny else { return nil }
        guard tall else { return 1 }
        if paired, m <= 512, !aliasing, !skinny { return nil }
        return m * k >= 1 << 22 && !paired ? 8 : 4
    }

    /// Whether `gemm` runs an `m` x `k` x `n` product with B stored as B^T on gemm.cl's gemm_forward_dot (B^T read in
    /// place, one launch) rather than packing B^T first: when A has fewer than 64 rows, or at most 128 and K is at least
    /// 256 or B^T at most 16 rows (a linear layer's forward at a small batch). Measured on pocl (AMD EPYC with AVX2,
    /// 2026-12-07, a C harness queueing each form back to back; dot-product time over packing plus packed product,
    /// median of 40 rounds) with the 3 × 4 dot-product kernel: 64 and 128 rows at K 256-4096 0.60-0.86 (the MLP's
    /// 64×256×784 and the CNN's 64×128×3136 0.76, 64×256×4096 0.60, 128×1024×3136 0.86) except 128×512×512 1.06; with
    /// 10 columns 0.59 at 64×10×128 and 0.81 at 96×10×64 (a single packed panel is then mostly padding); but with a
    /// short K and wider B 1.11-1.35 (64×128×128, 128×32×128, 64×64×64, 64×512×128, 64×1000×64), and with more rows
    /// 1.10 at 192×256×784 and 1.14 at 256×256×784 (the packing is then shared by more rows; 129×256×784 0.81). Earlier,
    /// with the 2 × 6 kernel: 16 rows 0.22-0.69 at K from 128 to 3136. The backend's `dotProductForm` defaults to this
    /// rule.
    static func dotProductForm(m: Int, n: Int, k: Int) -> Bool {
        m < 64 || (m <= 128 && (k >= 256 || n <= 16))
    }

    /// Whether `matmul` has gemm.cl's micro-kernel read a transposed A in place, A^T [K, M] through its strides, rather
    /// than transposing it first: when A has at most 256 rows. The micro-kernel then reads one run of GEMM_ROWS floats
    /// of A^T per step instead of one float from each of GEMM_ROWS rows, so a work item touches up to K cache lines of A
    /// rather than GEMM_ROWS·K/16; with A^T's rows at most 1 KiB apart those stay in cache, and the transpose's launch
    /// and pass over A are saved. Measured on pocl (AMD EPYC with AVX2, 2026-12-07, a C harness queueing both forms
    /// back to back, so without the launch's host cost; in place over transpose plus product, median of 40 rounds): the
    /// dense layers' weight gradients at batch 64 10×128×64 0.82, 128×256×64 0.99, 128×3136×64 1.02, 256×784×64
    /// 1.03-1.05; 64×64×4096 0.66, 64×256×1024 0.87, 128×128×512 0.79, 200×200×200 0.86, 256×256×256 0.93,
    /// 256×256×1024 0.99; but with more rows 512×784×64 1.07, 1000×1000×64 1.06 and 1024×1000×64 1.21 (rows of A^T 4 KiB
    /// apart fall in a few cache sets). The backend's `readsTransposedA` defaults to this rule.
    static func readsTransposedAInPlace(m: Int, n: Int, k: Int) -> Bool {
        m <= 256
    }

    /// Rows of C per work item of gemm_forward_dot at `GEMM_DOT_WIDTH` `width` (gemm.cl's GEMM_DOT_ROWS): 3 × 4
    /// accumulators fill 12 of AVX2's 16 registers; with 16 lanes 4 × 4 fill 16 of AVX-512's 32.
    static func dotRows(width: Int) -> Int {
        width == 16 ? 4 : 3
    }
    /// Columns of C per work item of gemm_forward_dot (gemm.cl's GEMM_DOT_COLUMNS).
    static let dotColumns = 4

    /// `gemm` through gemm_pack_b and gemm_forward_packed (the same result, bit for bit), each work item walking
    /// `panelsPerItem` column panels; B is read as B^T [N, K] when `bTransposed`, A through `aStrides` (its row stride
    /// and step, the kernel's `aRowStride` and `aStep`).
    func packedGemm(
        a: OpenCLBuffer, aStrides: [KernelArgument], aBatchStride: Int, b: OpenCLBuffer, bBatchStride: Int, bTransposed: Bool,
        c: OpenCLBuffer, cBatchStride: Int, m: Int, n: Int, k: Int, batch: Int, epilogue: [KernelArgument], defines: [(String, Int)],
        panelsPerItem: Int
    ) throws {
        let width = defines.first { $0.0 == "GEMM_WIDTH" }?.1 ?? 1
        let rows = defines.first { $0.0 == "GEMM_ROWS" }?.1 ?? 1
        let panels = (n + width - 1) / width
        let copies = bBatchStride == 0 ? 1 : batch
        let packedCount = panels * k * width
        let packed = try workspace(.packedB, count: copies * packedCount)
        try launch(
            try kernel(KernelDescription.gemm.file, "gemm_pack_b", defines: defines),
            [.buffer(b), .buffer(packed), .int(k), .int(n), .int(bBatchStride), .int(bTransposed ? 1 : 0)],
            global: [panels, (k + Self.packRows - 1) / Self.packRows, copies], preferredLocal: Self.gemmLocal)
        try launch(
            try kernel(KernelDescription.gemm.file, "gemm_forward_packed", defines: defines),
            [.buffer(a), .buffer(packed), .buffer(c), .int(m), .int(n), .int(k)] + aStrides
                + [.int(aBatchStride), .int(bBatchStride == 0 ? 0 : packedCount), .int(cBatchStride), .int(panelsPerItem)]
                + epilogue,
            global: [(m + rows - 1) / rows, (panels + panelsPerItem - 1) / panelsPerItem, batch], preferredLocal: Self.gemmLocal)
    }

    /// Rows of B one work item of gemm_pack_b copies (gemm.cl's GEMM_PACK_ROWS).
    static let packRows = 32

    /// `input` [batch, rows, columns] transposed into the `role` workspace as [batch, columns, rows] by `gemm_transpose`.
    func transposed(
        _ input: OpenCLBuffer, rows: Int, columns: Int, batch: Int, into role: Workspace,
        defines: [(String, Int)]? = nil
    ) throws -> OpenCLBuffer {
        let output = try workspace(role, count: batch * rows * columns)
        try transpose(input, rows: rows, columns: columns, batch: batch, into: output, defines: defines)
        return output
    }

    /// `input` [batch, rows, columns] transposed into `output` as [batch, columns, rows] by `gemm_transpose`.
    func transpose(
        _ input: OpenCLBuffer, rows: Int, columns: Int, batch: Int, into output: OpenCLBuffer, defines: [(String, Int)]? = nil
    ) throws {
        let defines = defines ?? tunedDefines(.gemm)
        let tile = defines.first { $0.0 == "GEMM_TILE" }?.1 ?? 1
        let transpose = try kernel(KernelDescription.gemm.file, "gemm_transpose", defines: defines)
        try launch(
            transpose, [.buffer(input), .buffer(output), .int(rows), .int(columns)],
            global: [(rows + tile - 1) / tile, (columns + tile - 1) / tile, batch], preferredLocal: [1, 1, 1])
    }
}

/// The factor a `linearGradient` multiplies each element of C by: `function`'s derivative at `input`'s element of the
/// same index (laid out as C).
struct GemmDerivative {
    let function: UnaryFunction
    let input: OpenCLBuffer
}

extension OpenCLBackend {
    /// The GEMM kernels' trailing epilogue arguments, in their order: bias, biasMode, activation, slope,
    /// derivativeInput, derivative. A kernel never reads a bias or derivative input it is not given; `unused` fills
    /// those slots.
    static func epilogueArguments(bias: GemmBias, activation: UnaryFunction?, derivative: GemmDerivative?, unused: OpenCLBuffer)
        -> [KernelArgument]
    {
        [
            .buffer(bias.buffer ?? unused), .int(bias.mode), .int(KernelCodes.activation(activation)),
            .float(KernelCodes.slope(activation ?? derivative?.function)), .buffer(derivative?.input ?? unused),
            .int(KernelCodes.activation(derivative?.function)),
        ]
    }
}

/// Where `gemm_forward` takes its bias from: none, one per row of C (convolution), or one per column (linear).
enum GemmBias {
    case none
    case rows(OpenCLBuffer)
    case columns(OpenCLBuffer)

    var buffer: OpenCLBuffer? {
        switch self {
        case .none: nil
        case .rows(let buffer), .columns(let buffer): buffer
        }
    }

    /// Whether the bias is one value per column of C.
    var isPerColumn: Bool {
        if case .columns = self { return true }
        return false
    }

    /// The kernel's `biasMode` argument.
    var mode: Int {
        switch self {
        case .none: 0
        case .rows: 1
        case .columns: 2
        }
    }
}
