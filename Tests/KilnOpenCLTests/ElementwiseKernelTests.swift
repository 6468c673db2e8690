// ElementwiseKernelTests: Kernels/elementwise.cl against the CPU reference: fill, dropout masks (bit-exact),
// every unary function and its gradient, every binary function with and without broadcasting, one-hot and
// bias addition, over awkward shapes. Also holds `KernelTestShapes`, the shape generator the elementwise,
// movement, reduce and LSTM kernel tests share.
import KilnCore
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

/// Awkward shapes for kernel tests: size 1, primes, and one below / at / above the work-group sizes.
enum KernelTestShapes {
    /// Sizes for each axis of a random shape.
    static let sizes = [1, 2, 3, 7, 13, 31, 63, 64, 65, 127]
    /// Vector lengths around the work-group size the kernels use (64) and around 256.
    static let vectorLengths = [1, 7, 13, 31, 127, 63, 64, 65, 255, 256, 257]

    /// `count` shapes: first every length in `vectorLengths` as a vector, then random shapes of rank 1
    /// to `maximumRank` with at most `maximumCount` elements.
    static func shapes(
        _ count: Int, using generator: inout SeededGenerator, maximumRank: Int = 4, maximumCount: Int = 20_000
    ) -> [Shape] {
        var shapes = vectorLengths.prefix(count).map { Shape([$0]) }
        while shapes.count < count {
            shapes.append(
                randomShape(using: &generator, rank: Int.random(in: 1...maximumRank, using: &generator), maximumCount: maximumCount))
        }
        return shapes
    }

    /// A random shape of `rank` with axis sizes from `sizes` and at most `maximumCount` elements.
    static func randomShape(using generator: inout SeededGenerator, rank: Int, maximumCount: Int = 20_000) -> Shape {
        var dimensions: [Int] = []
        for _ in 0..<rank {
            var size = generator.pick(sizes)
            // Shrink this axis until the shape fits; size 1 always does.
            while dimensions.reduce(size, *) > maximumCount { size = Swift.max(1, size / 2) }
            dimensions.append(size)
        }
        return Shape(dimensions)
    }

    /// A shape that broadcasts to `shape`: some leading axes dropped (all of them gives a scalar) and
    /// some of the rest set to 1.
    static func broadcastOperand(of shape: Shape, using generator: inout SeededGenerator) -> Shape {
        let dropped = Int.random(in: 0...shape.rank, using: &generator)
        return Shape(shape.dimensions.dropFirst(dropped).map { Int.random(in: 0..<3, using: &generator) == 0 ? 1 : $0 })
    }
}

final class ElementwiseKernelTests: XCTestCase {
    /// Copies and comparisons move values without arithmetic, so they must match bit for bit.
    static let exact = Tolerance(absolute: 0, relative: 0, reason: "no arithmetic, or bit-exact by construction")

    static let unaryFunctions: [UnaryFunction] = [
        .negate, .exp, .log, .sqrt, .abs, .relu, .leakyRelu(slope: 0.1), .sigmoid, .tanh, .softplus,
    ]
    static let binaryFunctions: [BinaryFunction] = [
        .add, .subtract, .multiply, .divide, .power, .maximum, .minimum, .equal, .greater,
    ]

    /// Inputs for `function`: positive for log and sqrt; otherwise wide enough to reach both tails of
    /// sigmoid, tanh and softplus, with exact zeros to pin the kinks (relu'(0) = 0, abs'(0) = 0).
    private func unaryInput(_ function: UnaryFunction, count: Int, using generator: inout SeededGenerator) -> [Double] {
        switch function {
        case .log, .sqrt:
            return generator.values(count, in: 0.01...5)
        default:
            return generator.values(count, in: -12...12).map { Int.random(in: 0..<8, using: &generator) == 0 ? 0 : $0 }
        }
    }

