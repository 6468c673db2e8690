// A catalog case as a bench workload: its inputs uploaded to the device as constants and its op or graph
// compiled into a plan the bench replays; the check compares the first run with the case's expected values
// (all of them, a sample, or a smaller case's) on the reference backend in Double.
import Foundation
import Kiln
import KilnCheck

extension Workload {
    /// The workload of `opCase`. GFLOP/s come from the case's FLOPs; above 0.2 GFLOP a step, the `cpu` reference
    /// backend runs it only when it is named with `--workload`. Inputs are drawn from the case's seed each time
    /// they are needed (a fraction of a second for the largest), so every device and the reference read the same values.
    public init(case opCase: OpCase) {
        let checked = opCase.checkedCase
        self.init(
            name: opCase.id, summary: opCase.summary, flopsPerStep: opCase.flops, tolerance: checked.tolerance,
            slowOnReference: (opCase.flops ?? 0) > 2e8,
            build: { device in try Self.instance(of: opCase, on: device) },
            reference: {
                guard let expected = try checked.expectedValues(checked.drawInputs()) else {
                    throw BenchError.check("[\(opCase.id)] has no expected values")
                }
                return CheckedValues(values: expected.values, indices: expected.indices)
            },
            check: checked.id == opCase.id ? nil : { device in try Self.instance(of: checked, on: device) })
    }

    /// The case's inputs as data tensors on `device` and its outputs compiled into one plan.
    private static func instance(of opCase: OpCase, on device: Device) throws -> WorkloadInstance {
        let tensors = try opCase.drawInputs().map { try Tensor($0.values, shape: $0.shape, on: device) }
        let outputs: [Tensor] =
            switch opCase.computation {
            case .op(let op): [try Tensor.apply(op, tensors)]
            case .graph(let build): try build(tensors)
            }
        return WorkloadInstance(plan: try Plan(inputs: [], outputs: outputs, updates: []), outputCount: outputs.count)
    }
}
