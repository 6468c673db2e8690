// Tolerance: how far a device's result may lie from the reference backend's in Double, with the reason for
// the bound, and the comparison that finds the worst element. The one tolerance type of the kernel tests,
// the bench and `kiln check`.

/// The error a result may have against the reference (`ReferenceBackend<Double>`), and why.
public struct Tolerance: Hashable, Sendable, CustomStringConvertible {
    /// How the allowed error of one element is computed.
    public enum Bound: Hashable, Sendable {
        /// Each element on its own: `|actual − expected| ≤ absolute + relative · |expected|`.
        case elementwise(absolute: Double, relative: Double)
        /// Against the whole output's scale: `|actual − expected| ≤ normwise · max |expected|`. For outputs
        /// that are sums of many products, whose elements near zero carry the cancellation of large terms.
        case normwise(Double)
    }

    public let bound: Bound
    public let reason: String

    /// An elementwise tolerance: `|actual − expected| ≤ absolute + relative · |expected|`.
    public init(absolute: Double, relative: Double, reason: String) {
        bound = .elementwise(absolute: absolute, relative: relative)
        self.reason = reason
    }

    /// A normwise tolerance: `|actual − expected| ≤ normwise · max |expected|` over the output.
    public init(normwise: Double, reason: String) {
        bound = .normwise(normwise)
        self.reason = reason
    }

    public var description: String {
        switch bound {
        case .elementwise(let absolute, let relative): "atol \(absolute) + rtol \(relative) (\(reason))"
        case .normwise(let fraction): "\(fraction) of the largest |expected| (\(reason))"
        }
    }

    /// The error allowed at an element whose reference value is `expected`, in an output whose largest
    /// `|expected|` is `scale`.
    public func allowedError(expected: Double, scale: Double) -> Double {
        switch bound {
        case .elementwise(let absolute, let relative): absolute + relative * Swift.abs(expected)
        case .normwise(let fraction): fraction * scale
        }
    }

    /// Compares `actual` with `expected` element by element and reports the worst element: the one whose
    /// error is the largest multiple of what it is allowed.
    public func compare(_ actual: [Double], _ expected: [Double]) -> Comparison {
        guard actual.count == expected.count else {
            return Comparison(
                count: actual.count, expectedCount: expected.count, worst: nil, maxAbsoluteError: .infinity, maxRelativeError: .infinity)
        }
        let scale = expected.reduce(0) { $1.isFinite ? Swift.max($0, Swift.abs($1)) : $0 }
        var worst: WorstElement?
        var maxAbsolute = 0.0
        var maxRelative = 0.0
        for index in expected.indices {
            let element = WorstElement(
                index: index, actual: actual[index], expected: expected[index],
                allowed: allowedError(expected: expected[index], scale: scale))
            maxAbsolute = Swift.max(maxAbsolute, element.error)
            // Relative errors of elements far below the output's scale are cancellation noise of a sum.
            if Swift.abs(expected[index]) >= 1e-3 * scale, expected[index] != 0 {
                maxRelative = Swift.max(maxRelative, element.error / Swift.abs(expected[index]))
            }
            if element.ratio > worst?.ratio ?? -1 { worst = element }
        }
        return Comparison(
            count: actual.count, expectedCount: expected.count, worst: worst, maxAbsoluteError: maxAbsolute, maxRelativeError: maxRelative)
    }
}

/// One element of a comparison: where it is, both values, its error and the error it is allowed.
public struct WorstElement: Hashable, Sendable, CustomStringConvertible {
    public let index: Int
    public let actual: Double
    public let expected: Double
    /// The error the tolerance allows here.
    public let allowed: Double

    /// `|actual − expected|`: 0 where both are the same infinity or both NaN, infinite where only one is NaN.
    public var error: Double {
        if actual == expected || (actual.isNaN && expected.isNaN) { return 0 }
        let difference = Swift.abs(actual - expected)
        return difference.isNaN ? .infinity : difference
    }

    /// The error in units of the allowed error: at most 1 passes. An exact tolerance gives 0 or infinity, and so does
    /// an infinite expected value, which only itself matches.
    public var ratio: Double {
        let error = error
        if error == 0 { return 0 }
        return allowed > 0 && allowed.isFinite ? error / allowed : .infinity
    }

    public var description: String {
        "element \(index): got \(actual), expected \(expected), error \(error), allowed \(allowed) (ratio \(ratio))"
    }
}

/// The result of `Tolerance.compare`.
public struct Comparison: Hashable, Sendable, CustomStringConvertible {
    /// Values compared, and how many the reference has (they differ only when the output has the wrong size).
    public let count: Int
    public let expectedCount: Int
    /// The element with the largest error-to-tolerance ratio; nil when nothing was compared.
    public let worst: WorstElement?
    /// The largest `|actual − expected|`.
    public let maxAbsoluteError: Double
    /// The largest `|actual − expected| / |expected|` over elements whose `|expected|` is at least 1e-3 of the
    /// largest (smaller ones are cancellation noise of a sum, not a relative error).
    public let maxRelativeError: Double

    /// The worst error-to-tolerance ratio: at most 1 passes; infinite for an output of the wrong size.
    public var ratio: Double {
        guard count == expectedCount else { return .infinity }
        return worst?.ratio ?? 0
    }

    public var passed: Bool { ratio <= 1 }

    public var description: String {
        guard count == expectedCount else { return "\(count) values, the reference has \(expectedCount)" }
        return worst.map { "worst \($0)" } ?? "no values"
    }
}

extension Tolerance {
    /// Copies, selections and comparisons: no arithmetic, so bit for bit.
    public static let exact = Tolerance(absolute: 0, relative: 0, reason: "no arithmetic: copies, selections and comparisons are exact")

    /// Float32 elementwise math: a few ulps from another order of operations or a device's exp, log or tanh.
    public static let elementwise = Tolerance(
        absolute: 1e-6, relative: 1e-5, reason: "float32 elementwise; device exp/log/tanh may differ by a few ulps")

    /// A float32 sum of `terms` products, elementwise: rounding grows like √terms · ε per term in practice;
    /// 1e-4 relative covers sums of up to 10⁴ terms.
    public static func accumulation(terms: Int) -> Tolerance {
        Tolerance(
            absolute: 1e-6 * Swift.max(1, Double(terms).squareRoot()), relative: 1e-4,
            reason: "float32 sum of \(terms) terms in another order than the reference")
    }

    /// A float32 sum of `terms` products, normwise: a few ulps times √terms of the output's scale in practice;
    /// the bound leaves a hundredfold margin over that. For large outputs whose small elements are cancellations.
    public static func normwiseAccumulation(terms: Int) -> Tolerance {
        Tolerance(
            normwise: Swift.max(1e-5, 1e-6 * Double(terms).squareRoot()),
            reason: "float32 sums of \(terms) products, in another order than the reference")
    }

    /// Values selected, not computed (max pooling and its gradient), normwise: float32 rounding of the inputs only.
    public static let selection = Tolerance(normwise: 1e-6, reason: "selection only (max pooling): float32 rounding of the inputs")

    /// A whole training step (forward, backward, update) chains many sums; ReLU kinks near zero can flip
    /// between float32 and double, so the bound is looser.
    public static let trainingStep = Tolerance(
        normwise: 2e-3, reason: "float32 forward, backward and update chained; relu kinks may flip near zero")

    /// Central differences in Double with ε = 1e-6: truncation error ~ε²·f''' and rounding ~1e-16/ε ≈ 1e-10.
    public static let finiteDifference = Tolerance(absolute: 1e-6, relative: 1e-5, reason: "central differences in Double, ε = 1e-6")
}
