// Test harness for the reference backend: run one op on [Double] arrays, a seeded generator, closeness
// assertions that report the worst element, and the central-difference gradient check.

import KilnCore
import KilnReference
import KilnTestSupport
import XCTest

/// A tensor on the host: row-major values and a shape.
struct HostTensor {
    var values: [Double]
    var shape: Shape

    init(_ values: [Double], _ shape: Shape) {
        self.values = values
        self.shape = shape
    }
}

/// Runs `op` on `inputs` with `backend` (the reference in `Double` unless told otherwise), with the output
/// shape from the op's own shape rule, and returns the output read back as `Double`.
func evaluate(_ op: Op, _ inputs: [HostTensor], on backend: any Backend = ReferenceBackend<Double>()) throws -> HostTensor {
    var operands: [Operand] = []
    for input in inputs {
        let storage = try backend.allocate(count: input.shape.count)
        try backend.write(input.values, to: storage)
        operands.append(Operand(storage: storage, shape: input.shape))
    }
    let outputShape = try op.outputShape(for: inputs.map(\.shape))
    let output = try backend.allocate(count: outputShape.count)
    try backend.execute(op, inputs: operands, output: output, outputShape: outputShape)
    try backend.synchronize()
    return HostTensor(try backend.readDoubles(output), outputShape)
}

/// The engine's SplitMix64 (`RandomSource`), so every test draws the same numbers on every run and machine.
typealias SplitMix64 = RandomSource

extension RandomSource {
    /// A tensor of `shape` with values drawn uniformly from `range`.
    mutating func tensor(_ shape: Shape, in range: ClosedRange<Double> = -1...1) -> HostTensor {
        HostTensor(values(shape.count, in: range), shape)
    }

    /// A tensor of `shape` whose values are distinct and at least 0.01 apart, in random order, so that
    /// no two elements tie and a perturbation of 1e-6 never changes which is largest.
    mutating func distinctTensor(_ shape: Shape) -> HostTensor {
        let values = (0..<shape.count).map { Double($0) * 0.01 - Double(shape.count) * 0.005 }
        return HostTensor(values.shuffled(using: &self), shape)
    }
}

/// Tolerances `|actual - expected| <= absolute + relative * |expected|`, each with its reason.
enum Tolerance {
    /// Hand-computed answers: a few roundings of `Double` arithmetic on small numbers.
    static let exact = (absolute: 1e-12, relative: 1e-12)
    /// Central differences in `Double` with step 1e-6: the truncation error is about step² · |F'''| ≈ 1e-12,
    /// the rounding error about 1e-16 · |⟨g, F⟩| / step ≈ 1e-10 · |⟨g, F⟩|, which stays below 1e-8 for the
    /// small tensors used here. 1e-6 absolute plus 1e-5 relative leaves a wide margin over both while
    /// still catching any wrong index or missing term, which errs by O(1).
    static let gradient = (absolute: 1e-6, relative: 1e-5)
    /// `Float` against `Double`: a Float rounding is 6e-8 relative, and sums of up to a few hundred
    /// terms of mixed sign can lose a little more, measured against the output's scale.
    static let float = (absolute: 1e-5, relative: 1e-5)
}

/// Asserts that `actual` and `expected` have the same count and agree elementwise within the tolerance,
/// reporting the worst element (index, both values, error) at the caller's line.
func assertClose(
    _ actual: [Double], _ expected: [Double], _ tolerance: (absolute: Double, relative: Double) = Tolerance.exact,
    _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) {
    guard actual.count == expected.count else {
        XCTFail("\(message()): \(actual.count) elements, expected \(expected.count)", file: file, line: line)
        return
    }
    var worst: (index: Int, excess: Double)?
    for index in actual.indices {
        let error = Swift.abs(actual[index] - expected[index])
        let allowed = tolerance.absolute + tolerance.relative * Swift.abs(expected[index])
        // A NaN on either side counts as infinitely wrong.
        let excess = error <= allowed ? 0 : (error - allowed).isNaN ? .infinity : error - allowed
        if excess > 0, excess > worst?.excess ?? 0 { worst = (index, excess) }
    }
    if let worst {
        let (a, e) = (actual[worst.index], expected[worst.index])
        XCTFail(
            "\(message()): worst element \(worst.index): got \(a), expected \(e), error \(Swift.abs(a - e))",
            file: file, line: line)
    }
}

/// The sum of elementwise products.
func dot(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).map(*).reduce(0, +)
}

/// Checks a backward op against central differences of its forward op.
///
/// For a random upstream gradient `g`, the vector-Jacobian product `vjp(g)` must equal, at each sampled
/// coordinate `k`, `(⟨g, F(x + εe_k)⟩ − ⟨g, F(x − εe_k)⟩) / 2ε` with `ε = 1e-6` (see `Tolerance.gradient`).
/// All coordinates are checked when there are at most `samples`, else `samples` of them at random.
func checkGradient(
    _ name: String, at x: [Double], forward: ([Double]) throws -> [Double], vjp: ([Double]) throws -> [Double],
    random: inout SplitMix64, samples: Int = 32, file: StaticString = #filePath, line: UInt = #line
) throws {
    let epsilon = 1e-6
    let outputCount = try forward(x).count
    let g = random.values(outputCount)
    let analytic = try vjp(g)
    guard analytic.count == x.count else {
        XCTFail("\(name): gradient has \(analytic.count) elements, input \(x.count)", file: file, line: line)
        return
    }
    let coordinates = x.count <= samples ? Array(x.indices) : (0..<samples).map { _ in Int.random(in: x.indices, using: &random) }
    var numeric: [Double] = []
    for k in coordinates {
        var plus = x
        plus[k] += epsilon
        var minus = x
        minus[k] -= epsilon
        numeric.append((dot(g, try forward(plus)) - dot(g, try forward(minus))) / (2 * epsilon))
    }
    assertClose(coordinates.map { analytic[$0] }, numeric, Tolerance.gradient, name, file: file, line: line)
}
