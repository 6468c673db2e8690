// Trainer: trains a classifier on an IDX data set (Fashion-MNIST by default) epoch by epoch, evaluates it,
// and saves and resumes checkpoints.
import Foundation

/// The optimizers a trainer can build.
public enum OptimizerKind: String, CaseIterable, Codable, Sendable {
    case sgd, momentum, nesterov, adam
}

/// Everything that defines a training run.
public struct TrainingConfiguration: Codable, Sendable {
    public var model: String = "cnn"
    public var optimizer: OptimizerKind = .momentum
    public var learningRate: Double = 0.01
    public var momentum: Double = 0.9
    public var weightDecay: Double = 0
    public var batchSize: Int = 64
    public var seed: UInt64 = 0
    public var clipNorm: Double?
    public var cosineEpochs: Int?
    /// How pixels become inputs; nil: standardised with the training set's mean and standard deviation,
    /// resolved when a trainer starts (its `configuration` then holds the numbers, and so do its checkpoints).
    public var normalization: PixelNormalization?

    public init() {}

    /// The learning rate for `epoch` (cosine annealing to zero over `cosineEpochs` when set).
    public func learningRate(epoch: Int) -> Double {
        guard let cosineEpochs else { return learningRate }
        return LearningRateSchedule.cosine(epochs: cosineEpochs, minimum: 0).rate(base: learningRate, epoch: epoch)
    }
}

/// One epoch's results.
public struct EpochReport: Codable, Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var testLoss: Double
    public var testAccuracy: Double
    public var imagesPerSecond: Double
    public var seconds: Double
    public var learningRate: Double

    public init(
        epoch: Int, trainLoss: Double, testLoss: Double, testAccuracy: Double, imagesPerSecond: Double, seconds: Double,
        learningRate: Double
    ) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
        self.imagesPerSecond = imagesPerSecond
        self.seconds = seconds
        self.learningRate = learningRate
    }
}

/// Loss, accuracy and confusion matrix (rows: true class, columns: predicted) on a labelled set.
public struct EvaluationReport: Codable, Sendable {
    public var loss: Double
    public var accuracy: Double
    public var confusion: [[Int]]

    public init(loss: Double, accuracy: Double, confusion: [[Int]]) {
        self.loss = loss
        self.accuracy = accuracy
        self.confusion = confusion
    }
}

/// Trains `model` on `data` with the configuration's optimizer, one epoch at a time.
public final class Trainer {
    public let configuration: TrainingConfiguration
    public let model: Sequential
    public let optimizer: any Optimizer
    public let device: Device
    public let data: IDXDataset
    public let step: TrainingStep
    public let evaluation: Evaluation
    /// How this trainer's inputs are normalised (the configuration's, resolved; checkpoints store it).
    public let normalization: PixelNormalization
    /// The next epoch to train (from 0) and the next batch within it.
    public private(set) var epoch = 0
    public private(set) var batchInEpoch = 0

    public init(configuration: TrainingConfiguration, data: IDXDataset, device: Device) throws {
        var configuration = configuration
        normalization = configuration.normalization ?? .standardizing(data.training)
        configuration.normalization = normalization
        self.configuration = configuration
        self.data = data
        self.device = device
        var random = RandomSource(seed: configuration.seed)
        let inputShape = [1, data.training.rows, data.training.columns]
        model = try ModelSpec(configuration.model).build(inputShape: inputShape, random: &random, on: device)
        switch configuration.optimizer {
        case .sgd: optimizer = SGD(weightDecay: configuration.weightDecay)
        case .momentum: optimizer = SGD(momentum: configuration.momentum, weightDecay: configuration.weightDecay)
        case .nesterov: optimizer = SGD(momentum: configuration.momentum, nesterov: true, weightDecay: configuration.weightDecay)
        case .adam: optimizer = Adam(weightDecay: configuration.weightDecay)
        }
        step = TrainingStep(
            model: model, optimizer: optimizer, loss: .softmaxCrossEntropy, clipNorm: configuration.clipNorm, seed: configuration.seed)
        evaluation = Evaluation(model: model)
    }


    /// Training batches: shuffled per epoch from the seed, last partial batch dropped.
    public var trainingBatches: ImageBatches {
        ImageBatches(
            data.training, batchSize: configuration.batchSize, shuffleSeed: configuration.seed &+ 1, dropLast: true,
            normalization: normalization)
    }

