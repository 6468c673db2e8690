// The training step tells its gradient reducer about each gradient as soon as the backward pass has finished
// it, last layer first, before `reduce`: what lets the gradient allreduce overlap the backward pass.
import Kiln
import XCTest

final class GradientsFinishedTests: XCTestCase {
    /// Records the notifications and the values read through them, and what `reduce` then sees.
    final class RecordingReducer: GradientReducer {
        var notifications: [[Int]] = []
        var early: [Int: [Float]] = [:]
        var buffers: [Int: [Float]] = [:]

        func gradientsFinished(_ indices: [Int], read: (Int) throws -> [Float], step: Int) throws {
            notifications.append(indices)
            for index in indices { early[index] = try read(index) }
        }

        func reduce(_ gradients: [NamedVariable], step: Int) throws {
            for (index, gradient) in gradients.enumerated() { buffers[index] = try gradient.variable.value.floats() }
        }
    }

    func testEveryGradientIsReportedOnceWithItsFinalValuesLastLayerFirst() throws {
        for name in ["cpu", "opencl"] {
            let device: Device
            do { device = try Device.named(name) } catch { continue }
            var random = RandomSource(seed: 5)
            let model = Sequential([
                Flatten(), try Dense(12, 7, random: &random, on: device), ReLU(), try Dense(7, 5, random: &random, on: device), ReLU(),
                try Dense(5, 3, random: &random, on: device),
            ])
            let step = TrainingStep(model: model, optimizer: SGD(momentum: 0.9), loss: .softmaxCrossEntropy)
            let reducer = RecordingReducer()
            step.gradientReducer = reducer
            let inputs: [Float] = (0..<48).map { (index: Int) -> Float in Float((index * 37) % 17) / 17 - 0.5 }
            try step(inputs: inputs, shape: [4, 1, 3, 4], targets: [0, 2, 1, 2], learningRate: 0.1, on: device)

            let parameters = model.parameters.count
            XCTAssertEqual(reducer.notifications.flatMap { $0 }.sorted(), Array(0..<parameters), "\(name): each gradient once")
            XCTAssertGreaterThan(reducer.notifications.count, 1, "\(name): reported as they finish, not all at the end")
            XCTAssertEqual(
                reducer.notifications.first?.contains(parameters - 1), true, "\(name): the last layer's first: \(reducer.notifications)")
            for index in 0..<parameters {
                XCTAssertEqual(reducer.early[index], reducer.buffers[index], "\(name): gradient \(index) read early equals its buffer")
            }
        }
    }
}
