// Reference argmax: the first maximum along an axis, as a float index, against hand-computed rows:
// ties, NaN, negative axes, a size-1 axis, and an inner axis.

import KilnCore
import KilnReference
import KilnTestSupport
import XCTest

final class ReferenceArgMaxTests: XCTestCase {
    func testFirstMaximumOfEachRow() throws {
        // Rows [3, 1, 3, 2] (tie: the first 3 wins), [-5, -2, -9, -2] and [0, 0, 0, 7].
        let x = HostTensor([3, 1, 3, 2, -5, -2, -9, -2, 0, 0, 0, 7], [3, 4])
        let y = try evaluate(.argMax(axis: 1), [x])
        XCTAssertEqual(y.shape, [3])
        XCTAssertEqual(y.values, [0, 1, 3])
        XCTAssertEqual(try evaluate(.argMax(axis: -1), [x]).values, [0, 1, 3])
    }

    func testAlongTheFirstAndAnInnerAxis() throws {
        // x[i, j, k] = values below, shape [2, 3, 2]; along axis 1 each (i, k) column of three.
        let x = HostTensor([1, 9, 4, 2, 4, 8, 7, 0, 7, 5, 6, 5], [2, 3, 2])
        let alongMiddle = try evaluate(.argMax(axis: 1), [x])
        XCTAssertEqual(alongMiddle.shape, [2, 2])
        // (0, k=0): 1, 4, 4 -> 1; (0, k=1): 9, 2, 8 -> 0; (1, k=0): 7, 7, 6 -> 0; (1, k=1): 0, 5, 5 -> 1.
        XCTAssertEqual(alongMiddle.values, [1, 0, 0, 1])
        XCTAssertEqual(try evaluate(.argMax(axis: -2), [x]).values, alongMiddle.values)
        // Along axis 0: pairs (x[0, j, k], x[1, j, k]).
        XCTAssertEqual(try evaluate(.argMax(axis: 0), [x]).values, [1, 0, 1, 1, 1, 0])
    }

    func testSizeOneAxisAndVector() throws {
        XCTAssertEqual(try evaluate(.argMax(axis: 1), [HostTensor([4, -1, 2], [3, 1])]).values, [0, 0, 0])
        let vector = try evaluate(.argMax(axis: 0), [HostTensor([2, 5, 5, -1, 4], [5])])
        XCTAssertEqual(vector.shape, [])
        XCTAssertEqual(vector.values, [1])
    }

    /// NaN counts as larger than every number: the first NaN of a row wins, also over an infinity.
    func testNaNWins() throws {
        let nan = Double.nan
        let x = HostTensor([1, nan, 3, nan, .infinity, 2, nan, 0, nan, nan, 1, 1, -.infinity, -.infinity, -.infinity, -.infinity], [4, 4])
        XCTAssertEqual(try evaluate(.argMax(axis: 1), [x]).values, [1, 2, 0, 0])
    }
}
