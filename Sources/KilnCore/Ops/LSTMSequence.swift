// The LSTM sequence: a whole layer over T steps as one op (`lstmSequence`), and its backward through time
// (`lstmSequenceBackward`), which yields the gate pre-activation gradients from which the graph takes the weight,
// bias and input gradients as whole-sequence products. Gates in PyTorch's order i, f, g, o. Both decompose into a
// loop of per-step products, slices and cell arithmetic.

/// Inputs `(x [T, N, I], h0 [N, H], c0 [N, H], weightIH [4H, I], weightHH [4H, H], bias [4H])`, where `bias` is
/// `b_ih + b_hh`: a whole LSTM layer. Output `[6T + 2, N, H]`, blocks of `[N, H]`: `0...T` hold `h0, h_0, ..., h_{T−1}`,
/// `T + 1 ... 2T + 1` hold `c0, c_0, ..., c_{T−1}`, and block `2T + 2 + 4t + k` holds gate `k`'s activation at step `t`,
/// which the backward reuses. Each step computes `z = x_t · W_ihᵀ + bias + h_{t−1} · W_hhᵀ`, `c_t = f · c_{t−1} + i · g`,
/// `h_t = o · tanh(c_t)`.
struct LSTMSequence: Decomposable {
    var name: String { "lstm_sequence" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(6)
        let s = rule.shapes
        let (x, h0, c0, weightIH, weightHH, bias) = (s[0], s[1], s[2], s[3], s[4], s[5])
        try rule.require(x.rank == 3, "x must be [T, N, I]")
        try rule.require(h0.rank == 2 && h0 == c0 && h0[0] == x[1], "h0 and c0 must both be [N, H] with N = \(x[1])")
        let hidden = h0[1]
        try rule.require(weightIH == [4 * hidden, x[2]], "weightIH must be [\(4 * hidden), \(x[2])]")
        try rule.require(weightHH == [4 * hidden, hidden], "weightHH must be [\(4 * hidden), \(hidden)]")
        try rule.require(bias == [4 * hidden], "bias must be [\(4 * hidden)]")
        return [6 * x[0] + 2, x[1], hidden]
    }

    /// The recurrence runs backwards in one op that yields the gate pre-activation gradients `dz` of every step (and
    /// those of the initial state); the gradients of `x`, the weights and the bias are then whole-sequence products of
    /// `dz`, so the graph keeps only those that are asked for and runs them as large matrix products.
    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        let (x, weightIH, weightHH) = (inputs[0], inputs[3], inputs[4])
        let (steps, batch, hidden) = (x.shape[0], x.shape[1], weightHH.shape[1])
        let packed = try Tensor.apply(.lstmSequenceBackward, [weightHH, output, g])
        let rows = steps * batch
        let dz = try packed.slice(axis: 0, start: 0, length: rows * 4 * hidden).reshaped([rows, 4 * hidden])
        func initialState(_ index: Int) throws -> Tensor {
            try packed.slice(axis: 0, start: rows * 4 * hidden + index * batch * hidden, length: batch * hidden).reshaped([batch, hidden])
        }
        // Blocks 0 ..< T of the output are h_{t−1} for every step t (h0 first).
        let previousHidden = try output.slice(axis: 0, start: 0, length: steps).reshaped([rows, hidden])
        // dzᵀ once for both weight gradients (a product with a transposed operand would transpose dz for each).
        let dzT = try dz.transposed()
        return [
            try dz.matmul(weightIH).reshaped(x.shape),
            try initialState(0),
            try initialState(1),
            try dzT.matmul(x.reshaped([rows, x.shape[2]])),
            try dzT.matmul(previousHidden),
            // The bias gradient sums dz's columns: dzᵀ's rows, read contiguously (pocl, the char-LSTM's [2048, 1024]:
            // 0.8-1.2 ms down dz's columns, whose rows are 4 KiB apart).
            try dzT.sum(axes: [1]),
        ]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (x, h0, c0, weightIH, weightHH, bias) = (inputs[0], inputs[1], inputs[2], inputs[3], inputs[4], inputs[5])
        let (steps, batch, inputSize, hidden) = (shapes[0][0], shapes[0][1], shapes[0][2], shapes[1][1])
        let block = batch * hidden
        var state = [Scalar](repeating: 0, count: (6 * steps + 2) * block)
        state.replaceSubrange(0..<block, with: h0)
        state.replaceSubrange((steps + 1) * block..<(steps + 2) * block, with: c0)
        for t in 0..<steps {
            let hPrevious = t * block
            let cPrevious = (steps + 1 + t) * block
            for n in 0..<batch {
                for j in 0..<hidden {
                    var activations: [Scalar] = []
                    for k in 0..<4 {
                        // Row k·H + j of both weight matrices produces gate k of unit j.
                        let row = k * hidden + j
                        var z = bias[row]
                        for p in 0..<inputSize { z += x[(t * batch + n) * inputSize + p] * weightIH[row * inputSize + p] }
                        for p in 0..<hidden { z += state[hPrevious + n * hidden + p] * weightHH[row * hidden + p] }
                        activations.append(k == 2 ? Scalar.hyperbolicTangent(z) : Scalar.sigmoid(z))
                    }
                    let (i, f, g, o) = (activations[0], activations[1], activations[2], activations[3])
                    let c = f * state[cPrevious + n * hidden + j] + i * g
                    state[(t + 1) * block + n * hidden + j] = o * Scalar.hyperbolicTangent(c)
                    state[(steps + 2 + t) * block + n * hidden + j] = c
                    for k in 0..<4 { state[(2 * steps + 2 + 4 * t + k) * block + n * hidden + j] = activations[k] }
                }
            }
        }
        return state
    }

    /// Step by step: the input and recurrent products, the gates, the cell update; the states and gates of every
    /// step are concatenated into the packed layout.
    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let (x, h0, c0, weightIH, weightHH) = (inputs[0], inputs[1], inputs[2], inputs[3], inputs[4])
        let (steps, batch, hidden) = (x.shape[0], x.shape[1], h0.shape[1])
        let bias = try inputs[5].reshaped([1, 4 * hidden])
        let block: Shape = [1, batch, hidden]
        var (h, c) = (h0, c0)
        var (hiddenStates, cellStates, gates) = ([try h0.reshaped(block)], [try c0.reshaped(block)], [Tensor]())
        for t in 0..<steps {
            let input = try x.slice(axis: 0, start: t, length: 1).reshaped([batch, x.shape[2]])
            let z = try input.matmul(weightIH, transposeOther: true) + bias + h.matmul(weightHH, transposeOther: true)
            func gate(_ k: Int) throws -> Tensor { try z.slice(axis: 1, start: k * hidden, length: hidden) }
            let activations = [try gate(0).sigmoid(), try gate(1).sigmoid(), try gate(2).tanh(), try gate(3).sigmoid()]
            c = try activations[1] * c + activations[0] * activations[2]
            h = try activations[3] * c.tanh()
            hiddenStates.append(try h.reshaped(block))
            cellStates.append(try c.reshaped(block))
            gates += try activations.map { try $0.reshaped(block) }
        }
        return try Tensor.concatenate(hiddenStates + cellStates + gates, axis: 0)
    }
}

