// Reference LSTM sequence: the fused op against the same layer run step by step with the fused cell
// (`lstmStep`, the readable decomposition) in Double, and the backward op's initial-state gradients against
// central differences.

import KilnCore
import KilnReference
import KilnTestSupport
import XCTest

final class ReferenceLSTMSequenceTests: XCTestCase {
    /// (T, N, I, H): one step, one row, one unit, primes.
    private let shapes = [(1, 1, 1, 1), (3, 2, 5, 7), (5, 3, 2, 13), (2, 4, 13, 3)]

    func testSequenceMatchesStepByStepCells() throws {
        let device = Device(ReferenceBackend<Double>())
        var random = SplitMix64(seed: 60)
        for (steps, batch, inputs, hidden) in shapes {
            func tensor(_ shape: Shape) throws -> Tensor { try Tensor(random.values(shape.count), shape: shape, on: device) }
            let x = try tensor([steps, batch, inputs])
            let (h0, c0) = (try tensor([batch, hidden]), try tensor([batch, hidden]))
            let weights = RecurrentWeights(
                weightIH: try tensor([4 * hidden, inputs]), weightHH: try tensor([4 * hidden, hidden]),
                biasIH: try tensor([4 * hidden]), biasHH: try tensor([4 * hidden]))
            let fused = try Tensor.lstmSequence(x: x, h0: h0, c0: c0, weights: weights)

            var (h, c) = (h0, c0)
            var outputs: [Double] = []
            for t in 0..<steps {
                let input = try x.slice(axis: 0, start: t, length: 1).reshaped([batch, inputs])
                (h, c) = try Tensor.lstmStep(x: input, h: h, c: c, weights: weights)
                outputs += try h.doubles()
            }
            // The same sums in another order (the fused op adds both biases first): a few Double roundings.
            let label = "T \(steps), N \(batch), I \(inputs), H \(hidden)"
            assertClose(try fused.outputs.doubles(), outputs, Tolerance.handComputed, "outputs, \(label)")
            assertClose(try fused.h.doubles(), try h.doubles(), Tolerance.handComputed, "final h, \(label)")
            assertClose(try fused.c.doubles(), try c.doubles(), Tolerance.handComputed, "final c, \(label)")
        }
    }

    /// `dh0` and `dc0` from `lstmSequenceBackward` with a random gradient on every block of the packed state.
    func testBackwardMatchesCentralDifferencesForInitialState() throws {
        var random = SplitMix64(seed: 61)
        for (steps, batch, inputs, hidden) in shapes {
            let x = random.tensor([steps, batch, inputs])
            let weightIH = random.tensor([4 * hidden, inputs])
            let weightHH = random.tensor([4 * hidden, hidden])
            let bias = random.tensor([4 * hidden])
            let (h0, c0) = (random.tensor([batch, hidden]), random.tensor([batch, hidden]))
            let state = try evaluate(.lstmSequence, [x, h0, c0, weightIH, weightHH, bias])
            let rows = steps * batch * 4 * hidden
            for (name, index) in [("h0", 0), ("c0", 1)] {
                try checkGradient(
                    "lstm sequence d\(name), T \(steps), N \(batch), I \(inputs), H \(hidden)", at: index == 0 ? h0.values : c0.values,
                    forward: { values in
                        let initial = HostTensor(values, h0.shape)
                        return try evaluate(
                            .lstmSequence,
                            index == 0 ? [x, initial, c0, weightIH, weightHH, bias] : [x, h0, initial, weightIH, weightHH, bias]
                        )
                        .values
                    },
                    vjp: { g in
                        let packed = try evaluate(.lstmSequenceBackward, [weightHH, state, HostTensor(g, state.shape)]).values
                        let start = rows + index * batch * hidden
                        return Array(packed[start..<start + batch * hidden])
                    },
                    random: &random)
            }
        }
    }
}
