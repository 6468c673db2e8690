// `kiln train`: trains a classifier on Fashion-MNIST (or any IDX data set) and writes a checkpoint and metrics.
import ArgumentParser
import Foundation
import Kiln

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a classifier on Fashion-MNIST (or MNIST, or any IDX folder).",
        discussion: """
            MODEL is cnn, mlp, or a layer string such as
            conv32k3p1-relu-maxpool2-conv64k3p1-relu-maxpool2-flatten-dense128-relu-dense10
            (tokens: conv{out}k{kernel}[s{stride}][p{pad}][d{dilation}][g{groups}], maxpool{k}[s{stride}],
            avgpool{k}[s{stride}], gap, flatten, dense{out}, bn, dropout{percent}, relu, leakyrelu, sigmoid, tanh).
            """
    )

    @Option(help: "cnn, mlp, or a layer string (see below).")
    var model = "cnn"
    @OptionGroup var common: CommonOptions
    @Option(help: "Epochs to train.")
    var epochs = 5
    @Option(help: "Examples per batch.")
    var batchSize = 64
    @Option(help: "Optimizer: \(OptimizerKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var optimizer: OptimizerKind = .momentum
    @Option(help: "Learning rate.")
    var lr = 0.01
    @Option(help: "Momentum (momentum and nesterov).")
    var momentum = 0.9
    @Option(help: "Weight decay (L2, added to the gradient).")
    var weightDecay = 0.0
    @Option(help: "Clip the gradients' global norm to this.")
    var clipNorm: Double?
    @Option(help: "Cosine-anneal the learning rate to 0 over this many epochs.")
    var cosine: Int?
    @Option(help: "Seed for initialisation, shuffling and dropout.")
    var seed: UInt64 = 0
    @Option(help: "Folder for the checkpoint and metrics.")
    var out = "kiln-run"
    @Flag(help: "Continue from the checkpoint in --out.")
    var resume = false

    func validate() throws {
        guard epochs > 0 else { throw ValidationError("--epochs must be positive") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number") }
        guard momentum >= 0, momentum < 1 else { throw ValidationError("--momentum must be in [0, 1)") }
        if let clipNorm, !(clipNorm > 0) { throw ValidationError("--clip-norm must be positive") }
    }

    func run() throws {
        var configuration = TrainingConfiguration()
        configuration.model = model
        configuration.optimizer = optimizer
        configuration.learningRate = lr
        configuration.momentum = momentum
        configuration.weightDecay = weightDecay
        configuration.batchSize = batchSize
        configuration.seed = seed
        configuration.clipNorm = clipNorm
        configuration.cosineEpochs = cosine
        let device = try common.openDevice()
        let data = try common.loadDataset()
        let trainer = try Trainer(configuration: configuration, data: data, device: device)
        let folder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let checkpoint = folder.appendingPathComponent("checkpoint.safetensors")
        var reports: [EpochReport] = []
        let metricsURL = folder.appendingPathComponent("metrics.json")
        if resume {
            try trainer.resume(from: checkpoint)
            reports = (try? JSONDecoder().decode([EpochReport].self, from: Data(contentsOf: metricsURL))) ?? []
            print("resumed from \(checkpoint.path) at epoch \(trainer.epoch + 1), batch \(trainer.batchInEpoch)")
        }
        print("training \(model) (\(trainer.model.parameterCount) parameters) on \(device) with \(optimizer.rawValue), lr \(lr), batch \(batchSize)")
        let batches = trainer.trainingBatches
        print("training step plan: \(try trainer.step.plan(for: batches.shape(count: batches.batchSize), on: device).report)")
        let interrupt = InterruptFlag()
        while trainer.epoch < epochs {
            guard let report = try trainer.trainEpoch(shouldStop: { interrupt.raised }) else {
                try trainer.saveCheckpoint(to: checkpoint)
                print("\ninterrupted: checkpoint written to \(checkpoint.path); continue with --resume")
                throw ExitCode(130)
            }
            reports.append(report)
            print(String(
                format: "epoch %d  train loss %.4f  test loss %.4f  test accuracy %.2f%%  %.0f images/s  %.1f s",
                report.epoch, report.trainLoss, report.testLoss, report.testAccuracy * 100, report.imagesPerSecond, report.seconds))
            try trainer.saveCheckpoint(to: checkpoint)
            try Metrics.write(reports, to: folder)
            try Metrics.chart(reports, title: "\(model) on \(device)").write(to: folder.appendingPathComponent("metrics.svg"))
        }
        print("checkpoint: \(checkpoint.path)")
    }
}
extension OptimizerKind: ExpressibleByArgument {}
