// GANTrainer: trains a generator against a discriminator on a set of greyscale images scaled to [-1, 1],
// alternating one discriminator update and one generator update per batch; keeps every step's losses,
// draws sample grids from a fixed noise batch, and saves both models.
import Foundation
import Kiln

/// Everything that defines a GAN run.
public struct GANConfiguration: Codable, Sendable {
    public var architecture = GANArchitecture()
    public var batchSize = 64
    /// Adam's learning rate for both networks (DCGAN's 2e-4).
    public var learningRate = 2e-4
    /// Adam's β₁ for both networks (DCGAN's 0.5: less momentum keeps the game from oscillating).
    public var beta1 = 0.5
    public var seed: UInt64 = 0

    public init() {}
}

/// One step's figures.
public struct GANStepRecord: Codable, Sendable {
    public var step: Int
    public var discriminatorLoss: Float
    public var generatorLoss: Float
    public var realProbability: Float
    public var fakeProbability: Float
}

/// One epoch's averages.
public struct GANEpochReport: Codable, Sendable {
    public var epoch: Int
    public var steps: Int
    public var discriminatorLoss: Double
    public var generatorLoss: Double
    public var realProbability: Double
    public var fakeProbability: Double
    public var seconds: Double
    public var imagesPerSecond: Double
}

/// Trains a GAN on `images` (labels unused), one epoch at a time, through the training loop.
public final class GANTrainer: TrainingTask {
    public let configuration: GANConfiguration
    public let images: LabeledImages
    public let step: AdversarialStep
    /// The noise behind every sample grid, so grids from different epochs show the same latent points.
    public let fixedNoise: [Float]
    public static let gridSide = 8
    /// Every step so far.
    public private(set) var history: [GANStepRecord] = []
    /// The epoch loop and its position.
    public let loop = TrainingLoop()
    private var noiseSource: RandomSource
    private var prefetch: Prefetcher<[Float]>?
    private var epochStart = 0

    public var epoch: Int { loop.position.epoch }

    public init(configuration: GANConfiguration, images: LabeledImages, device: Device) throws {
        guard images.rows == images.columns, images.rows == configuration.architecture.imageSide else {
            throw GANError(
                "the images are \(images.rows)×\(images.columns) but the architecture expects \(configuration.architecture.imageSide)×\(configuration.architecture.imageSide)"
            )
        }
        guard images.count >= configuration.batchSize else {
            throw GANError("\(images.count) training images are fewer than one batch of \(configuration.batchSize)")
        }
        self.configuration = configuration
        self.images = images
        var random = RandomSource(seed: configuration.seed)
        let generator = try configuration.architecture.generator(random: &random, on: device)
        let discriminator = try configuration.architecture.discriminator(random: &random, on: device)
        step = try AdversarialStep(
            architecture: configuration.architecture, generator: generator, discriminator: discriminator,
            generatorOptimizer: Adam(beta1: configuration.beta1), discriminatorOptimizer: Adam(beta1: configuration.beta1),
            batchSize: configuration.batchSize, on: device)
        var fixed = RandomSource(seed: configuration.seed &+ 0x5EED)
        fixedNoise = GANTrainer.noise(count: Self.gridSide * Self.gridSide, length: configuration.architecture.noise, random: &fixed)
        noiseSource = RandomSource(seed: configuration.seed &+ 0x2)
    }

    /// `count` standard normal vectors of `length`, row-major.
    public static func noise(count: Int, length: Int, random: inout RandomSource) -> [Float] {
        (0..<count * length).map { _ in Float(random.normal()) }
    }

    /// Training batches: shuffled per epoch from the seed, last partial batch dropped.
    public var batches: ImageBatches {
        ImageBatches(images, batchSize: configuration.batchSize, shuffleSeed: configuration.seed &+ 1, dropLast: true)
    }

    /// Trains one epoch: per batch, a discriminator step then a generator step (each on fresh noise).
    /// `progress(record, batch, batches)` is called after each batch.
    public func trainEpoch(progress: @escaping (GANStepRecord, Int, Int) -> Void = { _, _, _ in }) throws -> GANEpochReport {
        let hooks = TrainingHooks<GANEpochReport>(
            learningRate: { [configuration] _ in configuration.learningRate },
            batchEnded: { [unowned self] position, batches, _ in
                if let record = history.last { progress(record, position.batch, batches) }
            })
        guard let report = try loop.runEpoch(self, hooks: hooks) else { preconditionFailure("[gan] nothing stops an epoch early") }
        return report
    }

    // MARK: The loop's task

    public var batchesPerEpoch: Int { batches.count }

    public var emptyEpochReason: String {
        "gan: \(images.count) training images make no batch of \(configuration.batchSize); lower --batch-size"
    }

    public func beginEpoch(_ epoch: Int, at batch: Int) throws {
        let batches = self.batches
        let order = batches.order(epoch: epoch)
        // Scaled from [0, 1] to tanh's range [-1, 1].
        prefetch = Prefetcher(batch..<batches.count) { try batches.batch($0, order: order).inputs.map { $0 * 2 - 1 } }
        epochStart = history.count
    }

