// MovementKernelTests: which broadcasts take movement.cl's row fast paths, and the axis merging (`StridedLayout`)
// the strided kernels rely on. The copies themselves (broadcast, transpose, slice, pad, concatenate over awkward
// shapes) are catalog cases (Catalog+Movement.swift) that CatalogKernelTests runs on every device.
import KilnCore
import XCTest

@testable import KilnOpenCL

final class MovementKernelTests: XCTestCase {
    /// The selection: row patterns take the fast kernels, everything else `move_copy`.
    func testBroadcastSelection() {
        let entry = OpenCLBackend.broadcastEntry
        // A value per row.
        XCTAssertEqual(entry([1, 32, 1, 1], [64, 32, 28, 28]), "move_fill_rows")
        XCTAssertEqual(entry([1, 7, 1], [5, 7, 129]), "move_fill_rows")
        XCTAssertEqual(entry([13, 1], [13, 2]), "move_fill_rows")
        XCTAssertEqual(entry([1, 1], [3, 5]), "move_fill_rows")
        XCTAssertEqual(entry([], [257]), "move_fill_rows")
        // A row copied into every row.
        XCTAssertEqual(entry([1, 128], [64, 128]), "move_copy_rows")
        XCTAssertEqual(entry([10], [3, 10]), "move_copy_rows")
        XCTAssertEqual(entry([1, 3, 5], [2, 4, 3, 5]), "move_copy_rows")
        // Others fall back to the strided copy.
        XCTAssertEqual(entry([3, 1, 4], [3, 2, 4]), "move_copy")
        XCTAssertEqual(entry([1, 3, 1, 5], [2, 3, 4, 5]), "move_copy")
        XCTAssertEqual(entry([2, 1, 3, 1], [2, 4, 3, 5]), "move_copy")
        XCTAssertEqual(entry([], [1]), "move_copy")
        XCTAssertEqual(entry([1, 3], [0, 3]), "move_copy")
        // The pattern's sizes.
        let fill = OpenCLBackend.broadcastRows(from: [1, 32, 1, 1], to: [64, 32, 28, 28])
        XCTAssertEqual(fill?.channels, 32)
        XCTAssertEqual(fill?.inner, 784)
        let copy = OpenCLBackend.broadcastRows(from: [1, 1, 10], to: [4, 3, 10])
        XCTAssertNil(copy?.channels)
        XCTAssertEqual(copy?.inner, 10)
    }

    // MARK: StridedLayout

    func testMergingDropsUnitAxesAndJoinsContiguousOnes() {
        // A contiguous [2, 3, 4] copy is one axis of 24.
        let contiguous = StridedLayout(dimensions: [2, 3, 4], strides: [[12, 4, 1], [12, 4, 1]])
        XCTAssertEqual(contiguous.merged(), StridedLayout(dimensions: [24], strides: [[1], [1]]))
        // Broadcasting [3, 1] to [2, 3, 4]: the leading stride-0 axis stays apart, 3 x 4 cannot merge in x.
        let broadcast = StridedLayout(dimensions: [2, 3, 4], strides: [[0, 1, 0], [12, 4, 1]])
        XCTAssertEqual(broadcast.merged(), StridedLayout(dimensions: [2, 3, 4], strides: [[0, 1, 0], [12, 4, 1]]))
        // Size-1 axes vanish whatever their strides.
        let unit = StridedLayout(dimensions: [1, 5, 1], strides: [[99, 1, 7], [5, 1, 1]])
        XCTAssertEqual(unit.merged(), StridedLayout(dimensions: [5], strides: [[1], [1]]))
        // Two stride-0 axes in a row merge into one.
        let zeros = StridedLayout(dimensions: [2, 3, 4], strides: [[0, 0, 1], [12, 4, 1]])
        XCTAssertEqual(zeros.merged(), StridedLayout(dimensions: [6, 4], strides: [[0, 1], [4, 1]]))
        // A scalar walk has no axes and still gives 6 padded dimensions.
        XCTAssertEqual(StridedLayout(dimensions: [], strides: [[], []]).merged().dimensions, [])
    }

    func testMoreThanSixAxesAfterMergingIsAnError() {
        // A full reversal of 7 axes has no contiguous pair.
        let dimensions = [2, 2, 2, 2, 2, 2, 2]
        let reversed = Shape(dimensions).strides.reversed()
        let layout = StridedLayout(dimensions: dimensions, strides: [Array(reversed), Shape(dimensions).strides])
        XCTAssertThrowsError(try layout.arguments(kernel: "move_copy"))
    }
}
