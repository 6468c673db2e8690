// Workload: one benchmark as data. Its name, how to build its inputs and compiled plan on a device,
// the work one step does (FLOPs, items), and the tolerance its check against the CPU reference uses.
// `kiln bench` and the tests read the same descriptions (see Workload+Catalog.swift for the list).
import Foundation
import Kiln

/// How far a device's results may drift from the reference (`ReferenceBackend<Double>`), normwise:
/// `max |actual − expected| ≤ normwise · max |expected|`, with the reason for the bound.
///
/// Normwise, not elementwise: outputs that are sums of many products (GEMM, convolution, gradients)
/// have elements near zero whose elementwise relative error says nothing about the kernel.
public struct BenchTolerance: Sendable, CustomStringConvertible {
    public let normwise: Double
    public let reason: String

    public init(normwise: Double, reason: String) {
        self.normwise = normwise
        self.reason = reason
    }

    public var description: String { "\(normwise) of the largest |expected| (\(reason))" }

    /// A float32 sum of `terms` products in another order than the reference: a few ulps times √terms
    /// in practice; the bound leaves a hundredfold margin over that.
    public static func accumulation(terms: Int) -> BenchTolerance {
        BenchTolerance(
            normwise: Swift.max(1e-5, 1e-6 * Double(terms).squareRoot()),
            reason: "float32 sums of \(terms) products, in another order than the reference")
    }

    /// Values copied or compared, not computed: float32 rounding of the inputs only.
    public static let exact = BenchTolerance(normwise: 1e-6, reason: "selection only (max pooling): float32 rounding of the inputs")

    /// A whole training step (forward, backward, update) chains many sums; ReLU kinks near zero can
    /// flip between float32 and double, so the bound is looser.
    public static let trainingStep = BenchTolerance(
        normwise: 2e-3, reason: "float32 forward, backward and update chained; relu kinks may flip near zero")
}

/// The values a check compares: a run's results, or the subset at `indices` of them.
public struct CheckedValues {
    /// Expected values, in `results()` order (or at `indices`).
    public var values: [Double]
    /// Positions in the device's results these values correspond to; nil means all of them.
    public var indices: [Int]?

    public init(values: [Double], indices: [Int]? = nil) {
        self.values = values
        self.indices = indices
    }
}

/// A workload built on one device: a compiled plan, the values each run binds, and how to read the
/// results the check compares.
public final class WorkloadInstance {
    public let plan: Plan
    /// One array per plan input, bound on every run (empty when the inputs are constants on the device).
    public let inputs: [[Float]]
    private let readResults: () throws -> [Double]

    public init(plan: Plan, inputs: [[Float]] = [], readResults: @escaping () throws -> [Double]) {
        self.plan = plan
        self.inputs = inputs
        self.readResults = readResults
    }

    /// A plan whose outputs are the results: every element of each output, in order.
    public convenience init(plan: Plan, inputs: [[Float]] = [], outputCount: Int) {
        self.init(plan: plan, inputs: inputs) {
            try (0..<outputCount).flatMap { try plan.output($0).map(Double.init) }
        }
    }

    /// Enqueues one step (does not wait for the device).
    public func run() throws { try plan.run(inputs) }

    /// The values the check compares, after at least one `run()` (waits for the device).
    public func results() throws -> [Double] { try readResults() }
}

/// One benchmark: what it computes, how to build it, how much work a step is, and how to check it.
public struct Workload: CustomStringConvertible {
    /// The name `--workload` takes, e.g. `sgemm_1024`.
    public let name: String
    /// One line for `--help` and reports.
    public let summary: String
    /// Floating-point operations per step, for GFLOP/s (nil where a rate in FLOPs means little).
    public let flopsPerStep: Double?
    /// Items (images) per step, for items per second (training steps).
    public let itemsPerStep: Int?
    public let tolerance: BenchTolerance
    /// Whether the slow `cpu` reference backend skips it unless it is named with `--workload`.
    public let slowOnReference: Bool
    private let builder: (Device) throws -> WorkloadInstance
    private let referenceBuilder: (() throws -> CheckedValues)?
    private let checkBuilder: ((Device) throws -> WorkloadInstance)?

    /// - Parameters:
    ///   - build: builds the inputs (from a fixed seed, so every device gets the same values) and the plan.
    ///   - reference: the expected values computed on `ReferenceBackend<Double>`; by default the same
    ///     workload built there and run once. Large workloads pass a reduced check (sampled outputs).
    ///   - check: a smaller variant that the check runs on the device and on the reference instead of the
    ///     timed plan (for a whole training step, whose reference takes minutes at full size).
    public init(
        name: String, summary: String, flopsPerStep: Double?, itemsPerStep: Int? = nil, tolerance: BenchTolerance,
        slowOnReference: Bool = false, build: @escaping (Device) throws -> WorkloadInstance,
        reference: (() throws -> CheckedValues)? = nil, check: ((Device) throws -> WorkloadInstance)? = nil
    ) {
        self.name = name
        self.summary = summary
        self.flopsPerStep = flopsPerStep
        self.itemsPerStep = itemsPerStep
        self.tolerance = tolerance
        self.slowOnReference = slowOnReference
        self.builder = build
        self.referenceBuilder = reference
        self.checkBuilder = check
    }

    public var description: String { "\(name): \(summary)" }

    /// Builds the workload's inputs and compiles its plan on `device`.
    public func instantiate(on device: Device) throws -> WorkloadInstance { try builder(device) }

    /// The instance whose first run the check compares: the timed one, unless the workload checks a
    /// smaller variant (then that variant is built on `device` and run once).
    public func checkedInstance(timed: WorkloadInstance, on device: Device) throws -> WorkloadInstance {
        guard let checkBuilder else { return timed }
        let instance = try checkBuilder(device)
        try instance.run()
        return instance
    }

    /// Whether the check runs a smaller variant rather than the timed plan.
    public var checksReducedVariant: Bool { checkBuilder != nil }

    /// The expected results, computed on the reference backend in `Double`.
    public func expectedValues() throws -> CheckedValues {
        if let referenceBuilder { return try referenceBuilder() }
        let instance = try (checkBuilder ?? builder)(Device(ReferenceBackend<Double>()))
        try instance.run()
        return CheckedValues(values: try instance.results())
    }
}

/// Seeded inputs shared by every device: the same seed gives the same values everywhere.
enum BenchData {
    /// `count` values uniform in `range`, from `seed`.
    static func uniform(_ count: Int, seed: UInt64, in range: ClosedRange<Float> = -1...1) -> [Float] {
        var random = RandomSource(seed: seed)
        return (0..<count).map { _ in Float.random(in: range, using: &random) }
    }

    /// A data tensor of `shape` holding uniform values from `seed`.
    static func tensor(_ shape: Shape, seed: UInt64, scale: Float = 1, on device: Device) throws -> Tensor {
        try Tensor(uniform(shape.count, seed: seed, in: -scale...scale), shape: shape, on: device)
    }
}
