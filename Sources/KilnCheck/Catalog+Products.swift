// The products family: matmul in all four transpose combinations, rank 2 and batched rank 3, and the fused
// linear op with each activation, and the fused product times an activation's derivative (linearGradient). Sizes 1, primes, one below / at / above gemm.cl's default micro-tile (6 rows
// × 16 columns) and twice it, B rows a multiple of 4 KiB long, and products large enough to run on a packed B
// (OpenCLBackend.packedPanels; checked on sampled rows), whose B rows are off the cache lines, or with a short K and B
// rows a multiple of 2 KiB long. Tolerance `.accumulation(terms: K)`: float32 sums of K
// products in another order than the reference.
import KilnCore

extension OpCatalog {
    /// gemm.cl's default register block: the sizes around which a product's edge handling changes.
    static let gemmTile = (rows: 6, columns: 16)

    static var products: [OpCase] {
        matmuls + linear + linearGradient
    }

    /// `op(A) [M, K] · op(B) [K, N]`, batched when `batch` is non-nil; quick when small enough for an interpreter.
    static func product(m: Int, n: Int, k: Int, batch: Int? = nil, transposeA: Bool, transposeB: Bool, tier: OpCase.Tier? = nil) -> OpCase {
        let prefix = batch.map { [$0] } ?? []
        let a = Shape(prefix + (transposeA ? [k, m] : [m, k]))
        let b = Shape(prefix + (transposeB ? [n, k] : [k, n]))
        let work = (batch ?? 1) * m * n * k
        return OpCase(
            .matmul(transposeA: transposeA, transposeB: transposeB), [SeededInput(a), SeededInput(b)], tolerance: .accumulation(terms: k),
            tier: tier ?? (work <= 20_000 ? .quick : .standard))
    }

    /// `op(A) [M, K] · op(B) [K, N]` as a graph, too large for the reference's naive loops in a debug build: checked
    /// on 8 evenly spaced rows of C, computed on the reference from those rows of op(A).
    static func sampledProduct(m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool) -> OpCase {
        let rows = (0..<8).map { $0 * (m - 1) / 7 }
        let sampled: OpCase.Expectation = .sampled { inputs in
            let a = inputs[0].values
            let picked = rows.flatMap { row in (0..<k).map { transposeA ? a[$0 * m + row] : a[row * k + $0] } }
            let c = try ReferenceRun.execute(
                .matmul(transposeA: false, transposeB: transposeB), [HostTensor(picked, [rows.count, k]), inputs[1]])
            return SampledValues(values: c.values, indices: rows.flatMap { Array($0 * n..<($0 + 1) * n) })
        }
        let a: Shape = transposeA ? [k, m] : [m, k]
        let b: Shape = transposeB ? [n, k] : [k, n]
        return OpCase(
            graph: "matmul_sampled", summary: "C[\(m),\(n)] = op(A) · op(B), transposes \(transposeA), \(transposeB)",
            [SeededInput(a), SeededInput(b)], tolerance: .accumulation(terms: k), expectation: sampled,
            flops: 2 * Double(m) * Double(n) * Double(k)
        ) { tensors in [try tensors[0].matmul(tensors[1], transposeSelf: transposeA, transposeOther: transposeB)] }
    }

