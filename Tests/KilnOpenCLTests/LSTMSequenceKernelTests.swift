// LSTMSequenceKernelTests: lstm_sequence.cl with every candidate of its tunables on the catalog's sequence cases,
// and the fused layer against the same layer run step by step on each OpenCL device, values and gradients, through
// the Tensor API. The kernels with their default tunables are catalog cases (Catalog+Recurrent.swift) that
// CatalogKernelTests runs on every device.
import Kiln
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

final class LSTMSequenceKernelTests: XCTestCase {
    /// Every candidate of every tunable of lstm_sequence.cl (the others at their default) on the catalog's quick sequence
    /// cases, forward and backward (batches below, at and above the row blocks, hidden sizes of every vector width), and
    /// its quick LSTM layer.
    func testEveryTunableCandidatePassesTheCatalog() throws {
        _ = try TestDevices.requireOpenCL()
        let cases = OpCatalog.cases(in: .recurrent).filter {
            ["lstm_sequence", "lstm_sequence_backward", "lstm_layer"].contains($0.name) && $0.tier == .quick
        }
        let description = KernelDescription.lstmSequenceForward
        for handle in TestDevices.openCLHandles {
            let variants = try description.tunables.flatMap { tunable in
                try tunable.candidates.map { try KernelVariant.tuned(handle, file: description.file, values: [tunable.name: $0]) }
            }
            TestDevices.check(cases, on: variants)
        }
    }

    /// Both devices' blockings (`LSTMBlocking`: forward 4 rows of 16 units or 2 rows of 8, backward 8 or 4 rows of 16) on
    /// the catalog's quick sequence cases, whatever the device's own.
    func testBothDevicesBlockingsPassTheCatalog() throws {
        _ = try TestDevices.requireOpenCL()
        let cases = OpCatalog.cases(in: .recurrent).filter {
            ["lstm_sequence", "lstm_sequence_backward", "lstm_layer"].contains($0.name) && $0.tier == .quick
        }
        for width in [16, 8] {
            let (forward, backward) = (LSTMBlocking(vectorWidth: width), LSTMBlocking.backward(vectorWidth: width))
            let variants = try TestDevices.openCLHandles.map { handle in
                let backend = try OpenCLBackend(device: handle)
                backend.lstmForwardBlocking = forward
                backend.lstmBackwardBlocking = backward
                return KernelVariant(
                    backend,
                    variant: "lstm_sequence_forward at \(forward.rows) rows of \(forward.width) units, backward at \(backward.rows) rows")
            }
            TestDevices.check(cases, on: variants)
        }
        XCTAssertEqual(LSTMBlocking(vectorWidth: 16), LSTMBlocking(rows: 4, width: 16))
        XCTAssertEqual(LSTMBlocking(vectorWidth: 8), LSTMBlocking(rows: 2, width: 8))
        XCTAssertEqual(LSTMBlocking(vectorWidth: 1), LSTMBlocking(rows: 2, width: 8))
        XCTAssertEqual(LSTMBlocking.backward(vectorWidth: 16), LSTMBlocking(rows: 8, width: 16))
        XCTAssertEqual(LSTMBlocking.backward(vectorWidth: 8), LSTMBlocking(rows: 4, width: 16))
    }

    /// The fused layer and the step-by-step cells agree on the device, forward and through autodiff, which runs
    /// the sequence kernels and the products of dz on one side and the per-step cell kernels on the other.
    func testFusedSequenceMatchesStepsOnDevice() throws {
        for backend in try TestDevices.requireOpenCL() {
            try checkFusedSequenceMatchesSteps(on: Device(backend))
        }
    }

    private func checkFusedSequenceMatchesSteps(on device: Device) throws {
        var generator = SeededGenerator(seed: 72)
        for shape in [(1, 1, 1, 1), (3, 2, 5, 7), (4, 5, 3, 16), (6, 4, 9, 24)] {
            let (steps, batch, inputs, hidden) = shape
            let leaves = try OpCatalog.sequenceInputs(steps: steps, batch: batch, inputs: inputs, hidden: hidden).map { input in
                let drawn = try input.draw(using: &generator)
                return try Tensor(drawn.values, shape: drawn.shape, on: device)
            }
            let (x, h0, c0) = (leaves[0], leaves[1], leaves[2])
            let weights = RecurrentWeights(weightIH: leaves[3], weightHH: leaves[4], biasIH: leaves[5], biasHH: nil)
            let readout = try Tensor(generator.values(steps * batch * hidden), shape: [steps, batch, hidden], on: device)

            let fused = try Tensor.lstmSequence(x: x, h0: h0, c0: c0, weights: weights)
            var (h, c) = (h0, c0)
            var states: [Tensor] = []
            for t in 0..<steps {
                (h, c) = try Tensor.lstmStep(
                    x: x.slice(axis: 0, start: t, length: 1).reshaped([batch, inputs]), h: h, c: c, weights: weights)
                states.append(try h.reshaped([1, batch, hidden]))
            }
            let stepwise = try Tensor.concatenate(states, axis: 0)
            func loss(_ outputs: Tensor, _ c: Tensor) throws -> Tensor { try (outputs * readout).sum() + c.sum() }
            let fusedGradients = try gradients(of: loss(fused.outputs, fused.c), withRespectTo: leaves)
            let stepwiseGradients = try gradients(of: loss(stepwise, c), withRespectTo: leaves)

            let label = "T=\(steps) N=\(batch) I=\(inputs) H=\(hidden) on \(device)"
            let names = ["dx", "dh0", "dc0", "dWih", "dWhh", "dbias"]
            var pairs: [(String, Tensor, Tensor)] = [("outputs", fused.outputs, stepwise), ("c", fused.c, c)]
            pairs += zip(names, zip(fusedGradients, stepwiseGradients)).map { ($0, $1.0, $1.1) }
            // Both sides are float32 on the device with sums in different orders; weight gradients sum T·N terms.
            let tolerance = OpCatalog.sequenceTolerance(terms: max(4 * hidden, steps * batch), steps: steps)
            for (name, actual, expected) in pairs {
                assertClose(try actual.doubles(), try expected.doubles(), tolerance, "\(name) \(label): fused vs step by step")
            }
        }
    }
}
