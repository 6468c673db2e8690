// RNN and LSTM layers over a sequence `[T, N, I]` (PyTorch's default layout), one layer each, with
// PyTorch's parameter names (`weight_ih_l0`, ...).
import KilnCore

/// What a recurrent layer returns: every step's hidden state, and the final hidden and cell states.
public struct RecurrentOutput {
    /// `[T, N, H]`.
    public var outputs: Tensor
    public var hidden: Tensor
    /// The final cell state (LSTM only).
    public var cell: Tensor?
}

/// The shared weights of a recurrent layer with `gates` gate blocks.
public class RecurrentLayer {
    public let weightIH: Variable
    public let weightHH: Variable
    public let biasIH: Variable
    public let biasHH: Variable
    public let hiddenSize: Int

    init(inputs: Int, hidden: Int, gates: Int, random: inout RandomSource, on device: Device) throws {
        // PyTorch draws every recurrent weight and bias from U(±1/√H).
        func draw(_ shape: Shape) throws -> Variable {
            try Variable(
                Tensor(
                    Initializer.pytorchDefault.values(count: shape.count, fanIn: hidden, fanOut: hidden, using: &random), shape: shape,
                    on: device))
        }
        weightIH = try draw([gates * hidden, inputs])
        weightHH = try draw([gates * hidden, hidden])
        biasIH = try draw([gates * hidden])
        biasHH = try draw([gates * hidden])
        hiddenSize = hidden
    }

    var weights: RecurrentWeights {
        RecurrentWeights(weightIH: weightIH.value, weightHH: weightHH.value, biasIH: biasIH.value, biasHH: biasHH.value)
    }

    public var parameters: [NamedVariable] {
        [("weight_ih_l0", weightIH), ("weight_hh_l0", weightHH), ("bias_ih_l0", biasIH), ("bias_hh_l0", biasHH)]
    }

    func checkInput(_ x: Tensor, op: String) throws {
        guard x.shape.rank == 3, x.shape[2] == weightIH.shape[1] else {
            throw ShapeError(op: op, "input must be [T, N, \(weightIH.shape[1])]", shapes: [x.shape])
        }
    }

    /// The input of step `t` of `x [T, N, I]`: `[N, I]`.
    func step(_ x: Tensor, _ t: Int) throws -> Tensor {
        try x.slice(axis: 0, start: t, length: 1).reshaped([x.shape[1], x.shape[2]])
    }

    /// Every step's `[N, H]` state stacked to `[T, N, H]`.
    func stack(_ states: [Tensor]) throws -> Tensor {
        try Tensor.concatenate(states.map { try $0.reshaped(Shape([1] + $0.shape.dimensions)) }, axis: 0)
    }
}

/// A vanilla tanh RNN: `h_t = tanh(x_t · W_ihᵀ + b_ih + h_{t−1} · W_hhᵀ + b_hh)`.
public final class RNN: RecurrentLayer, Layer {
    public init(inputs: Int, hidden: Int, random: inout RandomSource, on device: Device) throws {
        try super.init(inputs: inputs, hidden: hidden, gates: 1, random: &random, on: device)
    }

    /// Runs the sequence from `initial` (zeros when nil).
    public func run(_ x: Tensor, initial: Tensor? = nil) throws -> RecurrentOutput {
        try checkInput(x, op: "rnn")
        var h = try initial ?? Tensor.zeros([x.shape[1], hiddenSize], on: x.device)
        var states: [Tensor] = []
        for t in 0..<x.shape[0] {
            h = try Tensor.rnnStep(x: step(x, t), h: h, weights: weights)
            states.append(h)
        }
        return RecurrentOutput(outputs: try stack(states), hidden: h, cell: nil)
    }

    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor { try run(x).outputs }
}

/// An LSTM (gates i, f, g, o) whose whole sequence runs as one fused op, `Tensor.lstmSequence`.
public final class LSTM: RecurrentLayer, Layer {
    public init(inputs: Int, hidden: Int, random: inout RandomSource, on device: Device) throws {
        try super.init(inputs: inputs, hidden: hidden, gates: 4, random: &random, on: device)
    }

    /// Runs the sequence from `initial` hidden and cell states (zeros when nil).
    public func run(_ x: Tensor, initial: (h: Tensor, c: Tensor)? = nil) throws -> RecurrentOutput {
        try checkInput(x, op: "lstm")
        let zeros = try Tensor.zeros([x.shape[1], hiddenSize], on: x.device)
        let (h0, c0) = initial ?? (zeros, zeros)
        let result = try Tensor.lstmSequence(x: x, h0: h0, c0: c0, weights: weights)
        return RecurrentOutput(outputs: result.outputs, hidden: result.h, cell: result.c)
    }

    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor { try run(x).outputs }
}
