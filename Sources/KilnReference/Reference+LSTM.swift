// Reference LSTM cell: one step from pre-activations z = x W_ih^T + b_ih + h W_hh^T + b_hh, and its gradient.
// Gates in PyTorch's order i, f, g, o occupy z's columns [0, H), [H, 2H), [2H, 3H), [3H, 4H).

import KilnCore

extension ReferenceBackend {
    /// `h | c` as `[N, 2H]`, with `i, f, o = sigmoid`, `g = tanh`, `c = f * cPrev + i * g`, `h = o * tanh(c)`.
    func lstmCell(z: [Scalar], cPrevious: [Scalar], batch: Int, hidden: Int) -> [Scalar] {
        var output = [Scalar](repeating: 0, count: batch * 2 * hidden)
        for n in 0..<batch {
            for j in 0..<hidden {
                let gates = LSTMGates(z: z, n: n, j: j, hidden: hidden)
                let c = gates.f * cPrevious[n * hidden + j] + gates.i * gates.g
                output[n * 2 * hidden + j] = gates.o * Scalar.hyperbolicTangent(c)
                output[n * 2 * hidden + hidden + j] = c
            }
        }
        return output
    }

    /// `dz | dcPrev` as `[N, 5H]`, from `state = h | c` (the forward output) and its gradient `dState = dh | dc`:
    /// `dcTotal = dc + dh * o * (1 - tanh(c)^2)`, `dz_i = dcTotal * g * i(1 - i)`, `dz_f = dcTotal * cPrev * f(1 - f)`,
    /// `dz_g = dcTotal * i * (1 - g^2)`, `dz_o = dh * tanh(c) * o(1 - o)`, `dcPrev = dcTotal * f`.
    func lstmCellBackward(
        z: [Scalar], cPrevious: [Scalar], state: [Scalar], dState: [Scalar], batch: Int, hidden: Int
    ) -> [Scalar] {
        var output = [Scalar](repeating: 0, count: batch * 5 * hidden)
        for n in 0..<batch {
            for j in 0..<hidden {
                let gates = LSTMGates(z: z, n: n, j: j, hidden: hidden)
                // state and dState rows are [h | c]: h at column j, c at column H + j.
                let c = state[n * 2 * hidden + hidden + j]
                let dh = dState[n * 2 * hidden + j]
                let dc = dState[n * 2 * hidden + hidden + j]
                let tanhC = Scalar.hyperbolicTangent(c)
                let dcTotal = dc + dh * gates.o * (1 - tanhC * tanhC)
                // Output row: dz for gate k at column k * H + j, then dcPrev at column 4H + j.
                let row = n * 5 * hidden
                output[row + j] = dcTotal * gates.g * gates.i * (1 - gates.i)
                output[row + hidden + j] = dcTotal * cPrevious[n * hidden + j] * gates.f * (1 - gates.f)
                output[row + 2 * hidden + j] = dcTotal * gates.i * (1 - gates.g * gates.g)
                output[row + 3 * hidden + j] = dh * tanhC * gates.o * (1 - gates.o)
                output[row + 4 * hidden + j] = dcTotal * gates.f
            }
        }
        return output
    }
}

/// The four gate activations of hidden unit `j` of batch row `n`.
struct LSTMGates<Scalar: ReferenceScalar> {
    let i: Scalar, f: Scalar, g: Scalar, o: Scalar

    init(z: [Scalar], n: Int, j: Int, hidden: Int) {
        // Row n of z holds 4H pre-activations; gate k of unit j is at column k * H + j.
        let row = n * 4 * hidden
        i = Scalar.sigmoid(z[row + j])
        f = Scalar.sigmoid(z[row + hidden + j])
        g = Scalar.hyperbolicTangent(z[row + 2 * hidden + j])
        o = Scalar.sigmoid(z[row + 3 * hidden + j])
    }
}