/// Inputs `(weightHH [4H, H], state, dState)`, where `state [6T + 2, N, H]` is `lstmSequence`'s output and `dState` its
/// gradient (every block of it: the hidden and cell states of every step and the saved gate activations): output
/// `[T·N·4H + 2·N·H]` holding the gate pre-activation gradients `dz [T, N, 4H]`, then `dh0 [N, H]` and `dc0 [N, H]`.
/// Going back from the last step, with `dh`, `dc` what flows into step t from the outputs and from step t + 1:
/// `dcTotal = dc + dh · o · (1 − tanh(c_t)²)`, `dz_i = (dcTotal · g + d_i) · i(1 − i)`,
/// `dz_f = (dcTotal · c_{t−1} + d_f) · f(1 − f)`, `dz_g = (dcTotal · i + d_g) · (1 − g²)`,
/// `dz_o = (dh · tanh(c_t) + d_o) · o(1 − o)`; step t − 1 then receives `dz_t · W_hh` and `dcTotal · f`.
struct LSTMSequenceBackward: Decomposable {
    var name: String { "lstm_sequence_backward" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(3)
        let (weightHH, state) = (rule.shapes[0], rule.shapes[1])
        try rule.require(weightHH.rank == 2 && weightHH[0] == 4 * weightHH[1], "weightHH must be [4H, H]")
        let hidden = weightHH[1]
        try rule.require(
            state.rank == 3 && state[0] >= 8 && (state[0] - 2) % 6 == 0 && state[2] == hidden,
            "state must be [6T + 2, N, \(hidden)], lstm_sequence's output")
        try rule.require(rule.shapes[2] == state, "dState must have state's shape")
        let (steps, batch) = ((state[0] - 2) / 6, state[1])
        return [steps * batch * 4 * hidden + 2 * batch * hidden]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (weightHH, state, dState) = (inputs[0], inputs[1], inputs[2])
        let (steps, batch, hidden) = ((shapes[1][0] - 2) / 6, shapes[1][1], shapes[1][2])
        let block = batch * hidden
        var dz = [Scalar](repeating: 0, count: steps * batch * 4 * hidden)
        // Gradients flowing into h_{t} and c_{t} from later steps; start with the ones of the last step's outputs.
        var dhCarried = [Scalar](repeating: 0, count: block)
        var dcCarried = [Scalar](repeating: 0, count: block)
        for t in stride(from: steps - 1, through: 0, by: -1) {
            var dcNext = [Scalar](repeating: 0, count: block)
            for n in 0..<batch {
                for j in 0..<hidden {
                    let unit = n * hidden + j
                    func gate(_ k: Int) -> Int { (2 * steps + 2 + 4 * t + k) * block + unit }
                    let (i, f, g, o) = (state[gate(0)], state[gate(1)], state[gate(2)], state[gate(3)])
                    let c = state[(steps + 2 + t) * block + unit]
                    let cPrevious = state[(steps + 1 + t) * block + unit]
                    let dh = dState[(t + 1) * block + unit] + dhCarried[unit]
                    let dc = dState[(steps + 2 + t) * block + unit] + dcCarried[unit]
                    let tanhC = Scalar.hyperbolicTangent(c)
                    let dcTotal = dc + dh * o * (1 - tanhC * tanhC)
                    // Row (t, n) of dz holds gate k of unit j at column k·H + j.
                    let row = (t * batch + n) * 4 * hidden
                    dz[row + j] = (dcTotal * g + dState[gate(0)]) * i * (1 - i)
                    dz[row + hidden + j] = (dcTotal * cPrevious + dState[gate(1)]) * f * (1 - f)
                    dz[row + 2 * hidden + j] = (dcTotal * i + dState[gate(2)]) * (1 - g * g)
                    dz[row + 3 * hidden + j] = (dh * tanhC + dState[gate(3)]) * o * (1 - o)
                    dcNext[unit] = dcTotal * f
                }
            }
            // dh_{t−1} = dz_t · W_hh.
            for n in 0..<batch {
                for j in 0..<hidden {
                    var sum: Scalar = 0
                    for k in 0..<4 * hidden { sum += dz[(t * batch + n) * 4 * hidden + k] * weightHH[k * hidden + j] }
                    dhCarried[n * hidden + j] = sum
                }
            }
            dcCarried = dcNext
        }
        // h0 and c0 are also blocks 0 and T + 1 of the state, so their own gradients add in.
        let dh0 = (0..<block).map { dhCarried[$0] + dState[$0] }
        let dc0 = (0..<block).map { dcCarried[$0] + dState[(steps + 1) * block + $0] }
        return dz + dh0 + dc0
    }

