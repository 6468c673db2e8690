// LSTMSequenceKernelTests: Kernels/lstm_sequence.cl against the CPU reference (forward and backward through
// time, with the default tunables and with every other candidate), and the fused layer against the same layer run step by step on the OpenCL device, values and
// gradients, through the Tensor API.
import Kiln
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

final class LSTMSequenceKernelTests: XCTestCase {
    /// (T, N, I, H): sizes 1, primes (H = 7 and 13 run the width-1 variant, 6 width 2, 12 width 4), one below,
    /// at and above the 3-row block in N, and the benchmark's hidden size.
    private let shapes = [
        (1, 1, 1, 1), (1, 1, 7, 13), (3, 2, 5, 7), (2, 3, 3, 6), (4, 4, 13, 12), (5, 7, 4, 16), (2, 33, 8, 24), (3, 5, 64, 128),
    ]

    /// Gate sums of I + H float32 products, chained over T steps through h and c (|c| grows by at most 1 a
    /// step): a few hundred ulps of the largest value at most.
    private func tolerance(terms: Int, steps: Int) -> Tolerance {
        Tolerance(
            absolute: 1e-6 * Double(steps) * Double(terms).squareRoot(), relative: 1e-4,
            reason: "float32 sums of \(terms) products chained over \(steps) steps, in another order than the reference")
    }

    private func forwardInputs(_ shape: (Int, Int, Int, Int), using generator: inout SeededGenerator) -> [CaseInput] {
        let (steps, batch, inputs, hidden) = shape
        let shapes: [Shape] = [[steps, batch, inputs], [batch, hidden], [batch, hidden], [4 * hidden, inputs], [4 * hidden, hidden], [4 * hidden]]
        // Weights scaled like PyTorch's U(±1/√H), so the gates neither all saturate nor all sit at 0.
        let scale = 1 / Double(hidden).squareRoot()
        return shapes.enumerated().map { index, shape in
            CaseInput(shape, generator.values(shape.count, in: index >= 3 ? -scale...scale : -1...1))
        }
    }

    func testForward() throws {
        var generator = SeededGenerator(seed: 70)
        for shape in shapes {
            let inputs = forwardInputs(shape, using: &generator)
            try OpenCLTestDevice.check(
                OpCase(.lstmSequence, inputs, tolerance: tolerance(terms: shape.2 + shape.3, steps: shape.0)))
        }
    }

    /// `state` is the reference forward's output for the same inputs, as it is in a training step; `dState` is
    /// random on every block (the saved gates included).
    func testBackward() throws {
        var generator = SeededGenerator(seed: 71)
        for shape in shapes {
            let (steps, batch, _, hidden) = shape
            let inputs = OpenCLTestDevice.roundedToFloat(forwardInputs(shape, using: &generator))
            let stateShape: Shape = [6 * steps + 2, batch, hidden]
            let state = CaseInput(stateShape, try KilnTestSupport.run(.lstmSequence, inputs, on: OpenCLTestDevice.reference))
            let dState = CaseInput(stateShape, generator.values(stateShape.count))
            try OpenCLTestDevice.check(
                OpCase(.lstmSequenceBackward, [inputs[4], state, dState], tolerance: tolerance(terms: 4 * hidden, steps: steps)))
        }
    }

