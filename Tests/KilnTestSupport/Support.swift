// Shared test helpers: a seeded generator, random tensors, closeness assertions that report the worst
// element, and the tolerance table with the reason for each entry.
import Foundation
import KilnCore
import XCTest

/// The tests' seeded generator is the engine's own SplitMix64, so every test is reproducible.
public typealias SeededGenerator = RandomSource

extension RandomSource {
    /// `count` uniform values in `range`.
    public mutating func values(_ count: Int, in range: ClosedRange<Double> = -1...1) -> [Double] {
        (0..<count).map { _ in Double.random(in: range, using: &self) }
    }

    /// A random size from `sizes`.
    public mutating func pick<T>(_ sizes: [T]) -> T { sizes[Int.random(in: 0..<sizes.count, using: &self)] }
}

/// Absolute and relative tolerance: `|actual − expected| ≤ absolute + relative · |expected|`.
public struct Tolerance: CustomStringConvertible {
    public let absolute: Double
    public let relative: Double
    public let reason: String

    public init(absolute: Double, relative: Double, reason: String) {
        self.absolute = absolute
        self.relative = relative
        self.reason = reason
    }

    public var description: String { "atol \(absolute), rtol \(relative) (\(reason))" }

    /// Float32 elementwise math: a few ulps from a different order of operations or a device's exp/log.
    public static let elementwise = Tolerance(
        absolute: 1e-6, relative: 1e-5, reason: "float32 elementwise; device exp/log/tanh may differ by a few ulps")
    /// Float32 sums of `k` products: rounding grows like √k·ε per term in practice; 1e-4 relative covers k ≤ 10⁴.
    public static func accumulation(terms: Int) -> Tolerance {
        Tolerance(
            absolute: 1e-5 * Swift.max(1, Double(terms).squareRoot()) / 10, relative: 1e-4,
            reason: "float32 sum of \(terms) terms in a different order than the reference")
    }
    /// Central differences in Double with ε = 1e-6: truncation error ~ε²·f''' and rounding ~1e-16/ε ≈ 1e-10.
    public static let finiteDifference = Tolerance(
        absolute: 1e-6, relative: 1e-5, reason: "central differences in Double, ε = 1e-6")
}

/// Worst element of a comparison, for the failure message and for reporting.
public struct Comparison {
    public var worstIndex = -1
    public var worstExcess = 0.0
    public var maxAbsoluteError = 0.0
    public var maxRelativeError = 0.0
}

/// Compares element by element and returns the worst excess over the tolerance.
public func compare(_ actual: [Double], _ expected: [Double], _ tolerance: Tolerance) -> Comparison {
    var result = Comparison()
    for index in 0..<Swift.min(actual.count, expected.count) {
        let error = Swift.abs(actual[index] - expected[index])
        let excess = error - (tolerance.absolute + tolerance.relative * Swift.abs(expected[index]))
        result.maxAbsoluteError = Swift.max(result.maxAbsoluteError, error.isNaN ? .infinity : error)
        result.maxRelativeError = Swift.max(result.maxRelativeError, error / Swift.max(Swift.abs(expected[index]), 1e-6))
        if excess > result.worstExcess || excess.isNaN || result.worstIndex < 0 {
            result.worstIndex = index
            result.worstExcess = excess.isNaN ? .infinity : excess
        }
    }
    return result
}

/// Asserts `actual ≈ expected` elementwise; on failure reports the worst element, both values and the tolerance.
public func assertClose(
    _ actual: [Double], _ expected: [Double], _ tolerance: Tolerance, _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    guard actual.count == expected.count else {
        XCTFail("\(message()): \(actual.count) values, expected \(expected.count)", file: file, line: line)
        return
    }
    let result = compare(actual, expected, tolerance)
    if result.worstIndex >= 0, result.worstExcess > 0 {
        let i = result.worstIndex
        XCTFail(
            "\(message()): worst element \(i): got \(actual[i]), expected \(expected[i]), error \(Swift.abs(actual[i] - expected[i])); "
                + "tolerance \(tolerance)", file: file, line: line)
    }
}

public func assertClose(
    _ actual: [Float], _ expected: [Float], _ tolerance: Tolerance, _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    assertClose(actual.map(Double.init), expected.map(Double.init), tolerance, message(), file: file, line: line)
}

/// One input of an op case: its shape and values.
public struct CaseInput {
    public var shape: Shape
    public var values: [Double]
    public init(_ shape: Shape, _ values: [Double]) {
        self.shape = shape
        self.values = values
    }
}

/// One op on concrete inputs: the unit the kernel tests (and the bench) run on each backend.
public struct OpCase: CustomStringConvertible {
    public var op: Op
    public var inputs: [CaseInput]
    public var tolerance: Tolerance
    public init(_ op: Op, _ inputs: [CaseInput], tolerance: Tolerance) {
        self.op = op
        self.inputs = inputs
        self.tolerance = tolerance
    }
    public var description: String { "\(op.name) \(inputs.map(\.shape.description).joined(separator: " "))" }
}

/// Runs `op` once on `backend` directly (no graph) and reads the result.
public func run(_ op: Op, _ inputs: [CaseInput], on backend: any Backend) throws -> [Double] {
    let operands = try inputs.map { input in
        let storage = try backend.allocate(count: input.shape.count)
        try backend.write(input.values, to: storage)
        return Operand(storage: storage, shape: input.shape)
    }
    let shape = try op.outputShape(for: inputs.map(\.shape))
    let output = try backend.allocate(count: shape.count)
    try backend.execute(op, inputs: operands, output: output, outputShape: shape)
    return try backend.readDoubles(output)
}
