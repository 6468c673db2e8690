// The recurrent family: the fused LSTM cell forward and backward, the whole-sequence LSTM forward and backward
// through time, and the LSTM layer's gradients through the graph. Sizes 1, primes, around the work-group size
// of 64 in N·H, the row blocks of lstm_sequence.cl in N and its vector widths in H, and the bench's hidden
// size. A backward's saved state is the reference forward's output on the same inputs, as in a training step.
// Tolerances: `.elementwise` for the cell (no sums); for sequences, gate sums of I + H (forward) or 4H
// (backward) float32 products chained over T steps through h and c.
import KilnCore

extension OpCatalog {
    static var recurrent: [OpCase] {
        cells + sequences + layers
    }

    /// (N, H) pairs: 1, primes, and around the work-group size of 64 in N · H, then seeded awkward pairs.
    private static func cellSizes(seed: UInt64) -> [(batch: Int, hidden: Int)] {
        var random = RandomSource(seed: seed)
        var sizes = [(1, 1), (1, 7), (13, 1), (1, 63), (1, 64), (1, 65), (8, 8), (3, 127), (31, 13), (2, 128), (64, 4), (5, 257)]
        while sizes.count < 24 {
            sizes.append((random.pick([1, 2, 3, 7, 13, 31, 64, 65]), random.pick([1, 2, 7, 13, 31, 63, 64, 65, 127])))
        }
        return sizes
    }

    private static var cells: [OpCase] {
        let forward = cellSizes(seed: 31).enumerated().map { index, size in
            OpCase(
                .lstmCell,
                [SeededInput([size.batch, 4 * size.hidden], .uniform(-6...6)), SeededInput([size.batch, size.hidden], .uniform(-3...3))],
                tolerance: .elementwise, tier: index < 8 ? .quick : .standard)
        }
        let backward = cellSizes(seed: 32).enumerated().map { index, size in
            let (batch, hidden) = size
            return OpCase(
                .lstmCellBackward,
                [
                    SeededInput([batch, 4 * hidden], .uniform(-6...6)), SeededInput([batch, hidden], .uniform(-3...3)),
                    SeededInput([batch, 2 * hidden], .referenceOutput(.lstmCell, inputs: [0, 1])),
                    SeededInput([batch, 2 * hidden], .uniform(-2...2)),
                ], tolerance: .elementwise, tier: index < 8 ? .quick : .standard)
        }
        return forward + backward
    }

    /// Gate sums of `terms` float32 products, chained over `steps` steps through h and c (|c| grows by at most 1 a
    /// step): a few hundred ulps of the largest value at most.
    public static func sequenceTolerance(terms: Int, steps: Int) -> Tolerance {
        Tolerance(
            absolute: 1e-6 * Double(steps) * Double(terms).squareRoot(), relative: 1e-4,
            reason: "float32 sums of \(terms) products chained over \(steps) steps, in another order than the reference")
    }

    /// `lstmSequence`'s inputs `(x, h0, c0, W_ih, W_hh, bias)` for (T, N, I, H), weights like PyTorch's U(±1/√H) so
    /// the gates neither all saturate nor all sit at 0.
    public static func sequenceInputs(steps: Int, batch: Int, inputs: Int, hidden: Int) -> [SeededInput] {
        let scale = 1 / Double(hidden).squareRoot()
        return [
            SeededInput([steps, batch, inputs]), SeededInput([batch, hidden]), SeededInput([batch, hidden]),
            SeededInput([4 * hidden, inputs], .uniform(-scale...scale)), SeededInput([4 * hidden, hidden], .uniform(-scale...scale)),
            SeededInput([4 * hidden], .uniform(-scale...scale)),
        ]
    }

