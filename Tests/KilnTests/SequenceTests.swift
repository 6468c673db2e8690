// The sequence models' logic on the reference backend: the recall task's layout, the vanishing-gradient
// measurement (the RNN's per-step gradient falls faster with distance than the LSTM's), the LSTM
// running its fused cell on every step, and a character model that trains, checkpoints and generates
// deterministically.
import Foundation
import Kiln
import KilnTestSupport
import XCTest

@testable import KilnExamples

final class SequenceTests: XCTestCase {
    let device = Device(ReferenceBackend<Float>())

    func testRecallBatchShowsTheSymbolFirstThenDistractors() throws {
        let task = try SymbolRecallTask(symbols: 3, length: 5)
        var random = RandomSource(seed: 7)
        let (inputs, labels) = task.batch(count: 4, random: &random)
        XCTAssertEqual(inputs.count, 5 * 4 * 4)
        for n in 0..<4 {
            func step(_ t: Int) -> [Float] { Array(inputs[(t * 4 + n) * 4..<(t * 4 + n + 1) * 4]) }
            var first = [Float](repeating: 0, count: 4)
            first[Int(labels[n])] = 1
            first[3] = 1
            XCTAssertEqual(step(0), first, "sequence \(n) starts with its label and the marker")
            for t in 1..<5 {
                XCTAssertEqual(step(t).reduce(0, +), 1, "one distractor at step \(t)")
                XCTAssertEqual(step(t)[3], 0, "no marker after the first step")
            }
        }
        XCTAssertThrowsError(try SymbolRecallTask(symbols: 1, length: 5))
    }

    /// On a tiny recall problem, the gradient with respect to the first input relative to the last falls
    /// by orders of magnitude more for the RNN than for the LSTM of the same hidden size.
    func testRNNGradientVanishesFasterThanLSTMGradient() throws {
        let task = try SymbolRecallTask(symbols: 3, length: 16)
        var data = RandomSource(seed: 11)
        let batch = task.batch(count: 8, random: &data)
        var random = RandomSource(seed: 5)
        let rnn = try RecurrentClassifier(cell: .rnn, inputs: task.inputSize, hidden: 8, classes: 3, random: &random, on: device)
        let lstm = try RecurrentClassifier(cell: .lstm, inputs: task.inputSize, hidden: 8, classes: 3, random: &random, on: device)
        try lstm.chronoInitialise(maximumLag: task.length, random: &random)
        let shape = task.shape(count: 8)
        let rnnNorms = try VanishingGradientDemo.inputGradientNorms(
            rnn, inputs: batch.inputs, labels: batch.labels, shape: shape, on: device)
        let lstmNorms = try VanishingGradientDemo.inputGradientNorms(
            lstm, inputs: batch.inputs, labels: batch.labels, shape: shape, on: device)
        XCTAssertEqual(rnnNorms.count, 16)
        // Index t is step t; the loss reads the last step, so index 15 is distance 0.
        let rnnDecay = rnnNorms[0] / rnnNorms[15]
        let lstmDecay = lstmNorms[0] / lstmNorms[15]
        XCTAssertGreaterThan(rnnNorms[0], 0)
        XCTAssertLessThan(rnnDecay, 1e-3, "RNN gradient over 15 steps: \(rnnNorms)")
        XCTAssertGreaterThan(lstmDecay, 1e-2, "LSTM gradient over 15 steps: \(lstmNorms)")
        XCTAssertLessThan(rnnDecay * 100, lstmDecay)
    }

    /// The whole sequence is one fused op forward and one backward, not a cell per step.
    func testLSTMRunsTheWholeSequenceAsOneFusedOpForwardAndBackward() throws {
        var random = RandomSource(seed: 2)
        let model = try CharacterLanguageModel(vocabulary: CharacterVocabulary(text: "abcd"), hidden: 4, random: &random, on: device)
        let (steps, streams) = (7, 2)
        let indices = try Tensor([Float](repeating: 1, count: steps * streams), shape: [steps * streams], on: device)
        let zeros = try Tensor.zeros([streams, 4], on: device)
        let (loss, _, _) = try model.loss(indices: indices, targets: indices, steps: steps, streams: streams, state: (zeros, zeros))
        let grads = try gradients(of: loss, withRespectTo: model.parameters.map(\.variable.value))
        var forward = 0
        var backward = 0
        var seen = Set<ObjectIdentifier>()
        var stack = grads.map(\.node)
        while let node = stack.popLast() {
            guard seen.insert(ObjectIdentifier(node)).inserted else { continue }
            if case .lstmSequence = node.op { forward += 1 }
            if case .lstmSequenceBackward = node.op { backward += 1 }
            stack.append(contentsOf: node.inputs)
        }
        XCTAssertEqual(forward, 1)
        XCTAssertEqual(backward, 1)
    }

