// Test harness for the reference backend: run one op on host tensors, seeded tensors, the tolerances of hand-computed
// answers, and the central-difference gradient check.

import KilnCore
import KilnReference
import KilnTestSupport
import XCTest

/// Runs `op` on `inputs` with `backend` (the reference in `Double` unless told otherwise), with the output shape
/// from the op's own shape rule, and returns the output read back as `Double`: the catalog's `ReferenceRun`.
func evaluate(_ op: Op, _ inputs: [HostTensor], on backend: any Backend = ReferenceBackend<Double>()) throws -> HostTensor {
    try ReferenceRun.execute(op, inputs, on: backend)
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

extension Tolerance {
    /// Hand-computed answers: a few roundings of `Double` arithmetic on small numbers.
    static let handComputed = Tolerance(absolute: 1e-12, relative: 1e-12, reason: "a few roundings of Double arithmetic on small numbers")
    /// `Float` against `Double`: a Float rounding is 6e-8 relative, and sums of up to a few hundred terms of mixed
    /// sign can lose a little more, measured against the output's scale.
    /// Double results whose tails are of order e^-40: relative to the value, however small.
    static let doubleTails = Tolerance(absolute: 1e-300, relative: 1e-12, reason: "Double, tails of order e^-40")
    static let floatAgainstDouble = Tolerance(absolute: 1e-5, relative: 1e-5, reason: "Float32 against Double, sums of a few hundred terms")
}

/// The sum of elementwise products.
func dot(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).map(*).reduce(0, +)
}

/// Checks a backward op against central differences of its forward op.
///
/// For a random upstream gradient `g`, the vector-Jacobian product `vjp(g)` must equal, at each sampled
/// coordinate `k`, `(⟨g, F(x + εe_k)⟩ − ⟨g, F(x − εe_k)⟩) / 2ε` with `ε = 1e-6` (see `Tolerance.finiteDifference`: the
/// truncation error is about ε² · |F'''| ≈ 1e-12, the rounding error about 1e-16 · |⟨g, F⟩| / ε, which stays below
/// 1e-8 for the small tensors used here; any wrong index or missing term errs by O(1)).
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
    assertClose(coordinates.map { analytic[$0] }, numeric, .finiteDifference, name, file: file, line: line)
}
