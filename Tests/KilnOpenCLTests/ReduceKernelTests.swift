// ReduceKernelTests: Kernels/reduce.cl against the CPU reference: sum, mean and max over many axis sets
// (adjacent, scattered, all, none; kept dimensions both ways), several passes for several runs of reduced
// axes, contiguous rows around the vector width, long reductions that take the two-pass split, and softmax / log-softmax along every axis, including inputs up to ±80.
import KilnCore
import KilnTestSupport
import XCTest

final class ReduceKernelTests: XCTestCase {
    /// The maximum selects one of the inputs: exact.
    static let exact = Tolerance(absolute: 0, relative: 0, reason: "max selects an input element, no rounding")

    private func tolerance(_ reduction: Reduction, terms: Int) -> Tolerance {
        reduction == .max ? Self.exact : .accumulation(terms: terms)
    }

    private func check(_ reduction: Reduction, _ shape: Shape, axes: [Int], keep: Bool, using generator: inout SeededGenerator) throws {
        let terms = axes.map { shape[$0] }.reduce(1, *)
        let x = generator.values(shape.count, in: -1...1)
        try OpenCLTestDevice.check(
            OpCase(
                .reduce(reduction, axes: axes, keepDimensions: keep), [CaseInput(shape, x)], tolerance: tolerance(reduction, terms: terms)))
    }

    /// A random, sorted, non-empty set of axes of `rank`.
    private func randomAxes(rank: Int, using generator: inout SeededGenerator) -> [Int] {
        let axes = (0..<rank).filter { _ in Bool.random(using: &generator) }
        return axes.isEmpty ? [Int.random(in: 0..<rank, using: &generator)] : axes
    }

    /// Every reduction over random shapes with random axis sets, plus the fixed awkward sets: the scattered
    /// [0, 2] and [0, 2, 3] (channels kept, as batch norm reduces), [1, 3], all axes, and no axes.
    func testReductionsOverAxisSets() throws {
        var generator = SeededGenerator(seed: 21)
        for reduction in [Reduction.sum, .mean, .max] {
            for (index, shape) in KernelTestShapes.shapes(24, using: &generator).enumerated() {
                try check(reduction, shape, axes: randomAxes(rank: shape.rank, using: &generator), keep: index % 2 == 0, using: &generator)
                try check(reduction, shape, axes: Array(0..<shape.rank), keep: index % 2 == 1, using: &generator)
            }
            let fixed: [(Shape, [Int])] = [
                ([7, 13, 3], [0, 2]), ([2, 7, 13, 13], [0, 2, 3]), ([3, 65, 2, 64], [1, 3]), ([64, 1, 65], [0, 2]),
                ([13, 1, 7], [0, 2]), ([1, 1], [0, 1]), ([31, 4], []), ([5, 1, 3, 1], [1, 3]), ([63, 64, 3], [0, 1]),
            ]
            for (shape, axes) in fixed {
                try check(reduction, shape, axes: axes, keep: true, using: &generator)
                try check(reduction, shape, axes: axes, keep: false, using: &generator)
            }
        }
    }

    /// Few outputs and long rows: the two-pass split into parts (and its mean divisor in the second pass).
    func testLongReductionsSplitIntoParts() throws {
        var generator = SeededGenerator(seed: 22)
        let cases: [(Shape, [Int])] = [
            ([100_003], [0]), ([3, 5_000], [1]), ([5_000, 3], [0]), ([2, 4_099, 7], [1]), ([16, 3, 2_048], [0, 2]),
            ([4_096], [0]), ([4_097], [0]), ([1_024, 64], [0]),
        ]
        for reduction in [Reduction.sum, .mean, .max] {
            for (shape, axes) in cases {
                try check(reduction, shape, axes: axes, keep: false, using: &generator)
            }
        }
    }

    /// Several passes (one per run of reduced axes, the last run first, through scratch memory) and
    /// `reduce_rows` with row lengths around its vector width of 8 and 16, split into parts or not.
    func testMultiPassAndContiguousRows() throws {
        var generator = SeededGenerator(seed: 25)
        let cases: [(Shape, [Int])] = [
            ([3, 2, 5, 3, 7], [0, 2, 4]), ([2, 3, 1, 4, 5, 2], [1, 4]), ([5, 3, 2, 7, 1, 3], [0, 1, 3, 5]),
            ([4, 7], [1]), ([3, 8], [1]), ([2, 9], [1]), ([5, 15], [1]), ([2, 16], [1]), ([3, 17], [1]), ([1, 1], [1]),
            ([7, 3, 33], [0, 2]), ([2, 3, 4_111], [0, 2]), ([9_000, 2, 3], [0, 2]),
        ]
        for reduction in [Reduction.sum, .mean, .max] {
            for (shape, axes) in cases {
                try check(reduction, shape, axes: axes, keep: false, using: &generator)
            }
        }
    }

    /// A sum whose terms cancel: all the error is absolute, which the compensated sum keeps small.
    func testSumOfCancellingTerms() throws {
        var generator = SeededGenerator(seed: 23)
        let half = generator.values(50_000, in: -1...1).map { Double(Float($0)) }
        let x = half + half.map { -$0 } + [0.125]
        try OpenCLTestDevice.check(
            OpCase(.reduce(.sum, axes: [0], keepDimensions: false), [CaseInput([x.count], x)], tolerance: .accumulation(terms: x.count)))
    }

    func testSoftmaxAndLogSoftmaxAlongEveryAxis() throws {
        var generator = SeededGenerator(seed: 24)
        for logarithm in [false, true] {
            for (index, shape) in KernelTestShapes.shapes(24, using: &generator).enumerated() {
                // Every third case has inputs up to ±80: exp overflows Float there unless the maximum is subtracted.
                let range = index % 3 == 0 ? -80.0...80.0 : -5.0...5.0
                for axis in 0..<shape.rank {
                    let op: Op = logarithm ? .logSoftmax(axis: axis) : .softmax(axis: axis)
                    let x = generator.values(shape.count, in: range)
                    try OpenCLTestDevice.check(OpCase(op, [CaseInput(shape, x)], tolerance: .accumulation(terms: shape[axis])))
                }
            }
        }
    }

    /// Rows of large equal values, and rows where one value dominates by 80.
    func testSoftmaxExtremes() throws {
        let rows: [[Double]] = [
            [80, 80, 80, 80], [-80, -80, -80], [80, 0, -80, 79.5], [1000, -1000], [0], [-80, 80],
        ]
        for row in rows {
            for op in [Op.softmax(axis: 0), .logSoftmax(axis: 0)] {
                try OpenCLTestDevice.check(OpCase(op, [CaseInput([row.count], row)], tolerance: .accumulation(terms: row.count)))
            }
        }
    }
}
