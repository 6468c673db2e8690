// Reference movement ops: broadcast, transpose, slice, pad and concatenate on small hand-checked tensors.

import KilnCore
import KilnReference
import KilnTestSupport
import XCTest

final class ReferenceMovementTests: XCTestCase {
    /// 0, 1, 2, ... in a tensor of `shape`, so each value names its own row-major position.
    private func iota(_ shape: Shape) -> HostTensor {
        HostTensor((0..<shape.count).map(Double.init), shape)
    }

    func testBroadcastRepeatsAlongSizeOneAndNewAxes() throws {
        let y = try evaluate(.broadcast([2, 2, 3]), [iota([2, 1])])
        XCTAssertEqual(y.values, [0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1])
    }

    func testTransposeOfAMatrix() throws {
        let y = try evaluate(.transpose(permutation: [1, 0]), [iota([2, 3])])
        XCTAssertEqual(y.shape, [3, 2])
        XCTAssertEqual(y.values, [0, 3, 1, 4, 2, 5])
    }

    func testTransposeOfRank3MatchesTheDefinition() throws {
        let x = iota([2, 3, 4])
        let permutation = [2, 0, 1]
        let y = try evaluate(.transpose(permutation: permutation), [x])
        XCTAssertEqual(y.shape, [4, 2, 3])
        // output[i0, i1, i2] = x at the coordinates where axis permutation[k] is ik.
        var expected: [Double] = []
        for i0 in 0..<4 {
            for i1 in 0..<2 {
                for i2 in 0..<3 {
                    var coordinates = [0, 0, 0]
                    (coordinates[permutation[0]], coordinates[permutation[1]], coordinates[permutation[2]]) = (i0, i1, i2)
                    expected.append(x.values[(coordinates[0] * 3 + coordinates[1]) * 4 + coordinates[2]])
                }
            }
        }
        XCTAssertEqual(y.values, expected)
    }

    func testSliceAlongTheMiddleAxis() throws {
        let y = try evaluate(.slice(axis: 1, start: 1, length: 2), [iota([2, 4, 2])])
        XCTAssertEqual(y.shape, [2, 2, 2])
        XCTAssertEqual(y.values, [2, 3, 4, 5, 10, 11, 12, 13])
    }

    func testPadAddsZerosAndUndoesSlice() throws {
        let x = iota([2, 3])
        let padded = try evaluate(.pad(axis: 1, before: 1, after: 2), [x])
        XCTAssertEqual(padded.shape, [2, 6])
        XCTAssertEqual(padded.values, [0, 0, 1, 2, 0, 0, 0, 3, 4, 5, 0, 0])
        XCTAssertEqual(try evaluate(.slice(axis: 1, start: 1, length: 3), [padded]).values, x.values)
    }

    func testConcatenateAlongEachAxis() throws {
        let a = iota([2, 2])
        let b = HostTensor([10, 11, 12, 13, 14, 15], [2, 3])
        let alongColumns = try evaluate(.concatenate(axis: 1), [a, b])
        XCTAssertEqual(alongColumns.shape, [2, 5])
        XCTAssertEqual(alongColumns.values, [0, 1, 10, 11, 12, 2, 3, 13, 14, 15])
        let alongRows = try evaluate(.concatenate(axis: 0), [a, HostTensor([7, 8], [1, 2]), a])
        XCTAssertEqual(alongRows.values, [0, 1, 2, 3, 7, 8, 0, 1, 2, 3])
    }
}
