// ToleranceTests: the one tolerance type: elementwise and normwise bounds, the worst element by its ratio to the
// tolerance, NaN and infinities, exact tolerances, and outputs of the wrong size.
import KilnTestSupport
import XCTest

final class ToleranceTests: XCTestCase {
    func testElementwiseWorstIsTheLargestRatioNotTheLargestError() {
        let tolerance = Tolerance(absolute: 0, relative: 0.1, reason: "test")
        // Errors 0.5 at |e| = 10 (ratio 0.5) and 0.2 at |e| = 1 (ratio 2).
        let comparison = tolerance.compare([10.5, 1.2, 3], [10, 1, 3])
        XCTAssertFalse(comparison.passed)
        XCTAssertEqual(comparison.worst?.index, 1)
        XCTAssertEqual(comparison.worst?.ratio ?? 0, 2, accuracy: 1e-9)
        XCTAssertEqual(comparison.maxAbsoluteError, 0.5, accuracy: 1e-12)
        XCTAssertTrue(comparison.description.contains("element 1: got 1.2, expected 1.0"), comparison.description)
    }

    func testNormwiseScalesWithTheLargestExpectedValue() {
        let tolerance = Tolerance(normwise: 1e-3, reason: "test")
        XCTAssertTrue(tolerance.compare([100, 0.05], [100, 0]).passed, "0.05 ≤ 1e-3 · 100")
        XCTAssertFalse(tolerance.compare([100, 0.2], [100, 0]).passed)
    }

    func testNaNAndInfinities() {
        let tolerance = Tolerance.elementwise
        XCTAssertTrue(tolerance.compare([.nan, .infinity], [.nan, .infinity]).passed, "the same non-finite values agree")
        let wrong = tolerance.compare([1, .nan], [1, 2])
        XCTAssertEqual(wrong.worst?.index, 1)
        XCTAssertEqual(wrong.ratio, .infinity)
        XCTAssertFalse(tolerance.compare([-.infinity], [.infinity]).passed)
    }

    func testExactToleranceHasRatioZeroOrInfinity() {
        XCTAssertEqual(Tolerance.exact.compare([1, 2], [1, 2]).ratio, 0)
        XCTAssertEqual(Tolerance.exact.compare([1, 2.000001], [1, 2]).ratio, .infinity)
    }

    func testWrongSizeFails() {
        let comparison = Tolerance.elementwise.compare([1, 2], [1, 2, 3])
        XCTAssertFalse(comparison.passed)
        XCTAssertEqual(comparison.description, "2 values, the reference has 3")
    }
}
