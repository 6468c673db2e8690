// The LSTM cell: one step from gate pre-activations z = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh, and its gradient. Gates in
// PyTorch's order i, f, g, o occupy z's columns [0, H), [H, 2H), [2H, 3H), [3H, 4H). Both ops decompose into slices,
// sigmoid and tanh, products and a concatenation (`Tensor.lstmCellDecomposed` is the forward one).

/// Inputs `(z [N, 4H], cPrev [N, H])`: output `[N, 2H]` holding `h` in columns `0..<H` and `c` in `H..<2H`, with
/// `i, f, o = σ`, `g = tanh`, `c = f · cPrev + i · g`, `h = o · tanh(c)`.
struct LSTMCell: Decomposable {
    var name: String { "lstm_cell" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(2)
        let (z, c) = (rule.shapes[0], rule.shapes[1])
        try rule.require(z.rank == 2 && c.rank == 2, "z and cPrev must be rank 2")
        try rule.require(z[0] == c[0] && z[1] == 4 * c[1], "z must be [N, 4H] for cPrev [N, H]")
        return [c[0], 2 * c[1]]
    }

    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        let (z, cPrev) = (inputs[0], inputs[1])
        let hidden = cPrev.shape[1]
        let packed = try Tensor.apply(.lstmCellBackward, [z, cPrev, output, g])
        return [try packed.slice(axis: 1, start: 0, length: 4 * hidden), try packed.slice(axis: 1, start: 4 * hidden, length: hidden)]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (z, cPrevious) = (inputs[0], inputs[1])
        let (batch, hidden) = (shapes[1][0], shapes[1][1])
        var result = [Scalar](repeating: 0, count: batch * 2 * hidden)
        for n in 0..<batch {
            for j in 0..<hidden {
                let gates = LSTMGates(z: z, n: n, j: j, hidden: hidden)
                let c = gates.f * cPrevious[n * hidden + j] + gates.i * gates.g
                result[n * 2 * hidden + j] = gates.o * Scalar.hyperbolicTangent(c)
                result[n * 2 * hidden + hidden + j] = c
            }
        }
        return result
    }

    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let (h, c) = try Tensor.lstmCellDecomposed(z: inputs[0], cPrev: inputs[1])
        return try Tensor.concatenate([h, c], axis: 1)
    }
}

/// Inputs `(z [N, 4H], cPrev [N, H], state [N, 2H], dState [N, 2H])`, where `state = h | c` is `lstmCell`'s output and
/// `dState = dh | dc` its gradient: output `[N, 5H]` holding `dz` in `0..<4H` and `dcPrev` in `4H..<5H`, with
/// `dcTotal = dc + dh · o · (1 − tanh(c)²)`, `dz_i = dcTotal · g · i(1 − i)`, `dz_f = dcTotal · cPrev · f(1 − f)`,
/// `dz_g = dcTotal · i · (1 − g²)`, `dz_o = dh · tanh(c) · o(1 − o)`, `dcPrev = dcTotal · f`.
struct LSTMCellBackward: Decomposable {
    var name: String { "lstm_cell_backward" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(4)
        let (z, c) = (rule.shapes[0], rule.shapes[1])
        try rule.require(z.rank == 2 && c.rank == 2, "z and cPrev must be rank 2")
        try rule.require(z[0] == c[0] && z[1] == 4 * c[1], "z must be [N, 4H] for cPrev [N, H]")
        let state: Shape = [c[0], 2 * c[1]]
        try rule.require(rule.shapes[2] == state && rule.shapes[3] == state, "state and dState must be \(state)")
        return [c[0], 5 * c[1]]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (z, cPrevious, state, dState) = (inputs[0], inputs[1], inputs[2], inputs[3])
        let (batch, hidden) = (shapes[1][0], shapes[1][1])
        var result = [Scalar](repeating: 0, count: batch * 5 * hidden)
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
                result[row + j] = dcTotal * gates.g * gates.i * (1 - gates.i)
                result[row + hidden + j] = dcTotal * cPrevious[n * hidden + j] * gates.f * (1 - gates.f)
                result[row + 2 * hidden + j] = dcTotal * gates.i * (1 - gates.g * gates.g)
                result[row + 3 * hidden + j] = dh * tanhC * gates.o * (1 - gates.o)
                result[row + 4 * hidden + j] = dcTotal * gates.f
            }
        }
        return result
    }

    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let (z, cPrevious, state, dState) = (inputs[0], inputs[1], inputs[2], inputs[3])
        let hidden = cPrevious.shape[1]
        func columns(_ x: Tensor, _ block: Int) throws -> Tensor { try x.slice(axis: 1, start: block * hidden, length: hidden) }
        let (i, f) = (try columns(z, 0).sigmoid(), try columns(z, 1).sigmoid())
        let (g, o) = (try columns(z, 2).tanh(), try columns(z, 3).sigmoid())
        let (dh, dc) = (try columns(dState, 0), try columns(dState, 1))
        let tanhC = try columns(state, 1).tanh()
        let dcTotal = try dc + dh * o * (1 - tanhC * tanhC)
        return try Tensor.concatenate(
            [
                dcTotal * g * i * (1 - i), dcTotal * cPrevious * f * (1 - f), dcTotal * i * (1 - g * g), dh * tanhC * o * (1 - o),
                dcTotal * f,
            ], axis: 1)
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
