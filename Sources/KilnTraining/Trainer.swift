// Trainer: trains an image classifier (a layer string or any `Layer`) on an `ImageDataset` epoch by epoch
// through the training loop, evaluates it on the device, and saves and resumes checkpoints.
import Foundation
import KilnCore
import KilnData
import KilnNN

/// The optimizers a trainer can build.
public enum OptimizerKind: String, CaseIterable, Codable, Sendable {
    case sgd, momentum, nesterov, adam
}

/// Everything that defines a training run.
public struct TrainingConfiguration: Codable, Sendable {
    /// `cnn`, `mlp` or a layer string; with a model given as a `Layer`, a name for it.
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
    /// The data set and how it is read, when the run was given one by name or folder (the CLI records it).
    public var data: DataSelection?

    public init() {}

    /// The learning rate for `epoch` (cosine annealing to zero over `cosineEpochs` when set): the schedule.
    public func learningRate(epoch: Int) -> Double {
        guard let cosineEpochs else { return learningRate }
        return LearningRateSchedule.cosine(epochs: cosineEpochs, minimum: 0).rate(base: learningRate, epoch: epoch)
    }
}

/// One epoch's results.
public struct EpochReport: Codable, Sendable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    /// Loss and accuracy on the validation set, measured after every epoch when the data set has one.
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    /// Loss and accuracy on the test set, when measured after this epoch: once at the end of a run, or after
    /// every epoch in the course's comparison (which selects nothing by it).
    public var testLoss: Double?
    public var testAccuracy: Double?
    public var imagesPerSecond: Double
    public var seconds: Double
    public var learningRate: Double

    public init(
        epoch: Int, trainLoss: Double, validationLoss: Double? = nil, validationAccuracy: Double? = nil, testLoss: Double? = nil,
        testAccuracy: Double? = nil, imagesPerSecond: Double, seconds: Double, learningRate: Double
    ) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.validationLoss = validationLoss
        self.validationAccuracy = validationAccuracy
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
        self.imagesPerSecond = imagesPerSecond
        self.seconds = seconds
        self.learningRate = learningRate
    }
}

/// Trains a classifier on a data set with the configuration's optimizer, one epoch at a time.
public final class Trainer: TrainingTask {
    public let configuration: TrainingConfiguration
    public let model: any Layer
    public let optimizer: any Optimizer
    public let device: Device
    public let data: ImageDataset
    public let step: TrainingStep
    public let evaluation: ClassifierEvaluation
    /// How this trainer's inputs are normalised (the configuration's, resolved; checkpoints store it).
    public let normalization: PixelNormalization
    /// The epoch loop and its position (the next epoch, from 0, and the next batch within it).
    public let loop = TrainingLoop()
    private var prefetch: Prefetcher<Batch>?

    public var epoch: Int { loop.position.epoch }
    public var batchInEpoch: Int { loop.position.batch }

    /// A trainer of the model the configuration's layer string names, sized for the data's images.
    public convenience init(configuration: TrainingConfiguration, data: ImageDataset, device: Device) throws {
        var random = RandomSource(seed: configuration.seed)
        let model = try ModelSpec(configuration.model, classes: data.classCount).build(
            inputShape: data.imageShape, random: &random, on: device)
        try self.init(model: model, configuration: configuration, data: data, device: device)
    }

    /// A trainer of `model` (any layer whose output for a batch of the data's images is `[N, classes]`).
    /// Throws `TrainingError.modelDoesNotFitClasses` when it is not, before anything trains.
    public init(model: any Layer, configuration: TrainingConfiguration, data: ImageDataset, device: Device) throws {
        try Self.checkOutput(of: model, named: configuration.model, data: data, on: device)
        var configuration = configuration
        normalization = try configuration.normalization ?? data.training.standardizingNormalization()
        configuration.normalization = normalization
        self.configuration = configuration
        self.data = data
        self.device = device
        self.model = model
        switch configuration.optimizer {
        case .sgd: optimizer = SGD(weightDecay: configuration.weightDecay)
        case .momentum: optimizer = SGD(momentum: configuration.momentum, weightDecay: configuration.weightDecay)
        case .nesterov: optimizer = SGD(momentum: configuration.momentum, nesterov: true, weightDecay: configuration.weightDecay)
        case .adam: optimizer = Adam(weightDecay: configuration.weightDecay)
        }
        step = TrainingStep(
            model: model, optimizer: optimizer, loss: .softmaxCrossEntropy, clipNorm: configuration.clipNorm, seed: configuration.seed)
        evaluation = ClassifierEvaluation(model: model, classes: data.classCount)
    }

