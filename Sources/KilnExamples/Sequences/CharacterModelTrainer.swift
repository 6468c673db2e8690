// CharacterModelTrainer: trains a CharacterLanguageModel on a text by truncated backpropagation through
// time. The text is split into training (the first part) and validation (the last part); the training
// part is cut into `batchSize` contiguous streams read in windows of `window` characters, the LSTM's
// state carried from one window to the next (gradients stop at the window's start) and reset each
// epoch. Adam with gradient clipping by global norm; validation reports bits per character
// (cross-entropy / ln 2).
import Foundation
import Kiln

/// The settings of a character-model run.
public struct CharacterTrainingConfiguration: Codable, Sendable, Equatable {
    /// LSTM hidden units.
    public var hidden = 128
    /// Characters per window: how far back gradients reach.
    public var window = 64
    /// Streams read in parallel (the batch).
    public var batchSize = 32
    /// Adam's learning rate.
    public var learningRate = 3e-3
    /// Clip the gradients' global norm to this.
    public var clipNorm = 5.0
    /// The share of the text, taken from its end, held out for validation.
    public var validationFraction = 0.1
    public var seed: UInt64 = 0

    public init() {}

    /// Throws `SequenceError.invalidSetting` naming the first bad setting.
    public func validate() throws {
        try requireSetting(hidden > 0, "--hidden", "must be positive, got \(hidden)")
        try requireSetting(window > 0, "--window", "must be positive, got \(window)")
        try requireSetting(batchSize > 0, "--batch-size", "must be positive, got \(batchSize)")
        // Each split holds batchSize streams of window characters: sizes whose product overflows hold no text.
        try requireSetting(
            window.multipliedReportingOverflow(by: batchSize).partialValue <= 1 << 40
                && !window.multipliedReportingOverflow(by: batchSize).overflow,
            "--window × --batch-size", "must be at most 2^40 characters, got \(window) × \(batchSize)")
        try requireSetting(learningRate > 0 && learningRate.isFinite, "--lr", "must be a positive number, got \(learningRate)")
        try requireSetting(clipNorm > 0 && clipNorm.isFinite, "--clip-norm", "must be a positive number, got \(clipNorm)")
        try requireSetting(
            validationFraction > 0 && validationFraction < 1, "validation fraction", "must be in (0, 1), got \(validationFraction)")
    }
}

/// One epoch's figures.
public struct CharacterEpochReport: Codable, Sendable {
    public var epoch: Int
    /// Mean training cross-entropy over the epoch's windows, in nats per character.
    public var trainingLoss: Double
    public var trainingBitsPerCharacter: Double
    public var validationLoss: Double
    public var validationBitsPerCharacter: Double
    /// Training characters per second (validation excluded).
    public var charactersPerSecond: Double
    /// Wall time of the epoch, validation included.
    public var seconds: Double
}

/// Contiguous streams read in windows: window w of stream n covers `data[n·L + w·T ..< n·L + (w+1)·T]`
/// (L the stream length) and its targets are the characters one further on.
public struct CharacterStreams: Sendable {
    public let data: [Int]
    public let streams: Int
    public let window: Int
    public let streamLength: Int

    public init(_ data: [Int], streams: Int, window: Int) {
        self.data = data
        self.streams = streams
        self.window = window
        streamLength = max(data.count - 1, 0) / streams
    }

    /// Windows per pass.
    public var count: Int { streamLength / window }

    /// Window `index`: inputs and targets, `T·N` each, time-major (position t of stream n at t·N + n).
    public func batch(_ index: Int) -> (inputs: [Float], targets: [Float]) {
        var inputs = [Float](repeating: 0, count: window * streams)
        var targets = inputs
        for t in 0..<window {
            for n in 0..<streams {
                let offset = n * streamLength + index * window + t
                inputs[t * streams + n] = Float(data[offset])
                targets[t * streams + n] = Float(data[offset + 1])
            }
        }
        return (inputs, targets)
    }
}

/// Trains a character model epoch by epoch, through the training loop.
public final class CharacterModelTrainer: TrainingTask {
    public let configuration: CharacterTrainingConfiguration
    public let model: CharacterLanguageModel
    public let optimizer = Adam()
    public let device: Device
    public let training: CharacterStreams
    public let validation: CharacterStreams
    /// The epoch loop and its position.
    public let loop = TrainingLoop()
    private let step: TrainingStep
    private let trainingState: (h: Variable, c: Variable)
    private var validationPlan: Plan?
    private let validationState: (h: Variable, c: Variable)

    /// Epochs finished.
    public var epoch: Int { loop.position.epoch }