    /// Operand values for `function`: exponents of positive bases for power, divisors away from 0,
    /// and few distinct values for equal / greater so that ties occur.
    private func binaryInputs(
        _ function: BinaryFunction, _ a: Shape, _ b: Shape, using generator: inout SeededGenerator
    ) -> [CaseInput] {
        switch function {
        case .power:
            return [CaseInput(a, generator.values(a.count, in: 0.1...3)), CaseInput(b, generator.values(b.count, in: -3...3))]
        case .divide:
            let divisors = generator.values(b.count, in: 0.25...4).map { Bool.random(using: &generator) ? $0 : -$0 }
            return [CaseInput(a, generator.values(a.count, in: -4...4)), CaseInput(b, divisors)]
        case .equal, .greater, .maximum, .minimum:
            let levels: [Double] = [-1, 0, 0.5, 1]
            return [
                CaseInput(a, (0..<a.count).map { _ in generator.pick(levels) }),
                CaseInput(b, (0..<b.count).map { _ in generator.pick(levels) }),
            ]
        default:
            return [CaseInput(a, generator.values(a.count, in: -4...4)), CaseInput(b, generator.values(b.count, in: -4...4))]
        }
    }

    func testFill() throws {
        var generator = SeededGenerator(seed: 1)
        for shape in [Shape([])] + KernelTestShapes.shapes(24, using: &generator) {
            let value = Double(Float(Double.random(in: -100...100, using: &generator)))
            try OpenCLTestDevice.check(OpCase(.fill(value: value, shape: shape), [], tolerance: Self.exact))
        }
    }

    /// Probabilities whose keep scale 1 / (1 - p) is exact in Float, so the Double reference matches exactly.
    func testDropoutMaskMatchesReferenceExactly() throws {
        var generator = SeededGenerator(seed: 2)
        let probabilities = [0, 0.5, 0.75, 0.875, 0.9375]
        for (index, shape) in KernelTestShapes.shapes(24, using: &generator).enumerated() {
            let seed = generator.next()
            let probability = probabilities[index % probabilities.count]
            try OpenCLTestDevice.check(OpCase(.dropoutMask(probability: probability, seed: seed, shape: shape), [], tolerance: Self.exact))
        }
    }

    /// Any probability: the zeros are where the reference has them and the kept value is Float(1 / (1 - p)).
    func testDropoutMaskAnyProbabilityAndKeepRate() throws {
        let backend = try OpenCLTestDevice.require()
        let count = 100_003
        for (probability, seed) in [(0.1, UInt64(7)), (0.3, 0xDEAD_BEEF_0123_4567), (0.37, UInt64.max), (0.999, 42)] {
            let mask = try KilnTestSupport.run(.dropoutMask(probability: probability, seed: seed, shape: [count]), [], on: backend)
            let kept = Double(Float(1 / (1 - probability)))
            let mismatch = (0..<count).first { index in
                let expected = DropoutHash.uniform(seed: seed, index: index) < probability ? 0 : kept
                return mask[index] != expected
            }
            XCTAssertNil(mismatch, "p=\(probability) seed=\(seed): first mismatch at \(mismatch ?? -1)")
            // The fraction kept is binomial: within 5 standard deviations of 1 - p.
            let keptFraction = Double(mask.filter { $0 != 0 }.count) / Double(count)
            let deviation = (probability * (1 - probability) / Double(count)).squareRoot()
            XCTAssertEqual(keptFraction, 1 - probability, accuracy: 5 * deviation + 1e-9, "p=\(probability)")
            print(
                "KERNEL-ERROR op=dropout_mask case=\"keep rate p=\(probability) n=\(count)\" max_abs=0.0 max_rel=0.0 kept=\(keptFraction)")
        }
    }

    func testUnaryForward() throws {
        var generator = SeededGenerator(seed: 3)
        for function in Self.unaryFunctions {
            for shape in [Shape([])] + KernelTestShapes.shapes(22, using: &generator) {
                let x = unaryInput(function, count: shape.count, using: &generator)
                try OpenCLTestDevice.check(OpCase(.unary(function), [CaseInput(shape, x)], tolerance: .elementwise))
            }
        }
    }

    func testUnaryGradient() throws {
        var generator = SeededGenerator(seed: 4)
        for function in Self.unaryFunctions {
            for shape in [Shape([])] + KernelTestShapes.shapes(22, using: &generator) {
                let x = unaryInput(function, count: shape.count, using: &generator)
                let dy = generator.values(shape.count, in: -2...2)
                try OpenCLTestDevice.check(
                    OpCase(.unaryGradient(function), [CaseInput(shape, x), CaseInput(shape, dy)], tolerance: .elementwise))
            }
        }
    }

