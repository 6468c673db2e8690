// The character-LSTM training step as a bench workload: the model of `kiln text` (one-hot characters into an
// LSTM, a dense layer to the vocabulary's logits) at hidden size 256, one window of 64 characters in 32
// streams, Adam at lr 3e-3 with gradients clipped to global norm 5 — the step `CharacterModelTrainer` runs,
// on random characters of a 65-character vocabulary (tiny Shakespeare's). Benchmarks/peers/charlstm_step.py
// times the same step in PyTorch and JAX.
import Foundation
import Kiln
import KilnExamples

extension Workload {
    /// One truncated-BPTT step of the character LSTM. Items are characters (`window · streams` a step). The
    /// check runs the same model on a window of 16 characters in 4 streams (the reference's loops take
    /// minutes at full size; `lstm_fwdbwd` checks the recurrence at a larger batch) and compares the loss,
    /// Adam's moments, the updated parameters and the carried state.
    public static func characterLSTMStep(hidden: Int = 256, window: Int = 64, streams: Int = 32, vocabulary size: Int = 65)
        -> Workload
    {
        func build(window: Int, streams: Int) -> (Device) throws -> WorkloadInstance {
            { device in
                var random = RandomSource(seed: 53)
                let vocabulary = CharacterVocabulary(characters: (0..<size).compactMap { Unicode.Scalar(33 + $0) })
                let model = try CharacterLanguageModel(vocabulary: vocabulary, hidden: hidden, random: &random, on: device)
                let state = (
                    h: try Variable(Tensor.zeros([streams, hidden], on: device)),
                    c: try Variable(Tensor.zeros([streams, hidden], on: device))
                )
                let optimizer = Adam()
                let step = model.trainingStep(window: window, streams: streams, state: state, optimizer: optimizer, clipNorm: 5)
                guard let plan = try step.plans(for: []).first else { throw BenchError.check("[charlstm_train_step] no plan compiled") }
                var text = RandomSource(seed: 54)
                let characters = (0...(window * streams)).map { _ in Float(text.next() % UInt64(size)) }
                let inputs = [Array(characters.dropLast()), Array(characters.dropFirst()), optimizer.scalars(step: 1, learningRate: 3e-3)]
                return WorkloadInstance(plan: plan, inputs: inputs) {
                    let states = (optimizer.state + model.parameters).map(\.variable.value) + [state.h.value, state.c.value]
                    return try plan.output(0).map(Double.init) + states.flatMap { try $0.doubles() }
                }
            }
        }
        return Workload(
            name: "charlstm_train_step",
            summary: "char-LSTM hidden \(hidden), vocabulary \(size), window \(window) × \(streams) streams: forward, loss, "
                + "backward, clip 5, Adam lr 3e-3",
            flopsPerStep: nil, itemsPerStep: window * streams, tolerance: .trainingStep, slowOnReference: true,
            build: build(window: window, streams: streams), check: build(window: 16, streams: 4))
    }
}