    private static var matmuls: [OpCase] {
        let (rows, width) = gemmTile
        let sizesM = [1, 2, rows - 1, rows, rows + 1, 2 * rows + 1, 7, 13, 31]
        let sizesN = [1, 3, width - 1, width, width + 1, 2 * width + 1, 7, 13, 31]
        let sizesK = [1, 2, 7, 13, 15, 16, 17, 31, 64]
        var random = RandomSource(seed: 0x6E44)
        var cases: [OpCase] = []
        let transposes = [(false, false), (false, true), (true, false), (true, true)]
        // Random awkward sizes, every transpose combination; the first of each combination is quick.
        for (transposeA, transposeB) in transposes {
            for index in 0..<8 {
                let (m, n, k) = (random.pick(sizesM), random.pick(sizesN), random.pick(sizesK))
                cases.append(
                    product(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, tier: index == 0 ? nil : .standard))
            }
        }
        // One below, at and above the block in every dimension.
        for (m, n, k) in [
            (rows - 1, width, 16), (rows, width, 16), (rows + 1, width, 16), (rows, width - 1, 15), (rows, width + 1, 17), (1, 1, 1),
            (rows + 1, width + 1, 1),
        ] {
            cases.append(product(m: m, n: n, k: k, transposeA: false, transposeB: false))
        }
        // Primes and larger sizes.
        cases += [
            product(m: 127, n: 31, k: 13, transposeA: false, transposeB: false),
            product(m: 31, n: 127, k: 7, transposeA: true, transposeB: false),
            product(m: 13, n: 7, k: 127, transposeA: false, transposeB: true),
            product(m: 64, n: 96, k: 200, transposeA: true, transposeB: true),
        ]
        // B with rows a multiple of 4 KiB long and at least 512 of them (rank 2, transposed, batched).
        cases += [
            product(m: 7, n: 1024, k: 512, transposeA: false, transposeB: false),
            product(m: 3, n: 1024, k: 513, transposeA: true, transposeB: true),
            product(m: 2, n: 2048, k: 512, batch: 3, transposeA: false, transposeB: false),
        ]
        // Large enough for a packed B: a one-column last panel, both operands transposed; A of 16 MiB or more (8 panels per
        // work item, the last item of each row fewer); a skinny A (67 rows, a partial last block of rows) with a long K.
        cases += [
            sampledProduct(m: 257, n: 1025, k: 1024, transposeA: true, transposeB: true),
            sampledProduct(m: 1031, n: 257, k: 4099, transposeA: false, transposeB: false),
            sampledProduct(m: 67, n: 4099, k: 1031, transposeA: false, transposeB: true),
        ]
        // Packed because B's rows are off the cache lines (N not a multiple of 16): a one-column last panel, batched with
        // a B per product, and a transposed B.
        cases += [
            product(m: 256, n: 17, k: 256, transposeA: false, transposeB: false),
            product(m: 263, n: 65, k: 300, batch: 2, transposeA: false, transposeB: false),
            product(m: 257, n: 10, k: 259, transposeA: true, transposeB: true),
        ]
        // Batched, every transpose combination.
        var batched = RandomSource(seed: 0xBA7C)
        for (transposeA, transposeB) in transposes {
            for _ in 0..<2 {
                let (m, n, k) = (batched.pick(sizesM), batched.pick(sizesN), batched.pick(sizesK))
                cases.append(product(m: m, n: n, k: k, batch: batched.pick([1, 2, 3, 5]), transposeA: transposeA, transposeB: transposeB))
            }
        }
        // Out of the block on every side, batched: the shapes the tunable variants are checked on.
        for (transposeA, transposeB) in transposes {
            cases.append(product(m: 2 * rows + 1, n: 37, k: 19, batch: 2, transposeA: transposeA, transposeB: transposeB))
        }
        // Packed for a short K because B's rows are a multiple of 2 KiB long: a dense layer's weight gradient (A
        // transposed), a partial last block of rows.
        cases.append(product(m: 259, n: 1536, k: 37, transposeA: true, transposeB: false))
        return cases
    }

    /// `activation(op(A) · op(B) + bias)` for every fusible activation and none, every transpose combination.
    private static var linear: [OpCase] {
        var random = RandomSource(seed: 31)
        let sizes = [1, 5, 7, 15, 16, 17, 31, 64, 127]
        let activations: [UnaryFunction?] = [nil] + fusibleActivations.map { $0 }
        // The last two large enough for a packed B whose rows are off the cache lines (a dense layer to 65 classes).
        let packed = [(m: 256, n: 65, k: 256), (m: 300, n: 31, k: 257)]
        return (0..<27).map { index in
            let (m, n, k) = index < 25 ? (random.pick(sizes), random.pick(sizes), random.pick(sizes)) : packed[index - 25]
            let (transposeA, transposeB) = (index % 2 == 1, index % 4 >= 2)
            let a: Shape = transposeA ? [k, m] : [m, k]
            let b: Shape = transposeB ? [n, k] : [k, n]
            return OpCase(
                .linear(transposeA: transposeA, transposeB: transposeB, activation: activations[index % activations.count]),
                [SeededInput(a), SeededInput(b), SeededInput([n])], tolerance: .accumulation(terms: k),
                tier: m * n * k <= 20_000 ? .quick : .standard)
        }
    }

    /// `op(A) · op(B) ⊙ activation'(X)` for every fusible activation, every transpose combination; X drawn from -3 to 3,
    /// where every derivative varies, one element in eight exactly 0 (the kinks' conventions); the factor is at most
    /// about 1.13 (GELU's), so the product's tolerance holds.
    /// The last two large enough for a packed B whose rows are off the cache lines, so its partial last panel takes the
    /// per-element epilogue.
    private static var linearGradient: [OpCase] {
        var random = RandomSource(seed: 37)
        let sizes = [1, 5, 7, 15, 16, 17, 31, 64, 127]
        let packed = [(m: 256, n: 65, k: 256), (m: 300, n: 31, k: 257)]
        let count = 2 * fusibleActivations.count + packed.count
        return (0..<count).map { index in
            let (m, n, k) = index < count - 2 ? (random.pick(sizes), random.pick(sizes), random.pick(sizes)) : packed[index - count + 2]
            let (transposeA, transposeB) = (index % 2 == 1, index % 4 >= 2)
            let a: Shape = transposeA ? [k, m] : [m, k]
            let b: Shape = transposeB ? [n, k] : [k, n]
            return OpCase(
                .linearGradient(
                    transposeA: transposeA, transposeB: transposeB, activation: fusibleActivations[index % fusibleActivations.count]),
                [SeededInput(a), SeededInput(b), SeededInput([m, n], .uniformWithZeros(-3...3))], tolerance: .accumulation(terms: k),
                tier: m * n * k <= 20_000 ? .quick : .standard)
        }
    }
}
