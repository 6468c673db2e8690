// `kiln profile`: where a training step's time goes, op by op.
import ArgumentParser
import Foundation
import Kiln
import KilnBenchmarks

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract:
            "Time each op of one compiled training step: the device's own times of its launches where it reports them (OpenCL), else with a wait after each op."
    )

    @Option(help: "cnn, mlp, or a layer string (see `kiln train --help`).")
    var model = "cnn"
    @Option(help: "Profile a `kiln bench` workload's plan instead of a model (e.g. resnet_train_step, charlstm_train_step).")
    var workload: String?
    @OptionGroup var common: CommonOptions
    @Option(help: "Examples per batch.")
    var batchSize = 64
    @Option(help: "Ops to list.")
    var top = 15
    @Flag(help: "List each op's kernels one by one (where the device reports launch times).")
    var kernels = false
    @Option(help: "Steps timed back to back (where the device reports launch times); figures are per step.")
    var steps = 20

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, not \(batchSize)") }
        if top < 1 { throw ValidationError("--top must be at least 1, not \(top)") }
        if steps < 1 { throw ValidationError("--steps must be at least 1, not \(steps)") }
        if let workload, Workload.named(workload) == nil {
            throw ValidationError("--workload \(workload): no such workload; see `kiln bench --help`")
        }
    }

    func run() throws {
        let device = try common.openDevice()
        let (plan, inputs) = try workload.map { try Self.workloadPlan($0, on: device) } ?? modelPlan(on: device)
        print("plan: \(plan.report)")
        if let budget = try LaunchBudget.line(plan, on: device) { print(budget) }
        print("\(plan.kernelLaunchesPerRun ?? 0) kernel launches and device copies per step")
        _ = try plan.profile(inputs, clock: Self.now)  // warm: first launches compile per local size on pocl
        let timings: [(op: String, seconds: Double, launches: Int)]
        let total: Double
        if let device = try plan.deviceProfile(inputs, runs: steps, byKernel: kernels, clock: Self.now) {
            // The device's own times of the launches, queued back to back as training queues them.
            timings = device.ops
            total = timings.reduce(0) { $0 + $1.seconds }
            print(
                String(
                    format:
                        "%.3f ms per step, %d steps queued back to back; kernels ran %.3f ms of it (%.0f%%), by the device's event times",
                    device.wallSeconds * 1000, steps, total * 1000, total / device.wallSeconds * 100))
        } else {
            timings = try plan.profile(inputs, clock: Self.now)
            total = timings.reduce(0) { $0 + $1.seconds }
            print(String(format: "%.2f ms per step with a wait after each op", total * 1000))
        }
        for timing in timings.prefix(top) {
            print(
                String(
                    format: "%8.3f ms %5.1f%%  %3d launches  %@", timing.seconds * 1000, timing.seconds / total * 100, timing.launches,
                    timing.op))
        }
    }

    /// The training step of `--model` on the first batch of the data set, and the values a run binds.
    private func modelPlan(on device: Device) throws -> (Plan, [[Float]]) {
        var configuration = TrainingConfiguration()
        configuration.model = model
        configuration.batchSize = batchSize
        let trainer = try Trainer(configuration: configuration, data: try common.loadImageDataset(), device: device)
        let batches = trainer.trainingBatches
        let batch = try batches.batch(0, order: batches.order(epoch: 0))
        let plan = try trainer.step.plan(for: batches.shape(count: batch.count), on: device)
        return (plan, [batch.inputs, batch.labels, trainer.optimizer.scalars(step: 1, learningRate: 0.01)])
    }

    /// The bench workload's plan as `kiln bench` times it, and the values a run binds.
    private static func workloadPlan(_ name: String, on device: Device) throws -> (Plan, [[Float]]) {
        guard let workload = Workload.named(name) else { throw ValidationError("--workload \(name): no such workload") }
        let instance = try workload.instantiate(on: device)
        return (instance.plan, instance.inputs)
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
