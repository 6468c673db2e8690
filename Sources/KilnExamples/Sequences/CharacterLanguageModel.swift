// CharacterLanguageModel: a character-level language model — one-hot characters into an LSTM (whose
// input weight is the embedding, applied by matmul), a Dense layer to the vocabulary's logits — with
// its checkpoint (safetensors, the vocabulary in the metadata) and sampling with a temperature.
import Foundation
import Kiln

/// An LSTM language model over a character vocabulary.
public final class CharacterLanguageModel {
    /// The model name stored in checkpoints (`kiln.model`).
    public static let modelName = "char-lstm"
    /// The metadata key that names a checkpoint's model (`char-lstm`).
    public static let modelKey = "kiln.model"
    static let vocabularyKey = "kiln.vocabulary"
    static let hiddenKey = "kiln.hidden"

    public let vocabulary: CharacterVocabulary
    public let lstm: LSTM
    public let decoder: Dense
    public let device: Device

    public init(vocabulary: CharacterVocabulary, hidden: Int, random: inout RandomSource, on device: Device) throws {
        try requireSetting(vocabulary.count >= 2, "vocabulary", "needs at least two distinct characters, got \(vocabulary.count)")
        try requireSetting(hidden > 0, "--hidden", "must be positive, got \(hidden)")
        // The largest weights, [4 hidden, hidden] and [4 hidden, vocabulary], checked before 4 hidden is even computed.
        try device.backend.memoryLimits.check("LSTM weight_hh", [4, hidden, hidden], on: device.description)
        try device.backend.memoryLimits.check("LSTM weight_ih", [4, hidden, vocabulary.count], on: device.description)
        self.vocabulary = vocabulary
        self.device = device
        lstm = try LSTM(inputs: vocabulary.count, hidden: hidden, random: &random, on: device)
        decoder = try Dense(hidden, vocabulary.count, random: &random, on: device)
    }

    public var hiddenSize: Int { lstm.hiddenSize }

