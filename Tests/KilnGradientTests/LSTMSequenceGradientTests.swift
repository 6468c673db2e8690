// The fused LSTM sequence op's gradients (its vjp: lstmSequenceBackward, then products of dz) against central
// finite differences in Double on the reference backend, for every input, through the user-visible outputs and
// through every block of the packed state (the saved gates included).
import KilnCore
import KilnNN
import KilnTestSupport
import XCTest

final class LSTMSequenceGradientTests: XCTestCase {
    /// (T, N, I, H): one step, one row, one unit, primes.
    private let shapes = [(1, 1, 1, 1), (3, 2, 5, 7), (4, 3, 2, 3), (2, 1, 13, 2)]

    private func inputs(_ shape: (Int, Int, Int, Int), seed: UInt64) -> [HostTensor] {
        let (steps, batch, inputs, hidden) = shape
        var generator = SeededGenerator(seed: seed)
        return [
            [steps, batch, inputs], [batch, hidden], [batch, hidden], [4 * hidden, inputs], [4 * hidden, hidden], [4 * hidden],
        ].map { (shape: Shape) in HostTensor(generator.values(shape.count), shape) }
    }

    func testOutputsAndFinalStateMatchCentralDifferences() throws {
        for (index, shape) in shapes.enumerated() {
            try GradientCheck.check("lstm sequence \(shape)", inputs(shape, seed: UInt64(40 + index))) { t in
                let weights = RecurrentWeights(weightIH: t[3], weightHH: t[4], biasIH: t[5], biasHH: nil)
                let result = try Tensor.lstmSequence(x: t[0], h0: t[1], c0: t[2], weights: weights)
                let (batch, hidden) = (shape.1, shape.3)
                return try Tensor.concatenate(
                    [result.outputs.reshaped([shape.0 * batch, hidden]), result.h, result.c * 0.5], axis: 0)
            }
        }
    }

    /// Every block of the packed output carries a gradient here, the saved gate activations included, so the
    /// backward op's handling of each block is checked, not only of those the layer exposes.
    func testPackedStateMatchesCentralDifferences() throws {
        for (index, shape) in shapes.enumerated() {
            try GradientCheck.check("lstm sequence packed \(shape)", inputs(shape, seed: UInt64(50 + index))) { t in
                try Tensor.apply(.lstmSequence, t)
            }
        }
    }
}
