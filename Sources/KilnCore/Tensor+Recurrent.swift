// Recurrent cells: the fused LSTM cell, its readable decomposition, the fused LSTM sequence, and the vanilla
// tanh RNN cell.

/// The weights of one recurrent layer in PyTorch's layout: `weightIH [G·H, I]`, `weightHH [G·H, H]`,
/// `biasIH [G·H]`, `biasHH [G·H]`, with G = 4 gates (i, f, g, o) for an LSTM and 1 for a tanh RNN.
public struct RecurrentWeights {
    public var weightIH: Tensor
    public var weightHH: Tensor
    public var biasIH: Tensor?
    public var biasHH: Tensor?

    public init(weightIH: Tensor, weightHH: Tensor, biasIH: Tensor?, biasHH: Tensor?) {
        self.weightIH = weightIH
        self.weightHH = weightHH
        self.biasIH = biasIH
        self.biasHH = biasHH
    }

    /// `x · W_ihᵀ + b_ih + h · W_hhᵀ + b_hh`: every gate's pre-activation.
    public func preactivation(x: Tensor, h: Tensor) throws -> Tensor {
        try x.linear(weight: weightIH, bias: biasIH) + h.linear(weight: weightHH, bias: biasHH)
    }
}

extension Tensor {
    /// One fused LSTM step on gate pre-activations `z [N, 4H]` (order i, f, g, o) and the previous cell
    /// state `cPrev [N, H]`: `c = σ(f)·cPrev + σ(i)·tanh(g)`, `h = σ(o)·tanh(c)`.
    public static func lstmCell(z: Tensor, cPrev: Tensor) throws -> (h: Tensor, c: Tensor) {
        let state = try apply(.lstmCell, [z, cPrev])
        let hidden = cPrev.shape[1]
        return (try state.slice(axis: 1, start: 0, length: hidden), try state.slice(axis: 1, start: hidden, length: hidden))
    }

    /// The same step as `lstmCell` written with primitive ops: the documentation of the fused kernel
    /// and a second reference for it in tests.
    public static func lstmCellDecomposed(z: Tensor, cPrev: Tensor) throws -> (h: Tensor, c: Tensor) {
        let hidden = cPrev.shape[1]
        func gate(_ index: Int) throws -> Tensor { try z.slice(axis: 1, start: index * hidden, length: hidden) }
        let inputGate = try gate(0).sigmoid()
        let forgetGate = try gate(1).sigmoid()
        let candidate = try gate(2).tanh()
        let outputGate = try gate(3).sigmoid()
        let c = try forgetGate * cPrev + inputGate * candidate
        return (try outputGate * c.tanh(), c)
    }

    /// One LSTM step from input `x [N, I]` and state `(h, c)`.
    public static func lstmStep(x: Tensor, h: Tensor, c: Tensor, weights: RecurrentWeights) throws -> (h: Tensor, c: Tensor) {
        try lstmCell(z: weights.preactivation(x: x, h: h), cPrev: c)
    }

    /// A whole LSTM layer over `x [T, N, I]` from state `(h0, c0)`, each `[N, H]`, as one fused op: every step's
    /// hidden state `[T, N, H]` and the final `h` and `c`. It computes what `lstmStep` computes step by step
    /// (the readable decomposition the tests compare it with).
    public static func lstmSequence(
        x: Tensor, h0: Tensor, c0: Tensor, weights: RecurrentWeights
    ) throws -> (outputs: Tensor, h: Tensor, c: Tensor) {
        let gates = weights.weightIH.shape[0]
        let biases = [weights.biasIH, weights.biasHH].compactMap { $0 }
        let bias = try biases.isEmpty ? Tensor.zeros([gates], on: x.device) : biases.dropFirst().reduce(biases[0], +)
        let state = try apply(.lstmSequence, [x, h0, c0, weights.weightIH, weights.weightHH, bias])
        // Blocks of `state`: h0, h_0 ... h_{T−1}, then c0, c_0 ... c_{T−1} (see `Op.lstmSequence`).
        let (steps, batch, hidden) = (x.shape[0], h0.shape[0], h0.shape[1])
        func block(_ index: Int) throws -> Tensor {
            try state.slice(axis: 0, start: index, length: 1).reshaped([batch, hidden])
        }
        return (try state.slice(axis: 0, start: 1, length: steps), try block(steps), try block(2 * steps + 1))
    }

    /// One vanilla RNN step: `h' = tanh(x · W_ihᵀ + b_ih + h · W_hhᵀ + b_hh)`.
    public static func rnnStep(x: Tensor, h: Tensor, weights: RecurrentWeights) throws -> Tensor {
        try weights.preactivation(x: x, h: h).tanh()
    }
}