    /// Throws unless `model` maps a batch of the data's images to one logit per class.
    static func checkOutput(of model: any Layer, named name: String, data: ImageDataset, on device: Device) throws {
        // Builds the graph only (shapes are checked as it grows); nothing runs.
        let probe = try Tensor.zeros(Shape([1] + data.imageShape), on: device)
        let output = try model.forward(probe, context: ForwardContext(training: false)).shape
        guard output == [1, data.classCount] else {
            throw TrainingError.modelDoesNotFitClasses(
                model: name, output: output.dimensions, classes: data.classCount, dataset: data.name)
        }
    }

    /// Training batches: shuffled per epoch from the seed, last partial batch dropped.
    public var trainingBatches: ImageBatches {
        ImageBatches(
            data.training, batchSize: configuration.batchSize, shuffleSeed: configuration.seed &+ 1, dropLast: true,
            normalization: normalization)
    }

    /// The shape of one training batch.
    public var batchShape: Shape { trainingBatches.shape(count: configuration.batchSize) }

    /// The loop's hooks with this trainer's schedule.
    public func hooks(
        shouldStop: @escaping () -> Bool = { false },
        batchEnded: @escaping (_ position: TrainingPosition, _ batches: Int, _ loss: Float) throws -> Void = { _, _, _ in },
        epochEnded: @escaping (EpochReport) throws -> Void = { _ in }
    ) -> TrainingHooks<EpochReport> {
        TrainingHooks(
            learningRate: configuration.learningRate(epoch:), shouldStop: shouldStop, batchEnded: batchEnded, epochEnded: epochEnded)
    }

    /// Trains until the end of the current epoch (from `batchInEpoch` when resumed mid-epoch), calling
    /// `progress(batch, batches, loss)` after each batch; `shouldStop` is polled between batches and ends
    /// the epoch early (returns nil) so the caller can checkpoint. Then evaluates on the validation set, if any.
    public func trainEpoch(
        progress: @escaping (Int, Int, Float) -> Void = { _, _, _ in }, shouldStop: @escaping () -> Bool = { false }
    ) throws -> EpochReport? {
        try loop.runEpoch(self, hooks: hooks(shouldStop: shouldStop, batchEnded: { progress($0.batch, $1, $2) }))
    }

    // MARK: The loop's task

    public var batchesPerEpoch: Int { trainingBatches.count }

    public var emptyEpochReason: String {
        "--batch-size \(configuration.batchSize) is larger than the training set of \(data.name) (\(data.training.count) images), "
            + "so an epoch has no full batch; use a batch size of at most \(data.training.count)"
    }

    public func beginEpoch(_ epoch: Int, at batch: Int) throws {
        let batches = trainingBatches
        let order = batches.order(epoch: epoch)
        prefetch = Prefetcher(batch..<batches.count) { try batches.batch($0, order: order) }
    }

    public func trainBatch(_ batch: Int, learningRate: Double) throws -> Float {
        guard let next = try prefetch?.next() else { preconditionFailure("[trainer] batch \(batch) was not prepared") }
        return try step(
            inputs: next.inputs, shape: trainingBatches.shape(count: next.count), targets: next.labels, learningRate: learningRate,
            on: device)
    }

    /// Ends an epoch: measures the validation set (the test set is measured once, at the end of a run).
    public func endEpoch(_ epoch: Int, training: EpochTraining) throws -> EpochReport {
        prefetch = nil
        let validation = try data.validation.map { try evaluate($0) }
        if let validation, !validation.loss.isFinite { throw TrainingError.divergedAfterEpoch(epoch: epoch + 1, loss: validation.loss) }
        let images = training.batches * configuration.batchSize
        return EpochReport(
            epoch: epoch + 1, trainLoss: training.meanLoss, validationLoss: validation?.loss, validationAccuracy: validation?.accuracy,
            imagesPerSecond: Double(images) / max(training.seconds, 1e-9), seconds: training.seconds,
            learningRate: configuration.learningRate(epoch: epoch))
    }

