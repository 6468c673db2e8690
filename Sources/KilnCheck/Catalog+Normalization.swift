// The normalization family: batch normalisation's moments, normalisation, gradient sums and moments gradient, over
// [N, C] (one value per run), [N, C, L] and [N, C, H, W] with channels of 1 value, of fewer values than a work group
// (64), of runs that are not whole vectors of 8 (7×7, 14×14) and of long runs (28×28); a constant channel (variance
// exactly 0); moments that are the input's own or running statistics. Tolerances: `.accumulation(terms:)` over the
// values per channel for the sums; `.elementwise` for the per-element passes (a few float32 operations each).
import KilnCore

extension OpCatalog {
    static var normalization: [OpCase] {
        var random = RandomSource(seed: 61)
        let fixed: [Shape] = [
            [1, 1], [5, 3], [64, 10], [1, 3, 1, 1], [2, 3, 5, 7], [3, 2, 65], [4, 5, 7, 7], [64, 16, 14, 14], [8, 3, 28, 28],
        ]
        let shapes = fixed + (0..<10).map { index in AwkwardShapes.randomShape(using: &random, rank: 2 + index % 3) }
        var cases: [OpCase] = []
        for (index, shape) in shapes.enumerated() {
            let channels = shape[1]
            let terms = shape.count / channels
            let tier = quick(shape, index: index, count: 7)
            let x = SeededInput(shape, .uniform(-2...2))
            let ownMoments = SeededInput([2, channels], .referenceOutput(.batchMoments, inputs: [0]))
            let perChannel = SeededInput([channels], .uniform(-1.5...1.5))
            cases.append(OpCase(.batchMoments, [x], tolerance: .accumulation(terms: terms), tier: tier))
            cases.append(
                OpCase(.batchNormalize(epsilon: 1e-5), [x, ownMoments, perChannel, perChannel], tolerance: .elementwise, tier: tier))
            cases.append(
                OpCase(
                    .batchNormSums(epsilon: 1e-5), [x, ownMoments, SeededInput(shape)], tolerance: .accumulation(terms: terms), tier: tier))
            cases.append(
                OpCase(
                    .batchMomentsBackward, [x, ownMoments, SeededInput([2, channels], .uniform(-3...3))], tolerance: .elementwise,
                    tier: tier))
        }
        // Running statistics (evaluation), a larger epsilon, and a constant input, whose channels' variance is exactly 0.
        let running = SeededInput([2, 3], .uniform(0.1...2))
        cases.append(
            OpCase(
                .batchNormalize(epsilon: 1e-3), [SeededInput([4, 3, 5, 5]), running, SeededInput([3]), SeededInput([3])],
                tolerance: .elementwise, tier: .quick))
        let constant = SeededInput([6, 2, 3, 3], .levels([0.75]))
        cases.append(OpCase(.batchMoments, [constant], tolerance: .exact, tier: .quick))
        cases.append(
            OpCase(
                .batchNormalize(epsilon: 1e-5),
                [constant, SeededInput([2, 2], .referenceOutput(.batchMoments, inputs: [0])), SeededInput([2]), SeededInput([2])],
                tolerance: .elementwise, tier: .quick))
        return cases
    }
}
