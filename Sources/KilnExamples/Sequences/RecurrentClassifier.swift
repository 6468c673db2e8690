// RecurrentClassifier: an RNN or LSTM over a sequence `[T, N, I]` whose final hidden state a Dense layer
// reads out as class logits, with the two initialisations the vanishing-gradient demo contrasts.
import Foundation
import Kiln

/// The recurrent cell of a classifier.
public enum RecurrentCell: String, CaseIterable, Codable, Sendable {
    /// The vanilla tanh RNN.
    case rnn
    /// The LSTM, every step through the fused cell kernels.
    case lstm
}

/// A recurrent layer then a Dense readout of its last hidden state.
public final class RecurrentClassifier: Layer {
    public let cell: RecurrentCell
    public let rnn: RNN?
    public let lstm: LSTM?
    public let readout: Dense

    public init(cell: RecurrentCell, inputs: Int, hidden: Int, classes: Int, random: inout RandomSource, on device: Device) throws {
        self.cell = cell
        switch cell {
        case .rnn:
            rnn = try RNN(inputs: inputs, hidden: hidden, random: &random, on: device)
            lstm = nil
        case .lstm:
            rnn = nil
            lstm = try LSTM(inputs: inputs, hidden: hidden, random: &random, on: device)
        }
        readout = try Dense(hidden, classes, random: &random, on: device)
    }

    /// The recurrent layer's weights.
    public var recurrent: RecurrentLayer {
        if let lstm { return lstm }
        guard let rnn else { preconditionFailure("[recurrent classifier] no recurrent layer") }
        return rnn
    }

    /// The final hidden state `[N, H]` for `x [T, N, I]`.
    public func finalHidden(_ x: Tensor) throws -> Tensor {
        if let lstm { return try lstm.run(x).hidden }
        guard let rnn else { preconditionFailure("[recurrent classifier] no recurrent layer") }
        return try rnn.run(x).hidden
    }

    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        try readout.forward(finalHidden(x), context: context)
    }

    public var parameters: [NamedVariable] {
        recurrent.parameters.map { ("\(cell.rawValue).\($0.name)", $0.variable) }
            + readout.parameters.map { ("readout.\($0.name)", $0.variable) }
    }

    /// Multiplies the recurrent weight `W_hh` by `factor` (a large one makes gradients explode).
    public func scaleRecurrentWeight(by factor: Double) throws {
        let weight = recurrent.weightHH
        try weight.load(try weight.value.floats().map { $0 * Float(factor) })
    }

    /// Chrono initialisation (Tallec and Ollivier, "Can recurrent neural networks warp time?", 2018) for
    /// an LSTM meant to bridge up to `maximumLag` steps: forget-gate biases `log U(1, maximumLag − 1)`,
    /// input-gate biases their negatives, so the cell's memory times are spread up to the lag. PyTorch's
    /// default (biases near 0, a forget gate near ½) halves what the cell carries every step.
    public func chronoInitialise(maximumLag: Int, random: inout RandomSource) throws {
        guard let lstm else { throw SequenceError.invalidSetting(name: "chrono initialisation", reason: "needs an LSTM") }
        let hidden = lstm.hiddenSize
        var biasHH = try lstm.biasHH.value.floats()
        var biasIH = try lstm.biasIH.value.floats()
        let upper = Double(max(maximumLag - 1, 2))
        for unit in 0..<hidden {
            let uniform = Double(random.next() >> 11) * 0x1p-53
            let forget = Float(Foundation.log(1 + uniform * (upper - 1)))
            // Gate order i, f, g, o: the input gate is block 0, the forget gate block 1.
            biasHH[hidden + unit] = forget
            biasHH[unit] = -forget
            biasIH[hidden + unit] = 0
            biasIH[unit] = 0
        }
        try lstm.biasHH.load(biasHH)
        try lstm.biasIH.load(biasIH)
    }
}
