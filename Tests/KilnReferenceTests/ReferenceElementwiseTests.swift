// Reference elementwise ops: known values of fill, unary and binary functions (with broadcasting),
// one-hot and dropout masks, and every unary gradient against central differences.

import Foundation
import KilnCore
import KilnReference
import KilnTestSupport
import XCTest

final class ReferenceElementwiseTests: XCTestCase {
    func testFillRepeatsTheValue() throws {
        let y = try evaluate(.fill(value: 2.5, shape: [2, 3]), [])
        XCTAssertEqual(y.shape, [2, 3])
        XCTAssertEqual(y.values, [Double](repeating: 2.5, count: 6))
    }

    func testUnaryFunctionsAtKnownPoints() throws {
        let x = HostTensor([-2, -0.5, 0, 0.5, 3], [5])
        let cases: [(UnaryFunction, (Double) -> Double)] = [
            (.negate, { -$0 }),
            (.exp, { Foundation.exp($0) }),
            (.abs, { Swift.abs($0) }),
            (.relu, { Swift.max($0, 0) }),
            (.leakyRelu(slope: 0.1), { $0 > 0 ? $0 : 0.1 * $0 }),
            (.sigmoid, { 1 / (1 + Foundation.exp(-$0)) }),
            (.tanh, { Foundation.tanh($0) }),
            (.softplus, { Foundation.log(1 + Foundation.exp($0)) }),
            (.erf, { Foundation.erf($0) }),
            (.gelu, { $0 / 2 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }),
            (.geluTanh, { $0 / 2 * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) }),
            (.silu, { $0 / (1 + Foundation.exp(-$0)) }),
        ]
        for (function, expected) in cases {
            assertClose(try evaluate(.unary(function), [x]).values, x.values.map(expected), Tolerance.handComputed, "\(function)")
        }
        let positive = HostTensor([0.25, 1, 4, 9], [2, 2])
        assertClose(
            try evaluate(.unary(.log), [positive]).values, positive.values.map { Foundation.log($0) }, Tolerance.handComputed, "log")
        assertClose(try evaluate(.unary(.sqrt), [positive]).values, [0.5, 1, 2, 3], Tolerance.handComputed, "sqrt")
    }

    /// GELU at values computed independently (Python's `math.erf` and `math.tanh` in float64 on the formulas PyTorch
    /// documents for `GELU()` and `GELU(approximate="tanh")`, printed to 10 decimals), and SiLU far from 0, where
    /// `x · σ(x)` must neither overflow nor turn into NaN.
    func testGELUAndSiLUAtKnownValues() throws {
        let x = HostTensor([-3, -1, 0.5, 2], [4])
        assertClose(
            try evaluate(.unary(.gelu), [x]).values, [-0.0040496941, -0.1586552539, 0.3457312306, 1.9544997361],
            Tolerance(absolute: 1e-10, relative: 1e-9, reason: "values printed to 10 decimals"), "gelu")
        assertClose(
            try evaluate(.unary(.geluTanh), [x]).values, [-0.0036373921, -0.1588080094, 0.3457140098, 1.9545976941],
            Tolerance(absolute: 1e-10, relative: 1e-9, reason: "values printed to 10 decimals"), "gelu_tanh")
        assertClose(
            try evaluate(.unary(.silu), [HostTensor([-800, -40, 40, 800], [4])]).values, [-0.0, -40 * Foundation.exp(-40), 40, 800],
            .doubleTails, "silu")
    }

    /// Softplus and sigmoid must neither overflow nor lose precision far from 0.
    func testSoftplusAndSigmoidAreStableForLargeInputs() throws {
        let x = HostTensor([-800, -40, 40, 800], [4])
        assertClose(try evaluate(.unary(.softplus), [x]).values, [0, Foundation.exp(-40), 40, 800], .doubleTails, "softplus")
        assertClose(try evaluate(.unary(.sigmoid), [x]).values, [0, Foundation.exp(-40), 1, 1], .doubleTails, "sigmoid")
    }

    func testDerivativesAtTheKinksFollowTheDesign() throws {
        let x = HostTensor([0, 0], [2])
        let dy = HostTensor([3, 3], [2])
        XCTAssertEqual(try evaluate(.unaryGradient(.relu), [x, dy]).values, [0, 0], "relu'(0) = 0")
        XCTAssertEqual(try evaluate(.unaryGradient(.abs), [x, dy]).values, [0, 0], "abs'(0) = 0")
        XCTAssertEqual(try evaluate(.unaryGradient(.leakyRelu(slope: 0.5)), [x, dy]).values, [1.5, 1.5], "leakyRelu'(0) = slope")
    }

    func testEveryUnaryGradientMatchesCentralDifferences() throws {
        var random = SplitMix64(seed: 1)
        // Inputs stay away from the kinks of relu, abs and leakyRelu and inside the domains of log and sqrt,
        // where a central difference would straddle a corner or leave the domain.
        let awayFromZero: ClosedRange<Double> = 0.1...2
        let positive: ClosedRange<Double> = 0.1...3
        let functions: [(UnaryFunction, ClosedRange<Double>, signed: Bool)] = [
            (.negate, -2...2, false), (.exp, -2...2, false), (.log, positive, false), (.sqrt, positive, false),
            (.abs, awayFromZero, true), (.relu, awayFromZero, true), (.leakyRelu(slope: 0.2), awayFromZero, true),
            (.sigmoid, -4...4, false), (.tanh, -3...3, false), (.softplus, -5...5, false),
        ]
        for shape: Shape in [[1], [7], [3, 5]] {
            for (function, range, signed) in functions {
                var x = random.values(shape.count, in: range)
                if signed { x = x.map { Bool.random(using: &random) ? $0 : -$0 } }
                try checkGradient(
                    "\(function) \(shape)", at: x,
                    forward: { try evaluate(.unary(function), [HostTensor($0, shape)]).values },
                    vjp: { g in try evaluate(.unaryGradient(function), [HostTensor(x, shape), HostTensor(g, shape)]).values },
                    random: &random)
            }
        }
    }

    func testBinaryFunctionsBroadcast() throws {
        // [2, 1, 3] against [4, 1] broadcasts to [2, 4, 3]: out[i, j, k] = a[i, 0, k] op b[j, 0].
        let a = HostTensor((0..<6).map(Double.init), [2, 1, 3])
        let b = HostTensor([10, 20, 30, 40], [4, 1])
        let y = try evaluate(.binary(.add), [a, b])
        XCTAssertEqual(y.shape, [2, 4, 3])
        var expected: [Double] = []
        for i in 0..<2 {
            for j in 0..<4 {
                for k in 0..<3 { expected.append(a.values[i * 3 + k] + b.values[j]) }
            }
        }
        XCTAssertEqual(y.values, expected)
        // A scalar (rank 0) broadcasts against anything.
        let scalar = HostTensor([2], [])
        XCTAssertEqual(try evaluate(.binary(.multiply), [b, scalar]).values, [20, 40, 60, 80])
    }

    func testBinaryFunctionsAtKnownPoints() throws {
        let a = HostTensor([1, 4, -2, 3], [4])
        let b = HostTensor([2, 2, 3, 3], [4])
        let cases: [(BinaryFunction, [Double])] = [
            (.add, [3, 6, 1, 6]), (.subtract, [-1, 2, -5, 0]), (.multiply, [2, 8, -6, 9]), (.divide, [0.5, 2, -2.0 / 3, 1]),
            (.power, [1, 16, -8, 27]), (.maximum, [2, 4, 3, 3]), (.minimum, [1, 2, -2, 3]),
            (.equal, [0, 0, 0, 1]), (.greater, [0, 1, 0, 0]),
        ]
        for (function, expected) in cases {
            assertClose(try evaluate(.binary(function), [a, b]).values, expected, Tolerance.handComputed, "\(function)")
        }
    }

    func testOneHotGivesZeroRowsForLabelsOutOfRange() throws {
        let labels = HostTensor([2, 0, 3, -1, 1.5], [5])
        let y = try evaluate(.oneHot(classes: 3), [labels])
        XCTAssertEqual(y.shape, [5, 3])
        XCTAssertEqual(y.values, [0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    func testDropoutMaskFollowsTheSharedHash() throws {
        let (probability, seed): (Double, UInt64) = (0.3, 42)
        let y = try evaluate(.dropoutMask(probability: probability, seed: seed, shape: [10, 100]), [])
        let threshold = DropoutHash.threshold(probability: probability)
        let expected = (0..<1000).map { DropoutHash.bits(seed: seed, index: $0) < threshold ? 0 : 1 / (1 - probability) }
        XCTAssertEqual(y.values, expected)
        let dropped = Double(y.values.filter { $0 == 0 }.count) / 1000
        XCTAssertEqual(dropped, probability, accuracy: 0.05, "about 30% dropped")
        XCTAssertEqual(try evaluate(.dropoutMask(probability: 0, seed: seed, shape: [5]), []).values, [1, 1, 1, 1, 1])
    }
}
