// Gradients of whole networks built from layers (an MLP, a small CNN with batch norm, an LSTM over
// several steps) against central finite differences, in Double on the reference backend.
import KilnCore
import KilnNN
import KilnTestSupport
import XCTest

final class NetworkGradientTests: XCTestCase {
    var generator = SeededGenerator(seed: 3)
    let device = GradientCheck.device

    /// Checks the loss's gradient with respect to every parameter of `model` on input `x`, perturbing
    /// the parameters in place.
    func checkModel(_ name: String, _ model: any Layer, input: HostTensor, training: Bool = false, loss: (Tensor) throws -> Tensor) throws {
        let x = try Tensor(input.values, shape: input.shape, on: device)
        func lossValue() throws -> Tensor {
            try loss(model.forward(x, context: ForwardContext(training: training)))
        }
        let parameters = model.parameters
        let analytic = try gradients(of: lossValue(), withRespectTo: parameters.map(\.variable.value)).map { try $0.doubles() }
        let epsilon = 1e-6
        for ((parameterName, variable), gradient) in zip(parameters, analytic) {
            let original = try variable.value.doubles()
            let coordinates = (0..<min(6, original.count)).map { _ in Int.random(in: 0..<original.count, using: &generator) }
            var numeric: [Double] = []
            for k in coordinates {
                var shifted = original
                shifted[k] = original[k] + epsilon
                try variable.assign(Tensor(shifted, shape: variable.shape, on: device))
                let plus = try lossValue().scalar()
                shifted[k] = original[k] - epsilon
                try variable.assign(Tensor(shifted, shape: variable.shape, on: device))
                let minus = try lossValue().scalar()
                numeric.append((plus - minus) / (2 * epsilon))
            }
            try variable.assign(Tensor(original, shape: variable.shape, on: device))
            assertClose(coordinates.map { gradient[$0] }, numeric, .finiteDifference, "\(name): \(parameterName)")
        }
    }

    func testMLP() throws {
        var random = RandomSource(seed: 1)
        let model = Sequential([
            try Dense(6, 5, random: &random, on: device), Tanh(), try Dense(5, 4, random: &random, on: device), Sigmoid(),
            try Dense(4, 3, random: &random, on: device),
        ])
        let labels = try Tensor([0, 2, 1, 2] as [Double], shape: [4], on: device)
        try checkMLPLike(model, input: HostTensor(generator.values(24), [4, 6]), labels: labels)
    }

    func testSmallCNN() throws {
        var random = RandomSource(seed: 2)
        let model = Sequential([
            try Conv2D(2, 3, kernel: [3], padding: [1], random: &random, on: device), Tanh(), AvgPool2D(kernel: [2]),
            try Conv2D(3, 4, kernel: [2], stride: [1], random: &random, on: device), Sigmoid(), Flatten(),
            try Dense(16, 3, random: &random, on: device),
        ])
        let labels = try Tensor([1, 0] as [Double], shape: [2], on: device)
        try checkMLPLike(model, input: HostTensor(generator.values(144), [2, 2, 6, 6]), labels: labels)
    }

    func testBatchNormInTraining() throws {
        var random = RandomSource(seed: 4)
        let model = Sequential([try Dense(3, 4, random: &random, on: device), try BatchNorm(features: 4, on: device), Tanh()])
        try checkModel("batch norm", model, input: HostTensor(generator.values(15), [5, 3]), training: true) { try ($0 * $0).sum() }
    }

    func testLSTMOverASequence() throws {
        var random = RandomSource(seed: 5)
        let lstm = try LSTM(inputs: 3, hidden: 4, random: &random, on: device)
        let input = HostTensor(generator.values(30), [5, 2, 3])
        try checkModel("lstm sequence", lstm, input: input) { try ($0 * $0).sum() }
        let rnn = try RNN(inputs: 3, hidden: 4, random: &random, on: device)
        try checkModel("rnn sequence", rnn, input: input) { try ($0 * $0).sum() }
    }

    private func checkMLPLike(_ model: Sequential, input: HostTensor, labels: Tensor) throws {
        try checkModel("\(model.layers.count)-layer model", model, input: input) {
            try Tensor.softmaxCrossEntropy(logits: $0, labels: labels)
        }
    }
}
