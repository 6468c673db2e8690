// OpCase: one entry of the catalog: what to compute (one op, or a small graph of them), its inputs as
// shapes with seeded values, the tolerance with its reason, and how expensive it is (quick, standard,
// benchmark). The kernel tests, the bench and `kiln check` all run these.
import Foundation
import KilnCore

/// One op (or a small graph) on concrete inputs, checked against the reference backend in Double.
public struct OpCase: Sendable, Identifiable, CustomStringConvertible {
    /// What the case computes.
    public enum Computation: Sendable {
        /// One op on the inputs, executed by the backend directly (no graph, no plan): the unit a kernel implements.
        case op(Op)
        /// Outputs built from the inputs with the Tensor API and evaluated together (read in order): gradients
        /// through several ops, a layer, a benchmark's forward and backward pass.
        case graph(@Sendable ([Tensor]) throws -> [Tensor])
    }

    /// How expensive a case is, which decides where it runs.
    public enum Tier: Int, Comparable, Sendable, CaseIterable {
        /// At most a few thousand output elements: fit for an interpreter such as oclgrind (`kiln check --quick`).
        case quick
        /// Sized for the kernel tests on a CPU device in a debug build.
        case standard
        /// The bench's workloads at the peers' shapes: `kiln bench` and the full `kiln check` run them.
        case benchmark

        public static func < (a: Tier, b: Tier) -> Bool { a.rawValue < b.rawValue }
    }

    /// Where the expected values come from.
    public indirect enum Expectation: Sendable {
        /// The whole case on the reference backend in Double.
        case reference
        /// Part of the outputs, from a smaller problem on the reference (for products too large for its naive
        /// loops): the values and their positions in the case's outputs, given the case's inputs.
        case sampled(@Sendable ([HostTensor]) throws -> SampledValues)
        /// A smaller case run on the device and on the reference in this one's place (the timed case is too
        /// large for the reference and its outputs cannot be sampled).
        case smallerCase(OpCase)
    }

    /// Unique in the catalog: a benchmark's name (`sgemm_256`), else the name and a number (`matmul 12`). Seeds the inputs.
    public internal(set) var id: String
    /// The line `kiln check` reports the case under: the op's name without attributes (`leakyRelu_grad`), or a
    /// graph's name.
    public let name: String
    public let computation: Computation
    public let inputs: [SeededInput]
    public let tolerance: Tolerance
    public let tier: Tier
    public private(set) var expectation: Expectation
    /// What it computes, in words: the op with its attributes, or a graph's description.
    public let summary: String
    /// Floating-point operations of one evaluation, for rates (nil where a rate in FLOPs means little).
    public let flops: Double?

    /// A case of one op. `name` defaults to the op's name without attributes.
    public init(_ op: Op, _ inputs: [SeededInput], tolerance: Tolerance, tier: Tier = .standard, name: String? = nil) {
        self.name = name ?? op.checkName
        self.id = self.name
        self.computation = .op(op)
        self.inputs = inputs
        self.tolerance = tolerance
        self.tier = tier
        self.expectation = .reference
        self.summary = "\(op.attributeDescription) on \(inputs.isEmpty ? "no inputs" : inputs.map(\.description).joined(separator: ", "))"
        self.flops = nil
    }

    /// A case of a graph built by `build`.
    public init(
        graph name: String, summary: String, _ inputs: [SeededInput], tolerance: Tolerance,
        tier: Tier = .standard, expectation: Expectation = .reference, flops: Double? = nil,
        build: @escaping @Sendable ([Tensor]) throws -> [Tensor]
    ) {
        self.id = name
        self.name = name
        self.computation = .graph(build)
        self.inputs = inputs
        self.tolerance = tolerance
        self.tier = tier
        self.expectation = expectation
        self.summary = "\(summary) on \(inputs.map(\.description).joined(separator: ", "))"
        self.flops = flops
    }

    public var description: String { "\(id): \(summary)" }

    /// The case with `smaller` checked in its place (see `Expectation.smallerCase`).
    func checking(_ smaller: OpCase) -> OpCase {
        var copy = self
        copy.expectation = .smallerCase(smaller)
        return copy
    }

    /// The case with the id the catalog lists it under.
    func listed(as id: String) -> OpCase {
        var copy = self
        copy.id = id
        return copy
    }

    /// The inputs drawn from the case's seed (a hash of its id), rounded to Float32.
    public func drawInputs() throws -> [HostTensor] {
        var random = RandomSource(seed: Self.seed(of: id))
        var drawn: [HostTensor] = []
        for input in inputs { drawn.append(try input.draw(using: &random, earlier: drawn)) }
        return drawn
    }

    /// FNV-1a of the id: a case keeps its values when others are added or removed.
    static func seed(of id: String) -> UInt64 {
        id.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0100_0000_01B3 }
    }
}

/// Expected values at some positions of a case's outputs.
public struct SampledValues: Sendable {
    public var values: [Double]
    /// Positions in the case's outputs (concatenated in order) that `values` correspond to.
    public var indices: [Int]

    public init(values: [Double], indices: [Int]) {
        self.values = values
        self.indices = indices
    }
}

/// The op families of `Op`, one catalog file each (`Catalog+Family.swift`).
public enum OpFamily: String, Sendable, CaseIterable {
    case elementwise, movement, reduction, products, convolution, pooling, recurrent, loss, update, normalization

}

extension Op {
    /// The op's name without attributes (`leakyRelu_grad`, `conv2d_relu`): the line `kiln check` reports it on.
    public var checkName: String { Self.withoutParentheses(name) }

    /// The op with its attributes, without module prefixes: `matmul(transposeA: true, transposeB: false)`.
    var attributeDescription: String { String(describing: self).replacingOccurrences(of: "KilnCore.", with: "") }

    private static func withoutParentheses(_ text: String) -> String {
        var depth = 0
        var kept = ""
        for character in text {
            if character == "(" {
                depth += 1
            } else if character == ")" {
                depth = Swift.max(0, depth - 1)
            } else if depth == 0 {
                kept.append(character)
            }
        }
        return kept
    }
}
