// Reference LSTM sequence: a whole layer over T steps (the fused `lstmSequence` op) and its backward through
// time (`lstmSequenceBackward`). Gates in PyTorch's order i, f, g, o; the packed layouts are documented on `Op`.

import KilnCore

extension ReferenceBackend {
    /// `state [6T + 2, N, H]`: blocks `0...T` hold `h0, h_0 ... h_{T−1}`, blocks `T + 1 ... 2T + 1` hold
    /// `c0, c_0 ... c_{T−1}`, block `2T + 2 + 4t + k` holds gate `k`'s activation at step `t`. Each step computes
    /// `z = x_t · W_ihᵀ + bias + h_{t−1} · W_hhᵀ`, `c_t = f · c_{t−1} + i · g`, `h_t = o · tanh(c_t)`.
    func lstmSequence(
        x: [Scalar], h0: [Scalar], c0: [Scalar], weightIH: [Scalar], weightHH: [Scalar], bias: [Scalar],
        steps: Int, batch: Int, inputs: Int, hidden: Int
    ) -> [Scalar] {
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
                        for p in 0..<inputs { z += x[(t * batch + n) * inputs + p] * weightIH[row * inputs + p] }
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

    /// `dz [T, N, 4H]`, then `dh0 [N, H]` and `dc0 [N, H]`, from the forward's `state` and its gradient `dState`
    /// (every block of it: the hidden and cell states of every step and the saved gate activations). Going back
    /// from the last step, with `dh`, `dc` what flows into step t from the outputs and from step t + 1:
    /// `dcTotal = dc + dh · o · (1 − tanh(c_t)²)`, `dz_i = (dcTotal · g + d_i) · i(1 − i)`,
    /// `dz_f = (dcTotal · c_{t−1} + d_f) · f(1 − f)`, `dz_g = (dcTotal · i + d_g) · (1 − g²)`,
    /// `dz_o = (dh · tanh(c_t) + d_o) · o(1 − o)`; step t − 1 then receives `dz_t · W_hh` and `dcTotal · f`.
    func lstmSequenceBackward(weightHH: [Scalar], state: [Scalar], dState: [Scalar], steps: Int, batch: Int, hidden: Int) -> [Scalar] {
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
}