    /// Trains until the end of the current epoch (from `batchInEpoch` when resumed mid-epoch), calling
    /// `progress(batch, batches, loss)` after each batch; `shouldStop` is polled between batches and ends
    /// the epoch early (returns nil) so the caller can checkpoint. Then evaluates on the test set.
    public func trainEpoch(
        progress: (Int, Int, Float) -> Void = { _, _, _ in }, shouldStop: () -> Bool = { false }
    ) throws -> EpochReport? {
        let batches = trainingBatches
        let order = batches.order(epoch: epoch)
        let learningRate = configuration.learningRate(epoch: epoch)
        let prefetch = Prefetcher(batchInEpoch..<batches.count) { batches.batch($0, order: order) }
        let start = Date()
        var lossSum = 0.0
        var images = 0
        while let batch = prefetch.next() {
            if shouldStop() { return nil }
            let loss = try step(
                inputs: batch.inputs, shape: batches.shape(count: batch.count), targets: batch.labels,
                learningRate: learningRate, on: device)
            lossSum += Double(loss) * Double(batch.count)
            images += batch.count
            batchInEpoch += 1
            progress(batchInEpoch, batches.count, loss)
        }
        let seconds = Date().timeIntervalSince(start)
        let test = try evaluate(data.test)
        let report = EpochReport(
            epoch: epoch + 1, trainLoss: lossSum / Double(max(images, 1)), testLoss: test.loss, testAccuracy: test.accuracy,
            imagesPerSecond: Double(images) / max(seconds, 1e-9), seconds: seconds, learningRate: learningRate)
        epoch += 1
        batchInEpoch = 0
        return report
    }

    /// Loss, accuracy and confusion matrix of the model (evaluation mode) on `set`.
    public func evaluate(_ set: LabeledImages, batchSize: Int = 500) throws -> EvaluationReport {
        let batches = ImageBatches(set, batchSize: batchSize, shuffleSeed: nil, dropLast: false, normalization: normalization)
        let order = batches.order(epoch: 0)
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: 10), count: 10)
        var lossSum = 0.0
        var correct = 0
        for index in 0..<batches.count {
            let batch = batches.batch(index, order: order)
            let logits = try evaluation(inputs: batch.inputs, shape: batches.shape(count: batch.count), on: device)
            let classes = logits.count / batch.count
            for row in 0..<batch.count {
                let scores = logits[row * classes..<(row + 1) * classes].map(Double.init)
                let label = Int(batch.labels[row])
                // Cross-entropy from logits with the maximum subtracted (log-sum-exp).
                let top = scores.max() ?? 0
                let logSum = top + log(scores.reduce(0) { $0 + exp($1 - top) })
                lossSum += logSum - scores[label]
                let predicted = scores.indices.max { scores[$0] < scores[$1] } ?? 0
                if predicted == label { correct += 1 }
                if label < 10, predicted < 10 { confusion[label][predicted] += 1 }
            }
        }
        return EvaluationReport(loss: lossSum / Double(set.count), accuracy: Double(correct) / Double(set.count), confusion: confusion)
    }

    // MARK: Checkpoints

    /// Writes the model, the optimizer state and the position in training to `url` atomically.
    public func saveCheckpoint(to url: URL) throws {
        let configurationJSON = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
        try Checkpoint.save(
            model: model.state, optimizer: optimizer.state,
            metadata: [
                "format": "pt", "kiln.epoch": "\(epoch)", "kiln.batch": "\(batchInEpoch)", "kiln.step": "\(step.step)",
                "kiln.configuration": configurationJSON,
            ], to: url)
    }

    /// Restores a checkpoint written by `saveCheckpoint` with the same configuration: weights, optimizer
    /// state and position, so the next step is the one an uninterrupted run would take.
    public func resume(from url: URL) throws {
        // The optimizer creates its buffers when the step is first compiled.
        let batches = trainingBatches
        _ = try step.plan(for: batches.shape(count: batches.batchSize), on: device)
        let metadata = try Checkpoint.load(from: url, model: model.state, optimizer: optimizer.state)
        guard let epoch = metadata["kiln.epoch"].flatMap(Int.init), let batch = metadata["kiln.batch"].flatMap(Int.init),
            let stepCount = metadata["kiln.step"].flatMap(Int.init)
        else { throw DataError.invalidHeader(file: url.path, reason: "no kiln.epoch, kiln.batch and kiln.step metadata; not a training checkpoint") }
        self.epoch = epoch
        batchInEpoch = batch
        step.step = stepCount
    }

    /// Loads model weights only (a Kiln checkpoint or a PyTorch state_dict saved as safetensors).
    public func loadWeights(from url: URL) throws {
        try Checkpoint.load(from: url, model: model.state)
    }
}