    /// The same recurrence backwards in ops, one step at a time.
    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let (weightHH, state, dState) = (inputs[0], inputs[1], inputs[2])
        let (steps, batch, hidden) = ((state.shape[0] - 2) / 6, state.shape[1], state.shape[2])
        func block(_ x: Tensor, _ index: Int) throws -> Tensor { try x.slice(axis: 0, start: index, length: 1).reshaped([batch, hidden]) }
        var dhCarried: Tensor?
        var dcCarried: Tensor?
        var dz: [Tensor] = []
        for t in stride(from: steps - 1, through: 0, by: -1) {
            func gate(_ x: Tensor, _ k: Int) throws -> Tensor { try block(x, 2 * steps + 2 + 4 * t + k) }
            let (i, f, g, o) = (try gate(state, 0), try gate(state, 1), try gate(state, 2), try gate(state, 3))
            let c = try block(state, steps + 2 + t)
            let cPrevious = try block(state, steps + 1 + t)
            let dh = try dhCarried.map { try block(dState, t + 1) + $0 } ?? block(dState, t + 1)
            let dc = try dcCarried.map { try block(dState, steps + 2 + t) + $0 } ?? block(dState, steps + 2 + t)
            let tanhC = try c.tanh()
            let dcTotal = try dc + dh * o * (1 - tanhC * tanhC)
            let dzStep = try Tensor.concatenate(
                [
                    (dcTotal * g + gate(dState, 0)) * i * (1 - i), (dcTotal * cPrevious + gate(dState, 1)) * f * (1 - f),
                    (dcTotal * i + gate(dState, 2)) * (1 - g * g), (dh * tanhC + gate(dState, 3)) * o * (1 - o),
                ], axis: 1)
            dz.insert(try dzStep.reshaped([batch * 4 * hidden]), at: 0)
            dcCarried = try dcTotal * f
            // dh_{t−1} = dz_t · W_hh.
            dhCarried = try dzStep.matmul(weightHH)
        }
        // h0 and c0 are also blocks 0 and T + 1 of the state, so their own gradients add in.
        let dh0 = try block(dState, 0) + (dhCarried ?? Tensor.zeros([batch, hidden], on: state.device))
        let dc0 = try block(dState, steps + 1) + (dcCarried ?? Tensor.zeros([batch, hidden], on: state.device))
        return try Tensor.concatenate(dz + [dh0.reshaped([batch * hidden]), dc0.reshaped([batch * hidden])], axis: 0)
    }
}