    public func trainBatch(_ batch: Int, learningRate: Double) throws -> Float {
        guard let real = try prefetch?.next() else { preconditionFailure("[gan] batch \(batch) was not prepared") }
        let length = configuration.architecture.noise
        let discriminatorNoise = Self.noise(count: configuration.batchSize, length: length, random: &noiseSource)
        let generatorNoise = Self.noise(count: configuration.batchSize, length: length, random: &noiseSource)
        let discriminator = try step.trainDiscriminator(real: real, noise: discriminatorNoise, learningRate: learningRate)
        let generatorLoss = try step.trainGenerator(noise: generatorNoise, learningRate: learningRate)
        history.append(
            GANStepRecord(
                step: history.count + 1, discriminatorLoss: discriminator.loss, generatorLoss: generatorLoss,
                realProbability: discriminator.realProbability, fakeProbability: discriminator.fakeProbability))
        return discriminator.loss
    }

    public func endEpoch(_ epoch: Int, training: EpochTraining) throws -> GANEpochReport {
        prefetch = nil
        let records = history[epochStart...]
        func mean(_ value: (GANStepRecord) -> Float) -> Double {
            records.reduce(0) { $0 + Double(value($1)) } / Double(max(records.count, 1))
        }
        return GANEpochReport(
            epoch: epoch + 1, steps: records.count, discriminatorLoss: mean(\.discriminatorLoss), generatorLoss: mean(\.generatorLoss),
            realProbability: mean(\.realProbability), fakeProbability: mean(\.fakeProbability), seconds: training.seconds,
            imagesPerSecond: Double(records.count * configuration.batchSize) / max(training.seconds, 1e-9))
    }

    /// The generator's images for the fixed noise as an 8×8 grid (black is -1, white is 1).
    public func sampleGrid() throws -> ImageGrid {
        let side = configuration.architecture.imageSide
        let images = try step.samples(noise: fixedNoise, count: Self.gridSide * Self.gridSide)
        return ImageGrid(
            tiles: (0..<Self.gridSide * Self.gridSide).map { Array(images[$0 * side * side..<($0 + 1) * side * side]) },
            tileWidth: side, tileHeight: side, columns: Self.gridSide, scale: 2, scaling: .fixed(low: -1, high: 1))
    }

    /// Both losses against the step, each point the mean over `every` steps.
    public func lossChart(title: String, every window: Int = 10) -> SVGChart {
        let every = max(window, 1)
        func series(_ name: String, _ value: (GANStepRecord) -> Float) -> SVGChart.Series {
            let points = stride(from: 0, to: history.count, by: every).map { start -> (x: Double, y: Double) in
                let window = history[start..<min(start + every, history.count)]
                return (Double(window.last?.step ?? 0), window.reduce(0) { $0 + Double(value($1)) } / Double(window.count))
            }
            return SVGChart.Series(name, points)
        }
        return SVGChart(
            title: title, xLabel: every == 1 ? "step" : "step (each point: mean of \(every) steps)", yLabel: "loss",
            series: [series("discriminator", \.discriminatorLoss), series("generator", \.generatorLoss)])
    }

    /// Every step's figures as CSV.
    public func lossCSV() -> String {
        "step,discriminator_loss,generator_loss,real_probability,fake_probability\n"
            + history.map { "\($0.step),\($0.discriminatorLoss),\($0.generatorLoss),\($0.realProbability),\($0.fakeProbability)\n" }
            .joined()
    }

    /// Writes `generator.safetensors` and `discriminator.safetensors` (PyTorch `nn.Sequential` names, running
    /// statistics included) into `folder`, each with the configuration as metadata.
    public func saveModels(to folder: URL) throws -> (generator: URL, discriminator: URL) {
        let configurationJSON = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
        let metadata = ["format": "pt", "kiln.gan": configurationJSON, "kiln.step": "\(history.count)"]
        let generatorURL = folder.appendingPathComponent("generator.safetensors")
        let discriminatorURL = folder.appendingPathComponent("discriminator.safetensors")
        try Checkpoint.save(model: step.generator.state, metadata: metadata.merging(["kiln.role": "generator"]) { $1 }, to: generatorURL)
        try Checkpoint.save(
            model: step.discriminator.state, metadata: metadata.merging(["kiln.role": "discriminator"]) { $1 }, to: discriminatorURL)
        return (generatorURL, discriminatorURL)
    }
}

extension LabeledImages {
    /// The first `count` images (all of them when there are fewer).
    public func prefix(_ count: Int) -> LabeledImages {
        let kept = Swift.min(Swift.max(count, 0), self.count)
        return LabeledImages(
            pixels: Array(pixels[0..<kept * rows * columns]), labels: Array(labels[0..<kept]), rows: rows, columns: columns)
    }
}
