// The pooling family: max and average pooling (both count modes) forward and backward over random geometries
// (padding up to half the window, dilation, strides other than the window so windows overlap or leave gaps),
// windows that cannot overlap (the disjoint backward kernels), 2×2 windows at stride 2 with output widths
// around the 4 and 8 windows the fixed kernels take at a time, the course's 6×6 example, and ties, which go to
// the first maximum in row-major window order; and ONNX/PyTorch geometries: padding up to the window's extent less
// one, ceil mode, dilation in average pooling, over sizes of 1 and primes. Small whole numbers make windows hold
// ties. Tolerances:
// `.exact` for max pooling (it selects); `.accumulation(terms:)` for the averages and for gradients that add
// the dy of overlapping windows (at most KH·KW of them).
import KilnCore

extension OpCatalog {
    static var pooling: [OpCase] {
        maxPooling + averagePooling + disjointWindows + twoByTwo + poolingExamples + wideOrCeilPooling
    }

    private static func randomPooling(_ random: inout RandomSource, dilation: Bool) -> (Pooling2D, Shape, Shape) {
        while true {
            let kernel = [random.pick([1, 2, 3, 4]), random.pick([1, 2, 3, 5])]
            // Padding is at most half the window on each side.
            let padding = [kernel[0], kernel[1], kernel[0], kernel[1]].map { random.pick(Array(0...($0 / 2))) }
            let attributes = Pooling2D(
                kernel: kernel, stride: [random.pick([1, 2, 3]), random.pick([1, 2, 3])], padding: padding,
                dilation: dilation ? [random.pick([1, 2]), random.pick([1, 2])] : [1, 1], countIncludePadding: random.pick([true, false]))
            let input: Shape = [random.pick([1, 2]), random.pick([1, 3]), random.pick([1, 5, 7, 8]), random.pick([2, 6, 9, 13])]
            if let output = try? Op.maxPool2d(attributes).outputShape(for: [input]) { return (attributes, input, output) }
        }
    }

    private static var maxPooling: [OpCase] {
        var random = RandomSource(seed: 0x9001)
        return (0..<24).flatMap { index -> [OpCase] in
            let (attributes, input, output) = randomPooling(&random, dilation: true)
            let tier: OpCase.Tier = index < 4 ? .quick : .standard
            return [
                OpCase(.maxPool2d(attributes), [SeededInput(input)], tolerance: .exact, tier: tier),
                OpCase(
                    .maxPool2dBackward(attributes), [SeededInput(input), SeededInput(output)],
                    tolerance: .accumulation(terms: attributes.kernel[0] * attributes.kernel[1]), tier: tier),
            ]
        }
    }

    /// Half the cases with dilation, which average pooling defines the same way; both count modes.
    private static var averagePooling: [OpCase] {
        var random = RandomSource(seed: 0x9002)
        return (0..<24).flatMap { index -> [OpCase] in
            var (attributes, input, output) = randomPooling(&random, dilation: index % 2 == 1)
            attributes.countIncludePadding = index % 4 < 2
            let window = attributes.kernel[0] * attributes.kernel[1]
            let tier: OpCase.Tier = index < 4 ? .quick : .standard
            return [
                OpCase(.avgPool2d(attributes), [SeededInput(input)], tolerance: .accumulation(terms: window), tier: tier),
                OpCase(
                    .avgPool2dBackward(attributes, inputShape: input), [SeededInput(output)], tolerance: .accumulation(terms: window),
                    tier: tier),
            ]
        }
    }

    /// Padding anywhere below the window's extent (ONNX's rule), ceil mode in half the cases, dilation for both
    /// kinds, both count modes; inputs of 1 and prime sizes.
    private static var wideOrCeilPooling: [OpCase] {
        var random = RandomSource(seed: 0x9003)
        var cases: [OpCase] = []
        while cases.count < 4 * 24 {
            let kernel = [random.pick([1, 2, 3, 4]), random.pick([1, 2, 3, 5])]
            let dilation = [random.pick([1, 2, 3]), random.pick([1, 2])]
            let extent = (0..<2).map { (kernel[$0] - 1) * dilation[$0] + 1 }
            let padding = [extent[0], extent[1], extent[0], extent[1]].map { random.pick(Array(0..<$0)) }
            let attributes = Pooling2D(
                kernel: kernel, stride: [random.pick([1, 2, 3]), random.pick([1, 2, 4])], padding: padding, dilation: dilation,
                countIncludePadding: random.pick([true, false]), ceilMode: cases.count % 8 < 4)
            let input: Shape = [random.pick([1, 2]), random.pick([1, 3]), random.pick([1, 2, 5, 7, 11]), random.pick([1, 3, 6, 13])]
            guard let output = try? Op.maxPool2d(attributes).outputShape(for: [input]) else { continue }
            let window = kernel[0] * kernel[1]
            let tier: OpCase.Tier = cases.count < 16 ? .quick : .standard
            cases += [
                OpCase(.maxPool2d(attributes), [SeededInput(input, .levels([0, 1, 2, 3]))], tolerance: .exact, tier: tier),
                OpCase(
                    .maxPool2dBackward(attributes), [SeededInput(input, .levels([0, 1, 2, 3])), SeededInput(output)],
                    tolerance: .accumulation(terms: window), tier: tier),
                OpCase(.avgPool2d(attributes), [SeededInput(input)], tolerance: .accumulation(terms: window), tier: tier),
                OpCase(
                    .avgPool2dBackward(attributes, inputShape: input), [SeededInput(output)], tolerance: .accumulation(terms: window),
                    tier: tier),
            ]
        }
        return cases
    }