    // MARK: Evaluation

    /// Loss, accuracy and confusion matrix of the model (evaluation mode) on `set`, computed on the device.
    public func evaluate(_ set: any LabeledImageSet, batchSize: Int = 500) throws -> EvaluationReport {
        try evaluation(set, batchSize: batchSize, normalization: normalization, on: device)
    }

    // MARK: Checkpoints

    /// Writes the model, the optimizer state, the position in training and `metadata` to `url` atomically.
    /// Throws `TrainingError.nonFiniteWeights` without writing when a value is NaN or infinite, so a diverged
    /// run never replaces a good checkpoint.
    public func saveCheckpoint(to url: URL, metadata: [String: String] = [:]) throws {
        try requireFiniteState(for: url)
        let configurationJSON = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
        try Checkpoint.save(
            model: model.state, optimizer: optimizer.state,
            metadata: metadata.merging(
                [
                    "format": "pt", "kiln.epoch": "\(epoch)", "kiln.batch": "\(batchInEpoch)", "kiln.step": "\(step.step)",
                    "kiln.configuration": configurationJSON,
                ].merging(try classifierMetadata()) { $1 }
            ) { $1 }, to: url)
    }

    /// What a checkpoint says about the classifier beyond its weights, so `kiln eval` and `kiln predict` can
    /// use it alone: the input shape, the class count and names, and the data set it was trained on.
    public func classifierMetadata() throws -> [String: String] {
        var metadata = [
            CheckpointModel.inputShapeKey: String(decoding: try JSONEncoder().encode(data.imageShape), as: UTF8.self),
            CheckpointModel.classesKey: "\(data.classCount)", CheckpointModel.datasetKey: data.name,
        ]
        if let names = data.classNames {
            metadata[CheckpointModel.classNamesKey] = String(decoding: try JSONEncoder().encode(names), as: UTF8.self)
        }
        return metadata
    }

    /// Throws `TrainingError.nonFiniteWeights` naming the first model or optimizer tensor that holds NaN or
    /// infinity (`url` is the checkpoint that will not be written).
    public func requireFiniteState(for url: URL) throws {
        for (name, variable) in model.state + optimizer.state {
            guard try variable.value.floats().allSatisfy(\.isFinite) else {
                throw TrainingError.nonFiniteWeights(tensor: name, file: url.path)
            }
        }
    }

    /// Restores a checkpoint written by `saveCheckpoint` with the same configuration: weights, optimizer
    /// state and position, so the next step is the one an uninterrupted run would take. Returns its metadata.
    /// A position the data cannot hold (a negative epoch, a batch beyond an epoch) is an error naming the field.
    @discardableResult
    public func resume(from url: URL) throws -> [String: String] {
        // The optimizer creates its buffers when the step is first compiled.
        _ = try step.plans(for: [batchShape])
        let metadata = try SafeTensorsFile(contentsOf: url).metadata
        let batches = batchesPerEpoch
        func position(_ field: String, _ valid: (Int) -> Bool, _ rule: String) throws -> Int {
            guard let text = metadata[field] else {
                throw DataError.invalidHeader(file: url.path, reason: "no \(field) metadata; not a training checkpoint")
            }
            guard let value = Int(text), valid(value) else {
                throw TrainingError.invalidCheckpointPosition(file: url.path, field: field, value: text, reason: rule)
            }
            return value
        }
        let epoch = try position("kiln.epoch", { $0 >= 0 }, "an epoch count must be a whole number, 0 or more")
        let batch = try position(
            "kiln.batch", { (0..<max(batches, 1)).contains($0) },
            "an epoch here has \(batches) batches (\(data.training.count) images in batches of \(configuration.batchSize)), "
                + "so the next batch must be 0 to \(max(batches - 1, 0))")
        let steps = try position("kiln.step", { $0 >= 0 }, "a step count must be a whole number, 0 or more")
        try Checkpoint.load(from: url, model: model.state, optimizer: optimizer.state)
        loop.position = TrainingPosition(epoch: epoch, batch: batch)
        step.step = steps
        return metadata
    }

    /// Loads model weights only (a Kiln checkpoint or a PyTorch state_dict saved as safetensors).
    public func loadWeights(from url: URL) throws {
        try Checkpoint.load(from: url, model: model.state)
    }
}
