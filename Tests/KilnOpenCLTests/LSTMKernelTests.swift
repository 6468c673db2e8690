// LSTMKernelTests: Kernels/lstm_cell.cl against the CPU reference (forward and backward), and the fused
// cell against its readable decomposition (Tensor.lstmCellDecomposed) on the OpenCL device, values and
// gradients, through the Tensor API.
import Kiln
import KilnTestSupport
import XCTest

final class LSTMKernelTests: XCTestCase {
    /// (N, H) pairs: 1, primes, and around the work-group size of 64 in N · H.
    private func sizes(using generator: inout SeededGenerator) -> [(batch: Int, hidden: Int)] {
        var sizes = [(1, 1), (1, 7), (13, 1), (1, 63), (1, 64), (1, 65), (8, 8), (3, 127), (31, 13), (2, 128), (64, 4), (5, 257)]
        while sizes.count < 24 {
            sizes.append((generator.pick([1, 2, 3, 7, 13, 31, 64, 65]), generator.pick([1, 2, 7, 13, 31, 63, 64, 65, 127])))
        }
        return sizes
    }

    func testForward() throws {
        var generator = SeededGenerator(seed: 31)
        for (batch, hidden) in sizes(using: &generator) {
            let z = CaseInput([batch, 4 * hidden], generator.values(batch * 4 * hidden, in: -6...6))
            let cPrev = CaseInput([batch, hidden], generator.values(batch * hidden, in: -3...3))
            try OpenCLTestDevice.check(OpCase(.lstmCell, [z, cPrev], tolerance: .elementwise))
        }
    }

    /// `state` is the reference forward's output for the same inputs, as it is in a training step.
    func testBackward() throws {
        var generator = SeededGenerator(seed: 32)
        for (batch, hidden) in sizes(using: &generator) {
            let z = CaseInput([batch, 4 * hidden], generator.values(batch * 4 * hidden, in: -6...6))
            let cPrev = CaseInput([batch, hidden], generator.values(batch * hidden, in: -3...3))
            let forwardInputs = OpenCLTestDevice.roundedToFloat([z, cPrev])
            let state = CaseInput([batch, 2 * hidden], try KilnTestSupport.run(.lstmCell, forwardInputs, on: OpenCLTestDevice.reference))
            let dState = CaseInput([batch, 2 * hidden], generator.values(batch * 2 * hidden, in: -2...2))
            try OpenCLTestDevice.check(OpCase(.lstmCellBackward, [z, cPrev, state, dState], tolerance: .elementwise))
        }
    }

    /// The fused op and the decomposition (slices, sigmoid, tanh, products, sums) agree on the device,
    /// forward and through autodiff, which runs the fused backward kernel on one side and the
    /// elementwise and movement kernels' gradients on the other.
    func testFusedCellMatchesDecompositionOnDevice() throws {
        let device = Device(try OpenCLTestDevice.require())
        var generator = SeededGenerator(seed: 33)
        for (batch, hidden) in [(1, 1), (3, 7), (13, 64), (4, 65), (2, 127)] {
            let z = try Tensor(generator.values(batch * 4 * hidden, in: -6...6), shape: [batch, 4 * hidden], on: device)
            let cPrev = try Tensor(generator.values(batch * hidden, in: -3...3), shape: [batch, hidden], on: device)
            // Random weights on h and c make the loss's gradient a random dState.
            let weightH = try Tensor(generator.values(batch * hidden, in: -2...2), shape: [batch, hidden], on: device)
            let weightC = try Tensor(generator.values(batch * hidden, in: -2...2), shape: [batch, hidden], on: device)

            func loss(_ state: (h: Tensor, c: Tensor)) throws -> Tensor {
                try (state.h * weightH).sum() + (state.c * weightC).sum()
            }
            let fused = try Tensor.lstmCell(z: z, cPrev: cPrev)
            let decomposed = try Tensor.lstmCellDecomposed(z: z, cPrev: cPrev)
            let fusedGradients = try gradients(of: loss(fused), withRespectTo: [z, cPrev])
            let decomposedGradients = try gradients(of: loss(decomposed), withRespectTo: [z, cPrev])

            let label = "N=\(batch) H=\(hidden)"
            let pairs: [(String, Tensor, Tensor)] = [
                ("h", fused.h, decomposed.h), ("c", fused.c, decomposed.c),
                ("dz", fusedGradients[0], decomposedGradients[0]), ("dcPrev", fusedGradients[1], decomposedGradients[1]),
            ]
            for (name, actual, expected) in pairs {
                let (a, e) = (try actual.doubles(), try expected.doubles())
                let result = compare(a, e, .elementwise)
                print(
                    "KERNEL-ERROR op=lstm_cell_vs_decomposed case=\"\(name) \(label)\" max_abs=\(result.maxAbsoluteError) max_rel=\(result.maxRelativeError)"
                )
                assertClose(a, e, .elementwise, "\(name) \(label): fused vs decomposed")
            }
        }
    }
}
