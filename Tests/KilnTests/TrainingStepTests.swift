// The one compiled step: without a gradient reducer it is a single plan; with one it splits into forward
// and backward, then the update, and the reducer sees (and may change) every gradient in between. An
// identity reducer changes nothing; a reducer that doubles the gradients equals twice the learning rate.
import Kiln
import KilnTestSupport
import XCTest

final class TrainingStepTests: XCTestCase {
    /// Passes gradients through the host unchanged, or scaled, and records what it saw.
    final class RecordingReducer: GradientReducer {
        let scale: Float
        var calls: [(names: [String], step: Int)] = []
        init(scale: Float = 1) { self.scale = scale }
        func reduce(_ gradients: [NamedVariable], step: Int) throws {
            calls.append((gradients.map(\.name), step))
            for (_, buffer) in gradients { try buffer.load(try buffer.value.floats().map { $0 * scale }) }
        }
    }

    /// A small MLP, its step and a fixed batch; the same seed gives the same weights.
    func makeStep(on device: Device, clipNorm: Double? = nil, momentum: Double = 0.9) throws -> (Sequential, TrainingStep) {
        var random = RandomSource(seed: 21)
        let model = Sequential([
            Flatten(), try Dense(20, 12, random: &random, on: device), ReLU(), try Dense(12, 10, random: &random, on: device),
        ])
        return (model, TrainingStep(model: model, optimizer: SGD(momentum: momentum), loss: .softmaxCrossEntropy, clipNorm: clipNorm))
    }

    let inputs: [Float] = {
        var generator = SeededGenerator(seed: 22)
        return generator.values(8 * 20).map(Float.init)
    }()
    let labels: [Float] = [0, 1, 2, 3, 4, 5, 6, 9]
    let shape: Shape = [8, 1, 4, 5]

    func run(_ step: TrainingStep, steps: Int, learningRate: Double = 0.1, on device: Device) throws -> [Float] {
        try (0..<steps).map { _ in try step(inputs: inputs, shape: shape, targets: labels, learningRate: learningRate, on: device) }
    }

    func testAnIdentityReducerGivesTheFusedStepsValues() throws {
        for device in try availableDevices() {
            for clipNorm in [nil, 0.5] as [Double?] {
                let (fusedModel, fused) = try makeStep(on: device, clipNorm: clipNorm)
                let (splitModel, split) = try makeStep(on: device, clipNorm: clipNorm)
                let reducer = RecordingReducer()
                split.gradientReducer = reducer
                XCTAssertEqual(try fused.plans(for: [shape]).count, 1, "no reducer: one plan")
                XCTAssertEqual(try split.plans(for: [shape]).count, 2, "a reducer: forward and backward, then the update")
                // The same float32 ops in the same order; reading gradients to the host and back is exact.
                XCTAssertEqual(
                    try run(split, steps: 4, on: device), try run(fused, steps: 4, on: device),
                    "\(device) clip \(String(describing: clipNorm))")
                XCTAssertEqual(
                    try splitModel.state.map { try $0.variable.value.floats() }, try fusedModel.state.map { try $0.variable.value.floats() }
                )
                XCTAssertEqual(reducer.calls.map(\.step), [1, 2, 3, 4])
                XCTAssertEqual(reducer.calls.first?.names, ["1.weight.grad", "1.bias.grad", "3.weight.grad", "3.bias.grad"])
            }
        }
    }

    func testTheReducerRunsBetweenBackwardAndUpdate() throws {
        // Plain SGD: doubling every gradient moves the weights as twice the learning rate does (exactly: ×2 is exact).
        let device = try Device.named("cpu")
        let (doubledModel, doubled) = try makeStep(on: device, momentum: 0)
        doubled.gradientReducer = RecordingReducer(scale: 2)
        let (fasterModel, faster) = try makeStep(on: device, momentum: 0)
        XCTAssertEqual(try run(doubled, steps: 3, learningRate: 0.05, on: device), try run(faster, steps: 3, learningRate: 0.1, on: device))
        XCTAssertEqual(
            try doubledModel.state.map { try $0.variable.value.floats() }, try fasterModel.state.map { try $0.variable.value.floats() })
    }

    func testTheGradientNormIsReportedBeforeClipping() throws {
        let device = try Device.named("cpu")
        let weight = try Variable(Tensor([3, 4] as [Float], shape: [2], on: device))
        // loss = w · x with x = (1, 1) per run: the gradient is x, of norm √2, clipped to 0.5.
        let step = TrainingStep(parameters: [("w", weight)], optimizer: SGD(), clipNorm: 0.5, reportsGradientNorm: true) { _ in
            let x = try StepGraph.input([2], on: device)
            return StepGraph(inputs: [x], loss: try (weight.value * x).sum())
        }
        let loss = try step([[1, 1]], shapes: [], learningRate: 1)
        XCTAssertEqual(loss, 7)
        XCTAssertEqual(try step.gradientNorm(), Float(2.0.squareRoot()), accuracy: 1e-6)
        // clipByGlobalNorm scales by maxNorm / (‖g‖ + 1e-6).
        let moved = 0.5 / (2.0.squareRoot() + 1e-6)
        assertClose(try weight.value.floats(), [Float(3 - moved), Float(4 - moved)], .elementwise)
    }
}
