// `kiln gan`: trains a generator against a discriminator on Fashion-MNIST (or any IDX folder), writes sample
// grids and the loss chart, saves both models, and scores the samples with a trained classifier.
import ArgumentParser
import Foundation
import Kiln
import KilnExamples

struct GANCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gan",
        abstract: "Train a GAN on Fashion-MNIST and measure its samples with a trained classifier.",
        discussion: """
            The generator maps noise through Dense, BatchNorm, ReLU and two transposed convolutions to a tanh image; the \
            discriminator is two strided convolutions with leaky ReLU (0.2) and one logit. Each batch takes one \
            discriminator step and one generator step, each with its own Adam. --out gets samples-epoch{N}.png (an 8×8 \
            grid from fixed noise; epoch 0 is the untrained generator), losses.svg, losses.csv, generator.safetensors, \
            discriminator.safetensors and, with --classifier (a checkpoint from `kiln train --model cnn`), score.json: \
            the classifier's mean top-class probability and the entropy of its predicted-class histogram over \
            --samples generated images, for the untrained and the trained generator.
            """
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "Epochs to train.")
    var epochs = 1
    @Option(help: "Train on the first N training images only (default: all of them).")
    var limit: Int?
    @Option(help: "Real images (and noise vectors) per batch.")
    var batchSize = 64
    @Option(help: "Adam's learning rate, for both networks.")
    var lr = 2e-4
    @Option(help: "Adam's beta1, for both networks.")
    var beta1 = 0.5
    @Option(help: "Channels of the generator's middle layer (the discriminator mirrors it).")
    var width = 64
    @Option(help: "Length of the noise vector.")
    var noise = 100
    @Option(help: "A classifier checkpoint (from `kiln train --model cnn`) to score the samples with.")
    var classifier: String?
    @Option(help: "Generated images the classifier scores.")
    var samples = 1000
    @Option(help: "Seed for initialisation, shuffling and noise.")
    var seed: UInt64 = 0
    @Option(help: "Folder for the sample grids, loss chart, models and score.")
    var out = "kiln-gan"
    @Flag(help: "Print each op's time in one step of each network, then stop (trains nothing).")
    var profile = false

    func validate() throws {
        guard epochs > 0 else { throw ValidationError("--epochs must be positive") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        if let limit, limit < batchSize { throw ValidationError("--limit must be at least the batch size (\(batchSize))") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number") }
        guard beta1 >= 0, beta1 < 1 else { throw ValidationError("--beta1 must be in [0, 1)") }
        guard width > 0 else { throw ValidationError("--width must be positive") }
        guard noise > 0 else { throw ValidationError("--noise must be positive") }
        guard samples > 0 else { throw ValidationError("--samples must be positive") }
        // Each sample's class probabilities are kept for the score: beyond ten million that is gigabytes and hours.
        guard samples <= 10_000_000 else { throw ValidationError("--samples must be at most 10000000, got \(samples)") }
        if let classifier, !FileManager.default.fileExists(atPath: classifier) {
            throw ValidationError("--classifier \(classifier): no such file; train one with `kiln train --model cnn --out DIR`")
        }
    }

    func run() throws {
        let device = try common.openDevice()
        let data = try common.loadDataset()
        let images = limit.map { data.training.prefix($0) } ?? data.training
        var configuration = GANConfiguration()
        configuration.architecture = GANArchitecture(noise: noise, width: width, imageSide: images.rows)
        configuration.batchSize = batchSize
        configuration.learningRate = lr
        configuration.beta1 = beta1
        configuration.seed = seed
        let trainer = try GANTrainer(configuration: configuration, images: images, device: device)
        // The classifier, and its inputs: as its checkpoint records, else (a PyTorch state_dict) standardised.
        let judge = try classifier.map { path -> (model: Sequential, normalization: PixelNormalization) in
            let loaded = try CheckpointModel.load(
                from: URL(fileURLWithPath: path), inputShape: [1, images.rows, images.columns], on: device)
            return (loaded.model, loaded.normalization ?? .standardizing(data.training))
        }
        if profile {
            let timings = try trainer.step.profile(clock: ProfileCommand.now)
            for (name, ops) in [("discriminator", timings.discriminator), ("generator", timings.generator)] {
                let total = ops.reduce(0) { $0 + $1.seconds }
                print(String(format: "%@ step: %.1f ms with a wait after each launch", name, total * 1000))
                for op in ops.prefix(12) {
                    print(
                        String(
                            format: "%9.2f ms %5.1f%%  %3d launches  %@", op.seconds * 1000, op.seconds / total * 100, op.launches, op.op))
                }
            }
            return
        }
        let folder = URL(fileURLWithPath: out)
        try OutputFolder.create(folder)
        let step = trainer.step
        print(
            "training a GAN on \(device): generator \(step.generator.parameterCount) parameters, discriminator "
                + "\(step.discriminator.parameterCount); \(images.count) images, batch \(batchSize), \(trainer.batches.count) steps per epoch, "
                + "Adam lr \(lr) beta1 \(beta1)")
        // The score's noise differs from the training noise and is the same for both measurements.
        let scoreSeed = seed &+ 0xC1A5
        var untrained: SampleScore?
        if let judge {
            untrained = try SampleScore.measure(
                generatorOf: step, classifier: judge.model, normalization: judge.normalization, count: samples,
                seed: scoreSeed)
            print("untrained generator: \(untrained.map(\.summary) ?? "")")
        }
        try trainer.sampleGrid().write(to: folder.appendingPathComponent("samples-epoch0.png"))
        let started = Date()
        let reportEvery = max(1, trainer.batches.count / 10)
        for _ in 0..<epochs {
            let report = try trainer.trainEpoch { record, batch, batches in
                guard batch % reportEvery == 0 || batch == batches else { return }
                print(
                    String(
                        format: "  step %d/%d  D loss %.3f  G loss %.3f  D(x) %.2f  D(G(z)) %.2f  %.0f s",
                        batch, batches, record.discriminatorLoss, record.generatorLoss, record.realProbability, record.fakeProbability,
                        Date().timeIntervalSince(started)))
            }
            print(
                String(
                    format: "epoch %d  D loss %.3f  G loss %.3f  D(x) %.2f  D(G(z)) %.2f  %.0f images/s  %.1f s", report.epoch,
                    report.discriminatorLoss, report.generatorLoss, report.realProbability, report.fakeProbability, report.imagesPerSecond,
                    report.seconds))
            try trainer.sampleGrid().write(to: folder.appendingPathComponent("samples-epoch\(report.epoch).png"))
            let every = max(1, trainer.history.count / 200)
            try trainer.lossChart(title: "GAN losses on \(device)", every: every).write(to: folder.appendingPathComponent("losses.svg"))
            try AtomicFile.write(Data(trainer.lossCSV().utf8), to: folder.appendingPathComponent("losses.csv"))
        }
        let saved = try trainer.saveModels(to: folder)
        print(
            String(
                format: "trained in %.1f s; models: %@, %@", Date().timeIntervalSince(started), saved.generator.path,
                saved.discriminator.path))
        if let judge, let untrained {
            let trained = try SampleScore.measure(
                generatorOf: step, classifier: judge.model, normalization: judge.normalization, count: samples,
                seed: scoreSeed)
            print("trained generator:   \(trained.summary)")
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let score = ["untrained": untrained, "trained": trained]
            try AtomicFile.write(try encoder.encode(score), to: folder.appendingPathComponent("score.json"))
        }
        print("samples, losses.svg and models in \(folder.path)")
    }
}
