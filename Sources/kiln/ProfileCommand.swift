// `kiln profile`: where a training step's time goes, op by op (each launch timed on its own).
import ArgumentParser
import Foundation
import Kiln

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Time each op of one compiled training step (the device waits after every launch)."
    )

    @Option(help: "cnn, mlp, or a layer string (see `kiln train --help`).")
    var model = "cnn"
    @OptionGroup var common: CommonOptions
    @Option(help: "Examples per batch.")
    var batchSize = 64
    @Option(help: "Ops to list.")
    var top = 15

    func run() throws {
        var configuration = TrainingConfiguration()
        configuration.model = model
        configuration.batchSize = batchSize
        let device = try common.openDevice()
        let trainer = try Trainer(configuration: configuration, data: try common.loadImageDataset(), device: device)
        let batches = trainer.trainingBatches
        let batch = try batches.batch(0, order: batches.order(epoch: 0))
        let plan = try trainer.step.plan(for: batches.shape(count: batch.count), on: device)
        print("plan: \(plan.report)")
        if let budget = try LaunchBudget.line(plan, on: device) { print(budget) }
        let inputs = [batch.inputs, batch.labels, trainer.optimizer.scalars(step: 1, learningRate: 0.01)]
        _ = try plan.profile(inputs, clock: Self.now)  // warm: first launches compile per local size on pocl
        let timings = try plan.profile(inputs, clock: Self.now)
        let total = timings.reduce(0) { $0 + $1.seconds }
        print("\(plan.kernelLaunchesPerRun ?? 0) kernel launches and device copies per step")
        print(String(format: "%.2f ms per step with a wait after each op", total * 1000))
        for timing in timings.prefix(top) {
            print(
                String(
                    format: "%8.3f ms %5.1f%%  %3d launches  %@", timing.seconds * 1000, timing.seconds / total * 100, timing.launches,
                    timing.op))
        }
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