    /// Parameters under PyTorch-style names: `lstm.weight_ih_l0`, ..., `decoder.weight`, `decoder.bias`.
    public var parameters: [NamedVariable] {
        lstm.parameters.map { ("lstm.\($0.name)", $0.variable) } + decoder.parameters.map { ("decoder.\($0.name)", $0.variable) }
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.variable.shape.count } }

    /// The logits `[T·N, V]` of every position of a window, and the state after it. `indices` holds
    /// `T·N` character indices, time-major (position t of stream n at t·N + n).
    public func logits(indices: Tensor, steps: Int, streams: Int, state: (h: Tensor, c: Tensor)) throws -> (
        logits: Tensor, h: Tensor, c: Tensor
    ) {
        let x = try indices.oneHot(classes: vocabulary.count).reshaped([steps, streams, vocabulary.count])
        let output = try lstm.run(x, initial: state)
        guard let cell = output.cell else { preconditionFailure("[char-lstm] an LSTM returns its cell state") }
        let flat = try output.outputs.reshaped([steps * streams, hiddenSize])
        return (try decoder.forward(flat, context: ForwardContext(training: false)), output.hidden, cell)
    }

    /// The mean cross-entropy (nats per character) of predicting `targets` (the next character at every
    /// position) from `indices`, and the state after the window.
    public func loss(indices: Tensor, targets: Tensor, steps: Int, streams: Int, state: (h: Tensor, c: Tensor)) throws -> (
        loss: Tensor, h: Tensor, c: Tensor
    ) {
        let (logits, h, c) = try self.logits(indices: indices, steps: steps, streams: streams, state: state)
        return (try Tensor.softmaxCrossEntropy(logits: logits, labels: targets), h, c)
    }

    /// The compiled step of truncated backpropagation through time on windows of `window` characters in
    /// `streams` streams: a run binds the window's indices and targets (`T·N` each, time-major), starts from
    /// `state` and leaves the state after the window in it (gradients stop at the window's start).
    public func trainingStep(
        window: Int, streams: Int, state: (h: Variable, c: Variable), optimizer: any Optimizer, clipNorm: Double?
    ) -> TrainingStep {
        TrainingStep(parameters: parameters, optimizer: optimizer, clipNorm: clipNorm) { [self] _ in
            let indices = try StepGraph.input([window * streams], on: device)
            let targets = try StepGraph.input([window * streams], on: device)
            let (loss, h, c) = try loss(
                indices: indices, targets: targets, steps: window, streams: streams, state: (state.h.value, state.c.value))
            return StepGraph(inputs: [indices, targets], loss: loss, stateUpdates: [(state.h, h), (state.c, c)])
        }
    }

    // MARK: Checkpoints

    /// Writes the parameters (and `optimizer` state) with the vocabulary and sizes in the metadata.
    public func save(to url: URL, optimizer: [NamedVariable] = [], metadata: [String: String] = [:]) throws {
        var all = metadata
        all[Self.modelKey] = Self.modelName
        all[Self.vocabularyKey] = try vocabulary.json()
        all[Self.hiddenKey] = String(hiddenSize)
        try Checkpoint.save(model: parameters, optimizer: optimizer, metadata: all, to: url)
    }

    /// Reads a checkpoint `save` wrote: the vocabulary and hidden size from its metadata, then the weights.
    public static func load(from url: URL, on device: Device) throws -> CharacterLanguageModel {
        let file = try SafeTensorsFile(contentsOf: url)
        guard file.metadata[modelKey] == modelName else {
            throw SequenceError.notACharacterModel(
                file: url.path, reason: "its metadata names model \(file.metadata[modelKey].map { "'\($0)'" } ?? "none")")
        }
        guard let json = file.metadata[vocabularyKey], let vocabulary = CharacterVocabulary(json: json) else {
            throw SequenceError.notACharacterModel(
                file: url.path, reason: "'\(vocabularyKey)' is missing or not a JSON array of characters")
        }
        guard let hidden = file.metadata[hiddenKey].flatMap(Int.init), hidden > 0 else {
            throw SequenceError.notACharacterModel(file: url.path, reason: "'\(hiddenKey)' is missing or not a positive integer")
        }
        var random = RandomSource(seed: 0)
        let model: CharacterLanguageModel
        do { model = try CharacterLanguageModel(vocabulary: vocabulary, hidden: hidden, random: &random, on: device) } catch let error
            as AllocationError
        {
            throw SequenceError.notACharacterModel(file: url.path, reason: "'\(hiddenKey)' \(hidden) is too large: \(error)")
        }
        try Checkpoint.load(file, path: url.path, model: model.parameters)
        return model
    }

    // MARK: Sampling

    /// `prompt` followed by `length` characters drawn one at a time from the model's distribution at
    /// `temperature` (below 1 sharper, above 1 flatter). The same `random` state gives the same text.
    public func generate(prompt: String, length: Int, temperature: Double, random: inout RandomSource) throws -> String {
        try requireSetting(temperature > 0 && temperature.isFinite, "--temperature", "must be a positive number, got \(temperature)")
        try requireSetting(length >= 0, "--length", "must not be negative, got \(length)")
        let encoded = try vocabulary.encode(prompt)
        try requireSetting(!encoded.isEmpty, "--prompt", "must have at least one character")
        let sampler = try Sampler(model: self)
        var logits: [Float] = []
        for index in encoded { logits = try sampler.step(index) }
        var generated: [Int] = []
        for position in 0..<length {
            let next = Self.draw(logits: logits, temperature: temperature, random: &random)
            generated.append(next)
            if position + 1 < length { logits = try sampler.step(next) }
        }
        return prompt + vocabulary.decode(generated)
    }

    /// An index drawn from `softmax(logits / temperature)`.
    static func draw(logits: [Float], temperature: Double, random: inout RandomSource) -> Int {
        let largest = Double(logits.max() ?? 0)
        let weights = logits.map { Foundation.exp((Double($0) - largest) / temperature) }
        let total = weights.reduce(0, +)
        let uniform = Double(random.next() >> 11) * 0x1p-53 * total
        var cumulative = 0.0
        for (index, weight) in weights.enumerated() {
            cumulative += weight
            if uniform < cumulative { return index }
        }
        return weights.lastIndex { $0 > 0 } ?? 0
    }

    /// One character in, the next character's logits out, the state kept on the device between calls:
    /// a plan compiled once and replayed per character.
    final class Sampler {
        let plan: Plan
        let state: (h: Variable, c: Variable)

        init(model: CharacterLanguageModel) throws {
            let device = model.device
            state = (
                try Variable(Tensor.zeros([1, model.hiddenSize], on: device)),
                try Variable(Tensor.zeros([1, model.hiddenSize], on: device))
            )
            let index = try Tensor([0] as [Float], shape: [1], on: device)
            let (logits, h, c) = try model.logits(indices: index, steps: 1, streams: 1, state: (state.h.value, state.c.value))
            plan = try Plan(inputs: [index], outputs: [logits], updates: [(state.h, h), (state.c, c)])
        }

        func step(_ index: Int) throws -> [Float] {
            try plan.run([[Float(index)]])
            return try plan.output(0)
        }
    }
}