    /// Every candidate of every tunable of both kernels (others at their default), on a batch that sticks out of
    /// the row block and a hidden size every width divides.
    func testEveryTunableCandidate() throws {
        let backend = try OpenCLTestDevice.require()
        var generator = SeededGenerator(seed: 73)
        func operand(_ input: CaseInput) throws -> OpenCLOperand {
            let storage = try backend.allocate(count: input.shape.count)
            try backend.write(input.values, to: storage)
            guard let storage = storage as? OpenCLStorage else { throw XCTSkip("not OpenCL storage") }
            return OpenCLOperand(buffer: storage.buffer, shape: input.shape)
        }
        func run(_ shape: Shape, _ body: (OpenCLBuffer) throws -> Void) throws -> [Double] {
            let output = try backend.allocate(count: shape.count)
            guard let out = output as? OpenCLStorage else { throw XCTSkip("not OpenCL storage") }
            try body(out.buffer)
            return try backend.readDoubles(output)
        }
        for description in [KernelDescription.lstmSequenceForward, .lstmSequenceBackward] {
            for tunable in description.tunables {
                for candidate in tunable.candidates {
                    let values = [tunable.name: candidate]
                    let rows = values["LSTM_ROWS"] ?? description.defaults["LSTM_ROWS"] ?? 1
                    let shape = (3, 2 * rows + 1, 5, 32)
                    let (steps, batch, _, hidden) = shape
                    let inputs = OpenCLTestDevice.roundedToFloat(forwardInputs(shape, using: &generator))
                    let stateShape: Shape = [6 * steps + 2, batch, hidden]
                    let state = try KilnTestSupport.run(.lstmSequence, inputs, on: OpenCLTestDevice.reference)
                    let label = "\(description.entries[0]) with \(values), T=\(steps) N=\(batch) H=\(hidden)"
                    if description.entries[0] == "lstm_sequence_forward" {
                        let x = try inputs.map(operand)
                        let actual = try run(stateShape) {
                            try backend.lstmSequence(x: x[0], h0: x[1], c0: x[2], weightIH: x[3], weightHH: x[4], bias: x[5], $0, tunables: values)
                        }
                        assertClose(actual, state, tolerance(terms: shape.2 + hidden, steps: steps), label)
                    } else {
                        let dState = CaseInput(stateShape, generator.values(stateShape.count))
                        let backwardInputs = OpenCLTestDevice.roundedToFloat([inputs[4], CaseInput(stateShape, state), dState])
                        let expected = try KilnTestSupport.run(.lstmSequenceBackward, backwardInputs, on: OpenCLTestDevice.reference)
                        let x = try backwardInputs.map(operand)
                        let outputShape = try Op.lstmSequenceBackward.outputShape(for: backwardInputs.map(\.shape))
                        let actual = try run(outputShape) {
                            try backend.lstmSequenceBackward(weightHH: x[0], state: x[1], dState: x[2], $0, tunables: values)
                        }
                        assertClose(actual, expected, tolerance(terms: 4 * hidden, steps: steps), label)
                    }
                }
            }
        }
    }

    /// The fused layer and the step-by-step cells agree on the device, forward and through autodiff, which runs
    /// the sequence kernels and the products of dz on one side and the per-step cell kernels on the other.
    func testFusedSequenceMatchesStepsOnDevice() throws {
        let device = Device(try OpenCLTestDevice.require())
        var generator = SeededGenerator(seed: 72)
        for shape in [(1, 1, 1, 1), (3, 2, 5, 7), (4, 5, 3, 16), (6, 4, 9, 24)] {
            let (steps, batch, inputs, hidden) = shape
            let leaves = try forwardInputs(shape, using: &generator).map { try Tensor($0.values, shape: $0.shape, on: device) }
            let (x, h0, c0) = (leaves[0], leaves[1], leaves[2])
            let weights = RecurrentWeights(weightIH: leaves[3], weightHH: leaves[4], biasIH: leaves[5], biasHH: nil)
            let readout = try Tensor(generator.values(steps * batch * hidden), shape: [steps, batch, hidden], on: device)

            let fused = try Tensor.lstmSequence(x: x, h0: h0, c0: c0, weights: weights)
            var (h, c) = (h0, c0)
            var states: [Tensor] = []
            for t in 0..<steps {
                (h, c) = try Tensor.lstmStep(x: x.slice(axis: 0, start: t, length: 1).reshaped([batch, inputs]), h: h, c: c, weights: weights)
                states.append(try h.reshaped([1, batch, hidden]))
            }
            let stepwise = try Tensor.concatenate(states, axis: 0)
            func loss(_ outputs: Tensor, _ c: Tensor) throws -> Tensor { try (outputs * readout).sum() + c.sum() }
            let fusedGradients = try gradients(of: loss(fused.outputs, fused.c), withRespectTo: leaves)
            let stepwiseGradients = try gradients(of: loss(stepwise, c), withRespectTo: leaves)

            let label = "T=\(steps) N=\(batch) I=\(inputs) H=\(hidden)"
            let names = ["dx", "dh0", "dc0", "dWih", "dWhh", "dbias"]
            var pairs: [(String, Tensor, Tensor)] = [("outputs", fused.outputs, stepwise), ("c", fused.c, c)]
            pairs += zip(names, zip(fusedGradients, stepwiseGradients)).map { ($0, $1.0, $1.1) }
            // Both sides are float32 on the device with sums in different orders; weight gradients sum T·N terms.
            let tolerance = tolerance(terms: max(4 * hidden, steps * batch), steps: steps)
            for (name, actual, expected) in pairs {
                let (a, e) = (try actual.doubles(), try expected.doubles())
                let result = compare(a, e, tolerance)
                print(
                    "KERNEL-ERROR op=lstm_sequence_vs_steps case=\"\(name) \(label)\" max_abs=\(result.maxAbsoluteError) max_rel=\(result.maxRelativeError)"
                )
                assertClose(a, e, tolerance, "\(name) \(label): fused vs step by step")
            }
        }
    }
}