    func testVocabularyRoundTripsThroughJSONAndRejectsUnknownCharacters() throws {
        let vocabulary = CharacterVocabulary(text: "ba\"\n\\é b")
        XCTAssertEqual(vocabulary.characters.map { String($0) }, ["\n", " ", "\"", "\\", "a", "b", "é"])
        XCTAssertEqual(vocabulary.decode(try vocabulary.encode("a é")), "a é")
        XCTAssertEqual(CharacterVocabulary(json: try vocabulary.json()), vocabulary)
        XCTAssertNil(CharacterVocabulary(json: #"["ab"]"#))
        XCTAssertNil(CharacterVocabulary(json: #"["a", "a"]"#))
        XCTAssertThrowsError(try vocabulary.encode("abz")) { error in
            XCTAssertEqual(error as? SequenceError, .unknownCharacters("z"))
        }
    }

    func testStreamsReadContiguousWindowsWithTargetsOneAhead() {
        let streams = CharacterStreams(Array(0..<21), streams: 2, window: 3)
        XCTAssertEqual(streams.streamLength, 10)
        XCTAssertEqual(streams.count, 3)
        let second = streams.batch(1)
        // Time-major: position t of stream n at t·2 + n; stream 1 starts at 10.
        XCTAssertEqual(second.inputs, [3, 13, 4, 14, 5, 15])
        XCTAssertEqual(second.targets, [4, 14, 5, 15, 6, 16])
    }

    func testCharacterModelTrainsCheckpointsAndGeneratesDeterministically() throws {
        let text = String(repeating: "the cat sat on the mat. a dog ate the hat. ", count: 24)
        var configuration = CharacterTrainingConfiguration()
        configuration.hidden = 16
        configuration.window = 8
        configuration.batchSize = 4
        configuration.learningRate = 0.02
        configuration.seed = 3
        let trainer = try CharacterModelTrainer(text: text, configuration: configuration, device: device)
        let before = try trainer.validationLoss()
        var losses: [Double] = []
        let report = try trainer.trainEpoch { _, _, loss in losses.append(loss) }
        XCTAssertGreaterThan(losses.count, 10)
        let head = losses.prefix(3).reduce(0, +) / 3
        let tail = losses.suffix(3).reduce(0, +) / 3
        XCTAssertLessThan(tail, head * 0.8, "training loss per window: \(losses)")
        XCTAssertLessThan(report.validationLoss, before)
        XCTAssertEqual(report.validationBitsPerCharacter, report.validationLoss / log(2), accuracy: 1e-12)

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-seq-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("checkpoint.safetensors")
        try trainer.save(to: url)
        let loaded = try CharacterLanguageModel.load(from: url, on: device)
        XCTAssertEqual(loaded.vocabulary, trainer.model.vocabulary)
        XCTAssertEqual(loaded.hiddenSize, 16)
        for ((name, original), (loadedName, copy)) in zip(trainer.model.parameters, loaded.parameters) {
            XCTAssertEqual(name, loadedName)
            XCTAssertEqual(try original.value.floats(), try copy.value.floats(), name)
        }

        func sample(_ model: CharacterLanguageModel, seed: UInt64) throws -> String {
            var random = RandomSource(seed: seed)
            return try model.generate(prompt: "the ", length: 40, temperature: 0.8, random: &random)
        }
        let first = try sample(trainer.model, seed: 9)
        XCTAssertEqual(first.unicodeScalars.count, 44)
        XCTAssertTrue(first.hasPrefix("the "))
        XCTAssertEqual(try sample(trainer.model, seed: 9), first)
        XCTAssertEqual(try sample(loaded, seed: 9), first)
        var random = RandomSource(seed: 1)
        XCTAssertThrowsError(try loaded.generate(prompt: "the ", length: 5, temperature: 0, random: &random))
        XCTAssertThrowsError(try loaded.generate(prompt: "QQ", length: 5, temperature: 1, random: &random))
    }

    func testLowTemperaturePicksTheMostLikelyCharacter() {
        var random = RandomSource(seed: 4)
        for _ in 0..<20 { XCTAssertEqual(CharacterLanguageModel.draw(logits: [0.1, 2, 1.9, -3], temperature: 0.01, random: &random), 1) }
        var counts = [0, 0]
        for _ in 0..<2000 { counts[CharacterLanguageModel.draw(logits: [0, Float(log(3.0))], temperature: 1, random: &random)] += 1 }
        XCTAssertEqual(Double(counts[1]) / 2000, 0.75, accuracy: 0.04)
    }

    func testTooShortTextAndNonCharacterCheckpointGiveClearErrors() throws {
        XCTAssertThrowsError(try CharacterModelTrainer(text: "abcabc", configuration: CharacterTrainingConfiguration(), device: device)) {
            error in
            guard case .textTooShort = error as? SequenceError else { return XCTFail("\(error)") }
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-seq-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        let weight = try Variable(Tensor.zeros([2], on: device))
        try Checkpoint.save(model: [("weight", weight)], metadata: ["kiln.model": "mlp"], to: url)
        XCTAssertThrowsError(try CharacterLanguageModel.load(from: url, on: device)) { error in
            XCTAssertTrue("\(error)".contains("not a char-lstm checkpoint"), "\(error)")
        }
    }
}
