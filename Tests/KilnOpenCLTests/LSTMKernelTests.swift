// LSTMKernelTests: the fused LSTM cell against its readable decomposition (Tensor.lstmCellDecomposed) on each
// OpenCL device, values and gradients, through the Tensor API. The cell's kernels against the reference are catalog
// cases (Catalog+Recurrent.swift) that CatalogKernelTests runs on every device.
import Kiln
import KilnTestSupport
import XCTest

final class LSTMKernelTests: XCTestCase {
    /// The fused op and the decomposition (slices, sigmoid, tanh, products, sums) agree on the device,
    /// forward and through autodiff, which runs the fused backward kernel on one side and the
    /// elementwise and movement kernels' gradients on the other.
    func testFusedCellMatchesDecompositionOnDevice() throws {
        for backend in try TestDevices.requireOpenCL() {
            try checkFusedCellMatchesDecomposition(on: Device(backend))
        }
    }

    private func checkFusedCellMatchesDecomposition(on device: Device) throws {
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

            let label = "N=\(batch) H=\(hidden) on \(device)"
            let pairs: [(String, Tensor, Tensor)] = [
                ("h", fused.h, decomposed.h), ("c", fused.c, decomposed.c),
                ("dz", fusedGradients[0], decomposedGradients[0]), ("dcPrev", fusedGradients[1], decomposedGradients[1]),
            ]
            for (name, actual, expected) in pairs {
                assertClose(try actual.doubles(), try expected.doubles(), .elementwise, "\(name) \(label): fused vs decomposed")
            }
        }
    }
}
