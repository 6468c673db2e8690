// The LSTM layer's gradients over a whole sequence, as a language model uses it: a Dense readout and
// softmax cross-entropy at every position, from a non-zero initial state. Every parameter, the input
// sequence and the initial state against central finite differences, in Double on the reference backend.
import KilnCore
import KilnNN
import KilnTestSupport
import XCTest

final class SequenceGradientTests: XCTestCase {
    let device = GradientCheck.device

    func testLSTMLanguageModelLossOverEveryPosition() throws {
        var generator = SeededGenerator(seed: 17)
        var random = RandomSource(seed: 8)
        let (steps, batch, inputs, hidden, classes) = (6, 2, 3, 4, 5)
        let lstm = try LSTM(inputs: inputs, hidden: hidden, random: &random, on: device)
        let readout = try Dense(hidden, classes, random: &random, on: device)
        let x = try Tensor(generator.values(steps * batch * inputs), shape: [steps, batch, inputs], on: device)
        let h0 = try Tensor(generator.values(batch * hidden, in: -0.5...0.5), shape: [batch, hidden], on: device)
        let c0 = try Tensor(generator.values(batch * hidden, in: -0.5...0.5), shape: [batch, hidden], on: device)
        let labels = try Tensor((0..<steps * batch).map { Double(($0 * 3 + 1) % classes) }, shape: [steps * batch], on: device)
        func loss(_ x: Tensor, _ h0: Tensor, _ c0: Tensor) throws -> Tensor {
            let output = try lstm.run(x, initial: (h0, c0))
            let logits = try readout.forward(output.outputs.reshaped([steps * batch, hidden]), context: ForwardContext(training: false))
            return try Tensor.softmaxCrossEntropy(logits: logits, labels: labels)
        }

        let parameters =
            lstm.parameters.map { ("lstm.\($0.name)", $0.variable) } + readout.parameters.map { ("readout.\($0.name)", $0.variable) }
        let analytic = try gradients(of: loss(x, h0, c0), withRespectTo: parameters.map(\.1.value) + [x, h0, c0]).map { try $0.doubles() }
        let epsilon = 1e-6
        for ((name, variable), gradient) in zip(parameters, analytic) {
            let original = try variable.value.doubles()
            let coordinates = (0..<8).map { _ in Int.random(in: 0..<original.count, using: &generator) }
            var numeric: [Double] = []
            for k in coordinates {
                var shifted = original
                shifted[k] += epsilon
                try variable.assign(Tensor(shifted, shape: variable.shape, on: device))
                let plus = try loss(x, h0, c0).scalar()
                shifted[k] = original[k] - epsilon
                try variable.assign(Tensor(shifted, shape: variable.shape, on: device))
                let minus = try loss(x, h0, c0).scalar()
                numeric.append((plus - minus) / (2 * epsilon))
            }
            try variable.assign(Tensor(original, shape: variable.shape, on: device))
            assertClose(coordinates.map { gradient[$0] }, numeric, .finiteDifference, "lstm language model: \(name)")
        }

        let leaves = [x, h0, c0]
        for (index, (name, leaf)) in zip(["x", "h0", "c0"], leaves).enumerated() {
            let original = try leaf.doubles()
            let coordinates = (0..<8).map { _ in Int.random(in: 0..<original.count, using: &generator) }
            var numeric: [Double] = []
            for k in coordinates {
                func shifted(_ delta: Double) throws -> Double {
                    var values = original
                    values[k] += delta
                    var arguments = leaves
                    arguments[index] = try Tensor(values, shape: leaf.shape, on: device)
                    return try loss(arguments[0], arguments[1], arguments[2]).scalar()
                }
                numeric.append((try shifted(epsilon) - shifted(-epsilon)) / (2 * epsilon))
            }
            assertClose(
                coordinates.map { analytic[parameters.count + index][$0] }, numeric, .finiteDifference, "lstm language model: \(name)")
        }
    }
}
