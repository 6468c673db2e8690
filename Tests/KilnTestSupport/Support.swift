// Shared test helpers: the catalog's types (tolerances, host tensors, seeded draws) re-exported, and the
// closeness assertion that reports the worst element, both values, the error and its ratio to the tolerance.
@_exported import KilnCheck
import KilnCore
import XCTest

/// The tests' seeded generator is the engine's own SplitMix64, so every test is reproducible.
public typealias SeededGenerator = RandomSource

/// Asserts `actual ≈ expected` within `tolerance`; on failure reports the worst element, both values, the error,
/// its ratio to the tolerance and the tolerance with its reason.
public func assertClose(
    _ actual: [Double], _ expected: [Double], _ tolerance: Tolerance, _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    let comparison = tolerance.compare(actual, expected)
    if !comparison.passed {
        XCTFail("\(message()): \(comparison); tolerance \(tolerance)", file: file, line: line)
    }
}

public func assertClose(
    _ actual: [Float], _ expected: [Float], _ tolerance: Tolerance, _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    assertClose(actual.map(Double.init), expected.map(Double.init), tolerance, message(), file: file, line: line)
}
