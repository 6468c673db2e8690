// Workload: one benchmark as data. Its name, how to build its inputs and compiled plan on a device, the work
// one step does (FLOPs, items), and how its first run is checked against the CPU reference in Double. The
// kernel workloads are the catalog's benchmark cases (Workload+Case.swift); whole training steps are
// workloads of their own (Workload+Catalog.swift lists them all).
import Foundation
import Kiln
import KilnCheck

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
    public let tolerance: Tolerance
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
        name: String, summary: String, flopsPerStep: Double?, itemsPerStep: Int? = nil, tolerance: Tolerance,
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
        checksReducedVariant ? try checkInstance(on: device) : timed
    }

    /// Whether the check runs a smaller variant rather than the timed plan.
    public var checksReducedVariant: Bool { checkBuilder != nil }

    /// What the check alone needs (`kiln bench --check-only`): the variant it compares, built on `device` and run once,
    /// without building the timed size where the check has a smaller variant.
    public func checkInstance(on device: Device) throws -> WorkloadInstance {
        let instance = try (checkBuilder ?? builder)(device)
        try instance.run()
        return instance
    }

    /// The expected values, computed on the reference backend in `Double`.
    public func expectedValues() throws -> CheckedValues {
        if let referenceBuilder { return try referenceBuilder() }
        let instance = try (checkBuilder ?? builder)(Device(ReferenceBackend<Double>()))
        try instance.run()
        return CheckedValues(values: try instance.results())
    }
}
