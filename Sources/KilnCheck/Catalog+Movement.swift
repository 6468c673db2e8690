// The movement family: broadcast (with the row fast paths: a value per row, a row copied into every row),
// transpose (every permutation of ranks 1 to 3, random ones up to rank 6), slice, pad and concatenate along
// every axis, and rank-7 copies that merge down to six axes, over awkward shapes. Tolerance `.exact`: copies.
import KilnCore

extension OpCatalog {
    static var movement: [OpCase] {
        broadcast + transpose + slice + pad + concatenate + rankSeven
    }

    /// A copy case; in the quick set when `quick` and it has at most 4096 elements.
    private static func copy(_ op: Op, _ shapes: [Shape], quick: Bool) -> OpCase {
        let outputs = (try? op.outputShape(for: shapes))?.count ?? 0
        let tier: OpCase.Tier = quick && outputs <= 4_096 ? .quick : .standard
        return OpCase(op, shapes.map { SeededInput($0, .uniform(-10...10)) }, tolerance: .exact, tier: tier)
    }

    /// Missing leading axes, axes of size 1 and a scalar source; then the row fast paths with rows and runs of 1,
    /// primes and around the 128-element run, and batch norm's per-channel shape.
    private static var broadcast: [OpCase] {
        var random = RandomSource(seed: 11)
        var cases: [(source: Shape, target: Shape)] = AwkwardShapes.shapes(24, using: &random).enumerated().map { index, target in
            (index == 0 ? Shape([]) : AwkwardShapes.broadcastOperand(of: target, using: &random), target)
        }
        cases += [([1, 1, 4], [3, 1, 4]), ([3, 1, 7, 1], [2, 3, 5, 7, 2])]
        for inner in [1, 2, 7, 127, 128, 129, 257] {
            for (outer, channels) in [(1, 3), (2, 1), (5, 13), (3, 2)] {
                cases.append(([1, channels, 1], [outer, channels, inner]))
            }
            cases.append(([11, 1], [11, inner]))
            for rows in [1, 2, 13] {
                cases.append(([1, inner], [rows, inner]))
            }
            cases.append(([inner], [7, inner]))
            cases.append(([], [inner]))
        }
        cases += [
            ([1, 32, 1, 1], [4, 32, 28, 28]), ([1, 5, 1, 1], [3, 5, 7, 11]), ([1, 1, 5, 1, 1], [2, 1, 5, 3, 43]),
            ([1, 1, 131], [3, 2, 131]),
            ([1, 2, 1], [1, 2, 1]),
        ]
        return cases.enumerated().map { index, pair in
            copy(.broadcast(pair.target), [pair.source], quick: [0, 1, 2, 24, 25, 26, 30, 31, 34, 35, 56, 61].contains(index))
        }
    }

    private static var transpose: [OpCase] {
        var random = RandomSource(seed: 12)
        var cases: [(Shape, [Int])] = [
            ([7], [0]), ([13, 65], [1, 0]), ([64, 64], [1, 0]), ([1, 257], [1, 0]), ([3, 7, 13], [0, 2, 1]), ([3, 7, 13], [1, 0, 2]),
            ([3, 7, 13], [1, 2, 0]), ([3, 7, 13], [2, 0, 1]), ([3, 7, 13], [2, 1, 0]), ([3, 7, 13], [0, 1, 2]),
            ([2, 3, 4, 5, 6, 7], [5, 3, 1, 0, 2, 4]),
        ]
        while cases.count < 26 {
            let rank = Int.random(in: 2...4, using: &random)
            cases.append((AwkwardShapes.randomShape(using: &random, rank: rank), Array(0..<rank).shuffled(using: &random)))
        }
        return cases.enumerated().map { index, pair in copy(.transpose(permutation: pair.1), [pair.0], quick: index < 11) }
    }

    /// Random ranges along every axis of random shapes.
    private static var slice: [OpCase] {
        var random = RandomSource(seed: 13)
        return AwkwardShapes.shapes(24, using: &random).enumerated().map { index, shape in
            let axis = Int.random(in: 0..<shape.rank, using: &random)
            let start = Int.random(in: 0..<shape[axis], using: &random)
            let length = Int.random(in: 1...(shape[axis] - start), using: &random)
            return copy(.slice(axis: axis, start: start, length: length), [shape], quick: index < 3)
        }
    }

    /// Padding before, after and on both sides of every axis.
    private static var pad: [OpCase] {
        var random = RandomSource(seed: 14)
        return AwkwardShapes.shapes(24, using: &random).enumerated().map { index, shape in
            let axis = Int.random(in: 0..<shape.rank, using: &random)
            let before = index % 3 == 1 ? 0 : Int.random(in: 1...9, using: &random)
            let after = index % 3 == 2 ? 0 : Int.random(in: 0...9, using: &random)
            return copy(.pad(axis: axis, before: before, after: after), [shape], quick: index < 3)
        }
    }

    /// One to four inputs of different sizes along every axis.
    private static var concatenate: [OpCase] {
        var random = RandomSource(seed: 15)
        return AwkwardShapes.shapes(24, using: &random, maximumCount: 5_000).enumerated().map { index, shape in
            let axis = Int.random(in: 0..<shape.rank, using: &random)
            let shapes = (0...(index % 4)).map { _ -> Shape in
                var dimensions = shape.dimensions
                dimensions[axis] = random.pick([1, 2, 7, 13, 64, 65])
                return Shape(dimensions)
            }
            return copy(.concatenate(axis: axis), shapes, quick: index < 4)
        }
    }

    /// Rank-7 copies work when the merged walk has at most six axes.
    private static var rankSeven: [OpCase] {
        [
            copy(.transpose(permutation: [0, 1, 2, 3, 4, 6, 5]), [[2, 3, 2, 1, 3, 4, 5]], quick: true),
            copy(.broadcast([2, 3, 2, 3, 2, 3, 2]), [[3, 2, 3, 1, 3, 2]], quick: true),
        ]
    }
}
