// Recurrent cells: the fused LSTM cell, its readable decomposition, and the vanilla tanh RNN cell.

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

    /// One vanilla RNN step: `h' = tanh(x · W_ihᵀ + b_ih + h · W_hhᵀ + b_hh)`.
    public static func rnnStep(x: Tensor, h: Tensor, weights: RecurrentWeights) throws -> Tensor {
        try weights.preactivation(x: x, h: h).tanh()
    }
}