    /// Builds the vocabulary from the whole `text`, splits it, and compiles the training step.
    public init(text: String, configuration: CharacterTrainingConfiguration, device: Device) throws {
        try configuration.validate()
        self.configuration = configuration
        self.device = device
        let vocabulary = CharacterVocabulary(text: text)
        let encoded = try vocabulary.encode(text)
        let (streams, window) = (configuration.batchSize, configuration.window)
        let validationCount = Int((Double(encoded.count) * configuration.validationFraction).rounded())
        // Each split needs at least one full window in every stream, plus the one-further target.
        let needed = streams * window + 1
        guard validationCount >= needed, encoded.count - validationCount >= needed else {
            throw SequenceError.textTooShort(
                characters: encoded.count,
                needed: Int((Double(needed) / min(configuration.validationFraction, 1 - configuration.validationFraction)).rounded(.up)))
        }
        training = CharacterStreams(Array(encoded[..<(encoded.count - validationCount)]), streams: streams, window: window)
        validation = CharacterStreams(Array(encoded[(encoded.count - validationCount)...]), streams: streams, window: window)
        var random = RandomSource(seed: configuration.seed)
        let model = try CharacterLanguageModel(vocabulary: vocabulary, hidden: configuration.hidden, random: &random, on: device)
        self.model = model
        func zeros() throws -> Variable { try Variable(Tensor.zeros([streams, configuration.hidden], on: device)) }
        let trainingState = (h: try zeros(), c: try zeros())
        self.trainingState = trainingState
        validationState = (try zeros(), try zeros())
        step = model.trainingStep(
            window: window, streams: streams, state: trainingState, optimizer: optimizer, clipNorm: configuration.clipNorm)
        _ = try step.plans(for: [])
    }

    /// Trains one epoch (every training window once, in order) then measures validation. `progress` gets
    /// the window index, the window count and the window's loss after each step.
    public func trainEpoch(progress: @escaping (Int, Int, Double) -> Void = { _, _, _ in }) throws -> CharacterEpochReport {
        let hooks = TrainingHooks<CharacterEpochReport>(
            learningRate: { [configuration] _ in configuration.learningRate },
            batchEnded: { position, windows, loss in progress(position.batch - 1, windows, Double(loss)) })
        guard let report = try loop.runEpoch(self, hooks: hooks) else { preconditionFailure("[char-lstm] nothing stops an epoch early") }
        return report
    }

    // MARK: The loop's task

    public var batchesPerEpoch: Int { training.count }

    public var emptyEpochReason: String {
        "the training text makes no window of \(training.window) characters in each of \(training.streams) streams; lower --window or --batch-size"
    }

    /// Each epoch reads the streams from their start with a zero state.
    public func beginEpoch(_ epoch: Int, at batch: Int) throws { try reset(trainingState) }

    public func trainBatch(_ batch: Int, learningRate: Double) throws -> Float {
        let window = training.batch(batch)
        let loss = try step([window.inputs, window.targets], shapes: [], learningRate: learningRate)
        guard loss.isFinite else { throw SequenceError.nonFiniteLoss(step: step.step) }
        return loss
    }

    public func endEpoch(_ epoch: Int, training measured: EpochTraining) throws -> CharacterEpochReport {
        let start = Self.now()
        let validationLoss = try self.validationLoss()
        let trainingLoss = measured.meanLoss
        return CharacterEpochReport(
            epoch: epoch + 1, trainingLoss: trainingLoss, trainingBitsPerCharacter: trainingLoss / Foundation.log(2.0),
            validationLoss: validationLoss, validationBitsPerCharacter: validationLoss / Foundation.log(2.0),
            charactersPerSecond: Double(measured.batches * training.window * training.streams) / measured.seconds,
            seconds: measured.seconds + Self.now() - start)
    }

    /// Mean cross-entropy (nats per character) over every validation window, the state carried through.
    public func validationLoss() throws -> Double {
        let plan =
            try validationPlan
            ?? {
                let count = validation.window * validation.streams
                let indices = try Tensor([Float](repeating: 0, count: count), shape: [count], on: device)
                let targets = try Tensor([Float](repeating: 0, count: count), shape: [count], on: device)
                let (loss, h, c) = try model.loss(
                    indices: indices, targets: targets, steps: validation.window, streams: validation.streams,
                    state: (validationState.h.value, validationState.c.value))
                let plan = try Plan(
                    inputs: [indices, targets], outputs: [loss], updates: [(validationState.h, h), (validationState.c, c)])
                validationPlan = plan
                return plan
            }()
        try reset(validationState)
        var total = 0.0
        for index in 0..<validation.count {
            let batch = validation.batch(index)
            try plan.run([batch.inputs, batch.targets])
            total += Double(try plan.output(0)[0])
        }
        return total / Double(validation.count)
    }

    /// Writes the model, Adam's state and the run's settings to `url`.
    public func save(to url: URL) throws {
        let settings = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
        try model.save(
            to: url, optimizer: optimizer.state, metadata: ["kiln.char-lstm.configuration": settings, "kiln.epoch": String(epoch)])
    }

    private func reset(_ state: (h: Variable, c: Variable)) throws {
        let zeros = [Float](repeating: 0, count: state.h.shape.count)
        try state.h.load(zeros)
        try state.c.load(zeros)
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