    /// Windows that cannot overlap: tiling the input (2×2 stride 2, 3×1 stride 3×1), leaving gaps (stride above
    /// the window, a remainder row or column, dilation inside a window) or reaching into the padding.
    private static var disjointWindows: [OpCase] {
        let cases: [(Pooling2D, Shape)] = [
            (Pooling2D(kernel: [2, 2]), [2, 3, 28, 28]), (Pooling2D(kernel: [2, 2]), [1, 2, 7, 9]),
            (Pooling2D(kernel: [3, 1], stride: [3, 1]), [2, 1, 9, 5]),
            (Pooling2D(kernel: [2, 2], stride: [3, 4]), [1, 3, 8, 13]),
            (Pooling2D(kernel: [2, 2], stride: [3, 3], dilation: [2, 2]), [2, 2, 7, 8]),
            (Pooling2D(kernel: [2, 2], padding: [1, 1, 1, 1]), [1, 2, 5, 6]), (Pooling2D(kernel: [1, 1]), [1, 1, 1, 1]),
        ]
        return cases.compactMap { attributes, input in
            guard let output = try? Op.maxPool2d(attributes).outputShape(for: [input]) else { return nil }
            return OpCase(
                .maxPool2dBackward(attributes), [SeededInput(input, .levels([0, 1, 2, 3])), SeededInput(output)],
                tolerance: .accumulation(terms: 1), tier: input.count <= 4_096 ? .quick : .standard)
        }
    }

    /// 2×2 windows at stride 2, forward and backward: output widths 1, around the 4 and 8 windows the fixed kernels
    /// take at a time, and primes; odd heights and widths leave a row or column no window reads.
    private static var twoByTwo: [OpCase] {
        let attributes = Pooling2D(kernel: [2, 2])
        let inputs: [Shape] = [
            [1, 1, 2, 2], [1, 1, 3, 3], [2, 3, 2, 14], [1, 2, 5, 15], [2, 1, 4, 16], [1, 3, 7, 17], [1, 1, 2, 18], [2, 2, 6, 31],
            [1, 1, 3, 32],
            [3, 1, 4, 33], [1, 2, 9, 34], [2, 5, 13, 26], [64, 2, 8, 8], [1, 1, 2, 6], [1, 2, 4, 10], [2, 1, 6, 12], [2, 3, 4, 14],
        ]
        return inputs.enumerated().flatMap { index, input -> [OpCase] in
            guard let output = try? Op.maxPool2d(attributes).outputShape(for: [input]) else { return [] }
            let x = SeededInput(input, .levels([-1.5, -0.5, 0.5, 1.5]))
            let tier: OpCase.Tier = index % 2 == 0 && input.count <= 4_096 ? .quick : .standard
            return [
                OpCase(.maxPool2d(attributes), [x], tolerance: .exact, tier: tier),
                OpCase(.maxPool2dBackward(attributes), [x, SeededInput(output)], tolerance: .accumulation(terms: 1), tier: tier),
            ]
        }
    }

    /// The course's 6×6 example, and ties: one window of equal values, overlapping 1×2 windows over [1, 9, 9, 2],
    /// and overlapping 3×3 windows over a constant input.
    private static var poolingExamples: [OpCase] {
        let image: [Double] = [3, 0, 1, 5, 1, 3, 5, 7, 3, 4, 4, 6, 7, 7, 1, 8, 3, 5, 6, 1, 7, 0, 0, 5, 0, 4, 5, 5, 7, 2, 3, 2, 0, 2, 0, 2]
        let overlapping = Pooling2D(kernel: [3, 3], stride: [1, 2], padding: [1, 1, 1, 1])
        return [
            OpCase(.maxPool2d(Pooling2D(kernel: [2, 2])), [SeededInput([1, 1, 6, 6], .fixed(image))], tolerance: .exact, tier: .quick),
            OpCase(
                .maxPool2dBackward(Pooling2D(kernel: [2, 2])),
                [SeededInput([1, 1, 2, 2], .fixed([4, 4, 4, 4])), SeededInput([1, 1, 1, 1], .fixed([1.5]))],
                tolerance: .exact, tier: .quick),
            OpCase(
                .maxPool2dBackward(Pooling2D(kernel: [1, 2], stride: [1, 1])),
                [SeededInput([1, 1, 1, 4], .fixed([1, 9, 9, 2])), SeededInput([1, 1, 1, 3], .fixed([1, 10, 100]))], tolerance: .exact,
                tier: .quick),
            OpCase(
                .maxPool2dBackward(overlapping),
                [
                    SeededInput([1, 2, 5, 5], .fixed(Array(repeating: 0.5, count: 50))),
                    SeededInput([1, 2, 5, 3], .fixed((0..<30).map(Double.init))),
                ],
                tolerance: .accumulation(terms: 9), tier: .quick),
        ]
    }
}