    /// The kinks as the design fixes them: relu'(0) = 0, abs'(0) = 0, leakyRelu'(0) = slope.
    func testUnaryGradientAtZero() throws {
        let backend = try OpenCLTestDevice.require()
        let x = CaseInput([3], [0, 0, 0])
        let dy = CaseInput([3], [1, 2, -3])
        XCTAssertEqual(try KilnTestSupport.run(.unaryGradient(.relu), [x, dy], on: backend), [0, 0, 0])
        XCTAssertEqual(try KilnTestSupport.run(.unaryGradient(.abs), [x, dy], on: backend), [0, 0, 0])
        XCTAssertEqual(try KilnTestSupport.run(.unaryGradient(.leakyRelu(slope: 0.5)), [x, dy], on: backend), [0.5, 1, -1.5])
    }

    /// Every function on operands of the output's shape (the plain kernel) and broadcast ones: missing
    /// leading axes, axes of size 1 on either side, and scalars.
    func testBinary() throws {
        var generator = SeededGenerator(seed: 5)
        for function in Self.binaryFunctions {
            for (index, shape) in KernelTestShapes.shapes(24, using: &generator).enumerated() {
                var (a, b) = (shape, shape)
                switch index % 4 {
                case 0: break
                case 1: a = KernelTestShapes.broadcastOperand(of: shape, using: &generator)
                case 2: b = KernelTestShapes.broadcastOperand(of: shape, using: &generator)
                default:
                    a = KernelTestShapes.broadcastOperand(of: shape, using: &generator)
                    b = KernelTestShapes.broadcastOperand(of: shape, using: &generator)
                }
                try OpenCLTestDevice.check(
                    OpCase(.binary(function), binaryInputs(function, a, b, using: &generator), tolerance: .elementwise))
            }
            // Shapes that only broadcast against each other, and scalar with scalar.
            for (a, b) in [([13, 1], [1, 65]), ([7, 1, 3], [31, 1]), ([], []), ([1], [64, 1, 2]), ([2, 1, 3, 1], [1, 5, 1, 7])]
                as [(Shape, Shape)]
            {
                try OpenCLTestDevice.check(
                    OpCase(.binary(function), binaryInputs(function, a, b, using: &generator), tolerance: .elementwise))
            }
        }
    }

    /// A one-element operand on either side of one of the output's shape (the scalar kernel), for every
    /// function: rank-0 and `[1, 1]` scalars, outputs of 1, primes and around the group size of 64.
    func testBinaryWithScalarOperand() throws {
        var generator = SeededGenerator(seed: 7)
        let cases: [(Shape, Shape)] = [
            ([], [128, 31]), ([7, 13], []), ([1, 1], [3, 65]), ([63], [1]), ([1], [1]), ([], [1]), ([64], [1, 1]),
        ]
        for function in Self.binaryFunctions {
            for (a, b) in cases {
                try OpenCLTestDevice.check(
                    OpCase(.binary(function), binaryInputs(function, a, b, using: &generator), tolerance: .elementwise))
            }
        }
    }

