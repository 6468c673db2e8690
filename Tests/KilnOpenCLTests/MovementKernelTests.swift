// MovementKernelTests: Kernels/movement.cl (broadcast, transpose, slice, pad, concatenate) against the CPU
// reference, exactly, over awkward shapes; and the axis merging (`StridedLayout`) the strided kernels rely on.
import KilnCore
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

final class MovementKernelTests: XCTestCase {
    /// Movement copies values without arithmetic: bit for bit.
    static let exact = Tolerance(absolute: 0, relative: 0, reason: "copies without arithmetic are exact")

    private func check(_ op: Op, _ shapes: [Shape], using generator: inout SeededGenerator) throws {
        let inputs = shapes.map { CaseInput($0, generator.values($0.count, in: -10...10)) }
        try OpenCLTestDevice.check(OpCase(op, inputs, tolerance: Self.exact))
    }

    /// Missing leading axes, axes of size 1, and a scalar source.
    func testBroadcast() throws {
        var generator = SeededGenerator(seed: 11)
        for (index, target) in KernelTestShapes.shapes(24, using: &generator).enumerated() {
            let source = index == 0 ? Shape([]) : KernelTestShapes.broadcastOperand(of: target, using: &generator)
            try check(.broadcast(target), [source], using: &generator)
        }
        try check(.broadcast([3, 1, 4]), [[1, 1, 4]], using: &generator)
        try check(.broadcast([2, 3, 5, 7, 2]), [[3, 1, 7, 1]], using: &generator)
    }

    /// The row fast paths (`move_fill_rows`, `move_copy_rows`): rows and runs of 1, primes, and sizes
    /// around the 128-element run, for both patterns, against the reference.
    func testBroadcastRowFastPaths() throws {
        var generator = SeededGenerator(seed: 17)
        let sizes = [1, 2, 7, 127, 128, 129, 257]
        var cases: [(Shape, Shape)] = []
        for inner in sizes {
            // A value per (outer, middle) row: [1, C, 1] -> [N, C, I], and [C, 1] -> [C, I].
            for (outer, channels) in [(1, 3), (2, 1), (5, 13), (3, 2)] {
                cases.append(([1, channels, 1], [outer, channels, inner]))
            }
            cases.append(([11, 1], [11, inner]))
            // A row copied into every row: [1, K] -> [M, K], and [K] -> [M, K].
            for rows in [1, 2, 13] {
                cases.append(([1, inner], [rows, inner]))
            }
            cases.append(([inner], [7, inner]))
            // A scalar filling a vector.
            cases.append(([], [inner]))
        }
        // Batch norm's shape, with unit axes that merge away, and a rank-5 per-channel broadcast.
        cases += [
            ([1, 32, 1, 1], [4, 32, 28, 28]), ([1, 5, 1, 1], [3, 5, 7, 11]), ([1, 1, 5, 1, 1], [2, 1, 5, 3, 43]),
            ([1, 1, 131], [3, 2, 131]), ([1, 2, 1], [1, 2, 1]),
        ]
        for (source, target) in cases {
            try check(.broadcast(target), [source], using: &generator)
        }
    }

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

    /// Every permutation of ranks 1 to 3, and random ones of ranks 4 and 6.
    func testTranspose() throws {
        var generator = SeededGenerator(seed: 12)
        var cases: [(Shape, [Int])] = [
            ([7], [0]), ([13, 65], [1, 0]), ([64, 64], [1, 0]), ([1, 257], [1, 0]),
            ([3, 7, 13], [0, 2, 1]), ([3, 7, 13], [1, 0, 2]), ([3, 7, 13], [1, 2, 0]), ([3, 7, 13], [2, 0, 1]),
            ([3, 7, 13], [2, 1, 0]), ([3, 7, 13], [0, 1, 2]),
            ([2, 3, 4, 5, 6, 7], [5, 3, 1, 0, 2, 4]),
        ]
        while cases.count < 26 {
            let rank = Int.random(in: 2...4, using: &generator)
            let shape = KernelTestShapes.randomShape(using: &generator, rank: rank)
            cases.append((shape, Array(0..<rank).shuffled(using: &generator)))
        }
        for (shape, permutation) in cases {
            try check(.transpose(permutation: permutation), [shape], using: &generator)
        }
    }

    /// Random ranges along every axis of random shapes.
    func testSlice() throws {
        var generator = SeededGenerator(seed: 13)
        for shape in KernelTestShapes.shapes(24, using: &generator) {
            let axis = Int.random(in: 0..<shape.rank, using: &generator)
            let start = Int.random(in: 0..<shape[axis], using: &generator)
            let length = Int.random(in: 1...(shape[axis] - start), using: &generator)
            try check(.slice(axis: axis, start: start, length: length), [shape], using: &generator)
        }
    }

    /// Padding before, after and on both sides of every axis.
    func testPad() throws {
        var generator = SeededGenerator(seed: 14)
        for (index, shape) in KernelTestShapes.shapes(24, using: &generator).enumerated() {
            let axis = Int.random(in: 0..<shape.rank, using: &generator)
            let before = index % 3 == 1 ? 0 : Int.random(in: 1...9, using: &generator)
            let after = index % 3 == 2 ? 0 : Int.random(in: 0...9, using: &generator)
            try check(.pad(axis: axis, before: before, after: after), [shape], using: &generator)
        }
    }

    /// One to four inputs of different sizes along every axis.
    func testConcatenate() throws {
        var generator = SeededGenerator(seed: 15)
        for (index, shape) in KernelTestShapes.shapes(24, using: &generator, maximumCount: 5_000).enumerated() {
            let axis = Int.random(in: 0..<shape.rank, using: &generator)
            let shapes = (0...(index % 4)).map { _ -> Shape in
                var dimensions = shape.dimensions
                dimensions[axis] = generator.pick([1, 2, 7, 13, 64, 65])
                return Shape(dimensions)
            }
            try check(.concatenate(axis: axis), shapes, using: &generator)
        }
    }

    /// Rank 7 copies work when the merged walk has at most 6 axes.
    func testRankSevenMergesDownToSix() throws {
        var generator = SeededGenerator(seed: 16)
        try check(.transpose(permutation: [0, 1, 2, 3, 4, 6, 5]), [[2, 3, 2, 1, 3, 4, 5]], using: &generator)
        try check(.broadcast([2, 3, 2, 3, 2, 3, 2]), [[3, 2, 3, 1, 3, 2]], using: &generator)
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