    /// (T, N, I, H): sizes 1, primes (H = 7 and 13 take the width-1 variant, 6 width 2, 12 width 4), one below, at
    /// and above the row blocks in N (7 and 9 around 8), the bench's hidden size; the last sticks out of the row blocks of 2, 4 and 8 and is
    /// quick, like the first five, for the tunable variants.
    static let sequenceShapes = [
        (1, 1, 1, 1), (1, 1, 7, 13), (3, 2, 5, 7), (2, 3, 3, 6), (4, 4, 13, 12), (5, 7, 4, 16), (2, 33, 8, 24), (3, 5, 64, 128),
        (3, 9, 5, 32),
    ]

    private static var sequences: [OpCase] {
        let forward = sequenceShapes.enumerated().map { index, shape in
            let (steps, batch, inputs, hidden) = shape
            return OpCase(
                .lstmSequence, sequenceInputs(steps: steps, batch: batch, inputs: inputs, hidden: hidden),
                tolerance: sequenceTolerance(terms: inputs + hidden, steps: steps),
                tier: index < 5 || index == sequenceShapes.count - 1 ? .quick : .standard)
        }
        // The backward takes (W_hh, state, dState); the forward's inputs are drawn to compute the state.
        let backward = sequenceShapes.enumerated().map { index, shape in
            let (steps, batch, inputs, hidden) = shape
            let state: Shape = [6 * steps + 2, batch, hidden]
            return OpCase(
                graph: "lstm_sequence_backward", summary: "lstmSequenceBackward(W_hh, state, dState)",
                sequenceInputs(steps: steps, batch: batch, inputs: inputs, hidden: hidden)
                    + [SeededInput(state, .referenceOutput(.lstmSequence, inputs: Array(0..<6))), SeededInput(state)],
                tolerance: sequenceTolerance(terms: 4 * hidden, steps: steps),
                tier: index < 5 || index == sequenceShapes.count - 1 ? .quick : .standard
            ) { tensors in [try Tensor.apply(.lstmSequenceBackward, [tensors[4], tensors[6], tensors[7]])] }
        }
        return forward + backward
    }

    /// An LSTM layer from zero state and the gradients of `Σ h_t · G_t` with respect to its weights and biases: the
    /// sequence ops and the products of dz in the graph. Inputs `(x, G, W_ih, W_hh, b_ih, b_hh)`.
    static func layer(steps: Int, batch: Int, inputs: Int, hidden: Int, tier: OpCase.Tier, name: String = "lstm_layer") -> OpCase {
        let scale = 1 / Double(hidden).squareRoot()
        let weights = [[4 * hidden, inputs], [4 * hidden, hidden], [4 * hidden], [4 * hidden]].map {
            SeededInput(Shape($0), .uniform(-scale...scale))
        }
        let gateFlops = Double(steps) * 2 * Double(batch) * 4 * Double(hidden) * Double(inputs + hidden)
        return OpCase(
            graph: name, summary: "LSTM input \(inputs), hidden \(hidden), sequence \(steps), batch \(batch): outputs and weight gradients",
            [SeededInput([steps, batch, inputs]), SeededInput([steps, batch, hidden])] + weights,
            tolerance: Tolerance(
                normwise: 1e-4, reason: "\(steps) chained float32 steps; weight gradients sum over \(steps * batch) positions"),
            tier: tier, flops: 3 * gateFlops
        ) { tensors in
            let (x, g) = (tensors[0], tensors[1])
            let weights = RecurrentWeights(weightIH: tensors[2], weightHH: tensors[3], biasIH: tensors[4], biasHH: tensors[5])
            let zeros = try Tensor.zeros([batch, hidden], on: x.device)
            let outputs = try Tensor.lstmSequence(x: x, h0: zeros, c0: zeros, weights: weights).outputs
            return [outputs] + (try gradients(of: (outputs * g).sum(), withRespectTo: Array(tensors[2...5])))
        }
    }

    private static var layers: [OpCase] {
        [layer(steps: 3, batch: 2, inputs: 5, hidden: 7, tier: .quick), layer(steps: 4, batch: 5, inputs: 3, hidden: 16, tier: .standard)]
    }
}
