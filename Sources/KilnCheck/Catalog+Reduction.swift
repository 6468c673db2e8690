// The reduction family: sum, mean and max over many axis sets (adjacent, scattered, all, none; kept dimensions
// both ways), several passes for several runs of reduced axes, contiguous rows around the vector widths of 8
// and 16, column sums in whole and partial vector blocks, long reductions that take the two-pass split; argmax along every axis with ties, NaN and infinities;
// and softmax / log-softmax along every axis with inputs up to ±80 and rows of extremes. Tolerances: `.exact`
// for max and argmax (they select); `.accumulation(terms:)` for sums and means over the reduced count, and for
// softmax over the axis.
import KilnCore

extension OpCatalog {
    static var reduction: [OpCase] {
        reductions + argMaxes + softmaxes
    }

    private static func reduce(_ reduction: Reduction, _ shape: Shape, axes: [Int], keep: Bool, quick: Bool = false) -> OpCase {
        let terms = axes.map { shape[$0] }.reduce(1, *)
        return OpCase(
            .reduce(reduction, axes: axes, keepDimensions: keep), [SeededInput(shape)],
            tolerance: reduction == .max ? .exact : .accumulation(terms: terms), tier: quick && shape.count <= 4_096 ? .quick : .standard)
    }

    private static var reductions: [OpCase] {
        var random = RandomSource(seed: 21)
        let fixed: [(Shape, [Int])] = [
            ([7, 13, 3], [0, 2]), ([2, 7, 13, 13], [0, 2, 3]), ([3, 65, 2, 64], [1, 3]), ([64, 1, 65], [0, 2]), ([13, 1, 7], [0, 2]),
            ([1, 1], [0, 1]), ([31, 4], []), ([5, 1, 3, 1], [1, 3]), ([63, 64, 3], [0, 1]),
        ]
        // Few outputs and long rows: the two-pass split into parts (and its mean divisor in the second pass).
        let long: [(Shape, [Int])] = [
            ([100_003], [0]), ([3, 5_000], [1]), ([5_000, 3], [0]), ([2, 4_099, 7], [1]), ([16, 3, 2_048], [0, 2]), ([4_096], [0]),
            ([4_097], [0]), ([1_024, 64], [0]),
        ]
        // Several passes (one per run of reduced axes) and row lengths around the vector widths of 8 and 16.
        let passes: [(Shape, [Int])] = [
            ([3, 2, 5, 3, 7], [0, 2, 4]), ([2, 3, 1, 4, 5, 2], [1, 4]), ([5, 3, 2, 7, 1, 3], [0, 1, 3, 5]), ([4, 7], [1]), ([3, 8], [1]),
            ([2, 9], [1]), ([5, 15], [1]), ([2, 16], [1]), ([3, 17], [1]), ([1, 1], [1]), ([7, 3, 33], [0, 2]), ([2, 3, 4_111], [0, 2]),
            ([9_000, 2, 3], [0, 2]),
        ]
        // Sums down columns in blocks of adjacent outputs: bias gradients ([batch, features] over the batch) with whole
        // and partial blocks, one column, and several outer rows.
        let columns: [(Shape, [Int])] = [([64, 256], [0]), ([64, 10], [0]), ([37, 1_025], [0]), ([130, 1], [0]), ([2, 41, 13], [1])]
        var cases: [OpCase] = []
        for reduction in [Reduction.sum, .mean, .max] {
            for (index, shape) in AwkwardShapes.shapes(24, using: &random).enumerated() {
                let axes = (0..<shape.rank).filter { _ in Bool.random(using: &random) }
                let picked = axes.isEmpty ? [Int.random(in: 0..<shape.rank, using: &random)] : axes
                cases.append(reduce(reduction, shape, axes: picked, keep: index % 2 == 0, quick: index < 2))
                cases.append(reduce(reduction, shape, axes: Array(0..<shape.rank), keep: index % 2 == 1, quick: index == 7))
            }
            for (index, (shape, axes)) in fixed.enumerated() {
                cases.append(reduce(reduction, shape, axes: axes, keep: true, quick: index < 3))
                cases.append(reduce(reduction, shape, axes: axes, keep: false, quick: index == 5 || index == 6))
            }
            for (index, (shape, axes)) in (long + passes + columns).enumerated() {
                cases.append(
                    reduce(reduction, shape, axes: axes, keep: false, quick: [5, 6, 8, 11, 12, 14, 17, 21, 22, 25].contains(index)))
            }
        }
        return cases
    }

    /// Every axis of awkward shapes, as a non-negative and as a negative axis, with values from 3 or 1000 levels so that
    /// rows hold ties, which the first maximum breaks; then rows of 1, 2, 7 and 13 holding NaN (larger than every
    /// number), infinities, and only −∞.
    private static var argMaxes: [OpCase] {
        var random = RandomSource(seed: 41)
        var cases: [OpCase] = []
        let shapes: [Shape] = AwkwardShapes.shapes(28, using: &random) + [[1], [1, 1], [65, 1], [1, 127], [3, 257, 2]]
        for (index, shape) in shapes.enumerated() {
            for axis in 0..<shape.rank {
                let count = random.pick([3, 1_000])
                let levels = (0..<count).map { Double($0) / Double(count) - 0.5 }
                let negative = Bool.random(using: &random)
                cases.append(
                    OpCase(
                        .argMax(axis: negative ? axis - shape.rank : axis), [SeededInput(shape, .levels(levels))], tolerance: .exact,
                        tier: quick(shape, index: index, count: 4)))
            }
        }
        for size in [1, 2, 7, 13] {
            let rows = 11
            var x = random.values(rows * size).map { Double(Float($0)) }
            for row in 0..<rows {
                switch row % 4 {
                case 0: x[row * size + Int.random(in: 0..<size, using: &random)] = .nan
                case 1: x[row * size + Int.random(in: 0..<size, using: &random)] = .infinity
                case 2: for k in 0..<size where k % 2 == 1 { x[row * size + k] = .nan }
                default: for k in 0..<size { x[row * size + k] = -.infinity }
                }
            }
            cases.append(OpCase(.argMax(axis: 1), [SeededInput([rows, size], .fixed(x))], tolerance: .exact, tier: .quick))
        }
        return cases
    }

    private static var softmaxes: [OpCase] {
        var random = RandomSource(seed: 24)
        var cases: [OpCase] = []
        for logarithm in [false, true] {
            for (index, shape) in AwkwardShapes.shapes(24, using: &random).enumerated() {
                // Every third shape has inputs up to ±80: exp overflows Float32 there unless the maximum is subtracted.
                let range = index % 3 == 0 ? -80.0...80.0 : -5.0...5.0
                for axis in 0..<shape.rank {
                    let op: Op = logarithm ? .logSoftmax(axis: axis) : .softmax(axis: axis)
                    cases.append(
                        OpCase(
                            op, [SeededInput(shape, .uniform(range))], tolerance: .accumulation(terms: shape[axis]),
                            tier: quick(shape, index: index, count: 4)))
                }
            }
        }
        // Rows of large equal values, and rows where one value dominates by 80.
        let rows: [[Double]] = [[80, 80, 80, 80], [-80, -80, -80], [80, 0, -80, 79.5], [1000, -1000], [0], [-80, 80]]
        for row in rows {
            for op in [Op.softmax(axis: 0), .logSoftmax(axis: 0)] {
                cases.append(OpCase(op, [SeededInput([row.count], .fixed(row))], tolerance: .accumulation(terms: row.count), tier: .quick))
            }
        }
        return cases
    }
}
