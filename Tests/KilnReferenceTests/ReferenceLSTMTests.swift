// Reference LSTM cell: the fused forward against its decomposition into slices, sigmoid/tanh and
// elementwise ops, and the fused backward against central differences for both dz and dcPrev.

import KilnCore
import KilnReference
import KilnTestSupport
import XCTest

final class ReferenceLSTMTests: XCTestCase {
    /// `[N, H]` batch and hidden sizes: sizes 1 and primes.
    private let shapes: [(batch: Int, hidden: Int)] = [(1, 1), (3, 5), (2, 7), (1, 2)]

    /// Columns `start ..< start + count` of every row of `x`, a `[rows, width]` matrix.
    private func columns(_ x: [Double], rows: Int, width: Int, from start: Int, count: Int) -> [Double] {
        (0..<rows).flatMap { row in x[(row * width + start)..<(row * width + start + count)] }
    }

    func testCellMatchesItsDecomposition() throws {
        var random = SplitMix64(seed: 10)
        for (batch, hidden) in shapes {
            let z = random.tensor([batch, 4 * hidden], in: -3...3)
            let cPrevious = random.tensor([batch, hidden], in: -2...2)
            let state = try evaluate(.lstmCell, [z, cPrevious])
            XCTAssertEqual(state.shape, [batch, 2 * hidden])

            // The decomposition: slice out each gate, activate, then c = f * cPrev + i * g and h = o * tanh(c).
            func gate(_ index: Int, _ function: UnaryFunction) throws -> HostTensor {
                let slice = try evaluate(.slice(axis: 1, start: index * hidden, length: hidden), [z])
                return try evaluate(.unary(function), [slice])
            }
            let (i, f, g, o) = (try gate(0, .sigmoid), try gate(1, .sigmoid), try gate(2, .tanh), try gate(3, .sigmoid))
            let c = try evaluate(
                .binary(.add), [try evaluate(.binary(.multiply), [f, cPrevious]), try evaluate(.binary(.multiply), [i, g])])
            let h = try evaluate(.binary(.multiply), [o, try evaluate(.unary(.tanh), [c])])
            let expected = try evaluate(.concatenate(axis: 1), [h, c])
            assertClose(state.values, expected.values, Tolerance.handComputed, "N \(batch), H \(hidden)")
        }
    }

    func testBackwardMatchesCentralDifferencesForZ() throws {
        var random = SplitMix64(seed: 11)
        for (batch, hidden) in shapes {
            let zShape: Shape = [batch, 4 * hidden]
            let z = random.values(zShape.count, in: -3...3)
            let cPrevious = random.tensor([batch, hidden], in: -2...2)
            let state = try evaluate(.lstmCell, [HostTensor(z, zShape), cPrevious])
            try checkGradient(
                "lstm dz, N \(batch), H \(hidden)", at: z,
                forward: { try evaluate(.lstmCell, [HostTensor($0, zShape), cPrevious]).values },
                vjp: { g in
                    // g holds both halves, dh | dc, so the check covers the gradient through h and through c.
                    let gradients = try evaluate(.lstmCellBackward, [HostTensor(z, zShape), cPrevious, state, HostTensor(g, state.shape)])
                    return self.columns(gradients.values, rows: batch, width: 5 * hidden, from: 0, count: 4 * hidden)
                },
                random: &random)
        }
    }

    func testBackwardMatchesCentralDifferencesForCPrevious() throws {
        var random = SplitMix64(seed: 12)
        for (batch, hidden) in shapes {
            let cShape: Shape = [batch, hidden]
            let z = random.tensor([batch, 4 * hidden], in: -3...3)
            let cPrevious = random.values(cShape.count, in: -2...2)
            let state = try evaluate(.lstmCell, [z, HostTensor(cPrevious, cShape)])
            try checkGradient(
                "lstm dcPrev, N \(batch), H \(hidden)", at: cPrevious,
                forward: { try evaluate(.lstmCell, [z, HostTensor($0, cShape)]).values },
                vjp: { g in
                    let gradients = try evaluate(.lstmCellBackward, [z, HostTensor(cPrevious, cShape), state, HostTensor(g, state.shape)])
                    return self.columns(gradients.values, rows: batch, width: 5 * hidden, from: 4 * hidden, count: hidden)
                },
                random: &random)
        }
    }
}
