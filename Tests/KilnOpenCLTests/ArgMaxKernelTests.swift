// ArgMaxKernelTests: Kernels/argmax.cl against the CPU reference along every axis of awkward shapes (sizes 1,
// primes, around the work-group size), with ties and NaN; the indices must match exactly.
import KilnCore
import KilnTestSupport
import XCTest

final class ArgMaxKernelTests: XCTestCase {
    /// An index is chosen, not computed: exact.
    static let exact = Tolerance(absolute: 0, relative: 0, reason: "argmax selects an index, no rounding")

    /// Random shapes along every axis, both as a non-negative and as a negative axis; the values are drawn from
    /// a few levels so that rows hold ties, which the first maximum must break the same way on both backends.
    func testEveryAxisOfAwkwardShapes() throws {
        var generator = SeededGenerator(seed: 41)
        for shape in KernelTestShapes.shapes(28, using: &generator) + [[1], [1, 1], [65, 1], [1, 127], [3, 257, 2]] {
            for axis in 0..<shape.rank {
                let levels = generator.pick([3, 1_000])
                let x = (0..<shape.count).map { _ in Double(Int.random(in: 0..<levels, using: &generator)) / Double(levels) - 0.5 }
                let negative = Bool.random(using: &generator)
                try OpenCLTestDevice.check(
                    OpCase(.argMax(axis: negative ? axis - shape.rank : axis), [CaseInput(shape, x)], tolerance: Self.exact))
            }
        }
    }

    /// NaN counts as larger than every number: rows of 1, 2, 7 and 13 with NaN at various places, and infinities.
    func testNaNAndInfinities() throws {
        let backend = try OpenCLTestDevice.require()
        var generator = SeededGenerator(seed: 42)
        for size in [1, 2, 7, 13] {
            let rows = 11
            var x = generator.values(rows * size)
            for row in 0..<rows {
                switch row % 4 {
                case 0: x[row * size + Int.random(in: 0..<size, using: &generator)] = .nan
                case 1: x[row * size + Int.random(in: 0..<size, using: &generator)] = .infinity
                case 2: for k in 0..<size where k % 2 == 1 { x[row * size + k] = .nan }
                default: for k in 0..<size { x[row * size + k] = -.infinity }
                }
            }
            let inputs = [CaseInput([rows, size], x)]
            let expected = try KilnTestSupport.run(.argMax(axis: 1), inputs, on: OpenCLTestDevice.reference)
            XCTAssertEqual(try KilnTestSupport.run(.argMax(axis: 1), inputs, on: backend), expected, "rows of \(size)")
        }
    }
}