    /// Broadcasts that take the row kernels: a per-channel operand ([1, C, 1, 1] against [N, C, H, W], and
    /// [C, 1] against [C, I]) for `binary_forward_channel`, a row ([K] or [1, K] against [M, K]) for
    /// `binary_forward_row`, the small operand on either side, for every function. Row lengths are 1, primes
    /// and around the run length (128) and its multiples, so runs end early, exactly and one past.
    func testBinaryRowAndChannelBroadcast() throws {
        var generator = SeededGenerator(seed: 9)
        let run = OpenCLBackend.binaryRunLength
        let channelCases: [(Shape, Shape)] = [
            ([2, 3, 5, 7], [1, 3, 1, 1]), ([1, 7, 1, 127], [1, 7, 1, 1]), ([3, 2, 1, run], [2, 1, 1]),
            ([2, 5, run + 1], [5, 1]), ([13, run - 1], [13, 1]), ([2, 13, 2 * run + 1], [13, 1]), ([1, 2, 2 * run], [1, 2, 1]),
            ([3, 31, 2, 2], [1, 31, 1, 1]), ([2, 2, 1, 1, 3, 5], [2, 1, 1, 1, 1]),
        ]
        let rowCases: [(Shape, Shape)] = [
            ([5, 127], [127]), ([3, run], [1, run]), ([2, run + 1], [run + 1]), ([31, 1, 2 * run + 1], [2 * run + 1]),
            ([64, 3, 1, 1], [1, 3, 1, 1]), ([3, 7, 2], [7, 2]), ([1, 7, 2], [1, 1, 2]), ([2, 2], [1, 2]), ([65, 10], [10]),
        ]
        for (full, small) in channelCases {
            let layout = StridedLayout(dimensions: full.dimensions, strides: [full.strides, small.broadcastStrides(to: full)])
            let pattern = try XCTUnwrap(OpenCLBackend.rowBroadcast(layout, smallOperand: 1), "\(small) against \(full)")
            XCTAssertNotNil(pattern.channels, "\(small) against \(full) is a per-channel broadcast")
        }
        for (full, small) in rowCases {
            let layout = StridedLayout(dimensions: full.dimensions, strides: [full.strides, small.broadcastStrides(to: full)])
            let pattern = try XCTUnwrap(OpenCLBackend.rowBroadcast(layout, smallOperand: 1), "\(small) against \(full)")
            XCTAssertNil(pattern.channels, "\(small) against \(full) is a row broadcast")
        }
        // Patterns that stay on the strided kernel.
        for (full, small) in [([2, 3, 4], [2, 1, 4]), ([2, 3, 4, 5], [1, 3, 1, 5]), ([3, 4], [3, 4])] as [(Shape, Shape)] {
            let layout = StridedLayout(dimensions: full.dimensions, strides: [full.strides, small.broadcastStrides(to: full)])
            XCTAssertNil(OpenCLBackend.rowBroadcast(layout, smallOperand: 1), "\(small) against \(full)")
        }
        for function in Self.binaryFunctions {
            for (full, small) in channelCases + rowCases {
                for (a, b) in [(full, small), (small, full)] {
                    try OpenCLTestDevice.check(
                        OpCase(.binary(function), binaryInputs(function, a, b, using: &generator), tolerance: .elementwise))
                }
            }
        }
    }

    /// Power with negative bases and whole exponents: C's pow gives a finite, signed result there.
    func testPowerOfNegativeBaseWithWholeExponent() throws {
        var generator = SeededGenerator(seed: 6)
        for count in [7, 64, 65] {
            let a = generator.values(count, in: -3 ... -0.1)
            let b = (0..<count).map { _ in Double(Int.random(in: -3...4, using: &generator)) }
            try OpenCLTestDevice.check(OpCase(.binary(.power), [CaseInput([count], a), CaseInput([count], b)], tolerance: .elementwise))
        }
    }

    /// Labels as floats, including out-of-range (-1, classes, classes + 3) and non-whole (2.5) ones: zero rows.
    func testOneHot() throws {
        var generator = SeededGenerator(seed: 7)
        for (index, length) in (KernelTestShapes.vectorLengths + [2, 3, 5, 100, 1000, 4, 9, 17, 33]).enumerated() {
            let classes = [1, 2, 3, 7, 10, 13, 63, 64, 65, 127][index % 10]
            var labels = (0..<length).map { _ in Double(Int.random(in: 0..<classes, using: &generator)) }
            let invalid: [Double] = [-1, Double(classes), Double(classes + 3), 2.5, -0.5]
            for position in stride(from: index % 3, to: length, by: 5) { labels[position] = generator.pick(invalid) }
            try OpenCLTestDevice.check(OpCase(.oneHot(classes: classes), [CaseInput([length], labels)], tolerance: Self.exact))
        }
    }

    func testBiasAdd() throws {
        var generator = SeededGenerator(seed: 8)
        var shapes: [Shape] = [[1, 1], [1, 64], [65, 3], [2, 7, 13, 13], [3, 64, 1], [1, 1, 1, 257]]
        while shapes.count < 24 {
            shapes.append(KernelTestShapes.randomShape(using: &generator, rank: Int.random(in: 2...4, using: &generator)))
        }
        for shape in shapes {
            let x = generator.values(shape.count, in: -4...4)
            let bias = generator.values(shape[1], in: -4...4)
            try OpenCLTestDevice.check(OpCase(.biasAdd, [CaseInput(shape, x), CaseInput([shape[1]], bias)], tolerance: .elementwise))
        }
    }
}
