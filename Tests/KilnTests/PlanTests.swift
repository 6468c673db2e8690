// Compiled plans: the same values as eager evaluation, buffer reuse, fusion, constant folding, and
// variables updated in place across runs.
import Foundation
import Kiln
import KilnTestSupport
import XCTest

final class PlanTests: XCTestCase {
    func testPlanMatchesEagerEvaluationAndFuses() throws {
        for device in try availableDevices() {
            var random = RandomSource(seed: 3)
            let model = Sequential([
                Flatten(), try Dense(12, 16, random: &random, on: device), ReLU(), try Dense(16, 8, random: &random, on: device), Tanh(),
                try Dense(8, 3, random: &random, on: device),
            ])
            var generator = SeededGenerator(seed: 4)
            let values = generator.values(5 * 12).map(Float.init)
            let x = try Tensor(values, shape: [5, 1, 3, 4], on: device)
            let eager = try model(x).floats()
            let evaluation = Evaluation(model: model)
            assertClose(try evaluation(inputs: values, shape: [5, 1, 3, 4], on: device), eager, .accumulation(terms: 16), "\(device)")

            let plan = try Plan(inputs: [x], outputs: [model(x)], updates: [])
            XCTAssertEqual(
                plan.report.fusions,
                ["1× matmul+bias_add → linear", "1× matmul+bias_add+relu → linear", "1× matmul+bias_add+tanh → linear"],
                "\(device)")
            // Three fused launches; the reshape of Flatten launches nothing.
            XCTAssertEqual(plan.report.steps, 3, "\(plan.report)")
        }
    }

    func testTrainingPlanReusesBuffersAndUpdatesVariablesInPlace() throws {
        let device = try Device.named("cpu")
        var random = RandomSource(seed: 5)
        let model = Sequential([
            Flatten(), try Dense(20, 32, random: &random, on: device), ReLU(), try Dense(32, 10, random: &random, on: device),
        ])
        let step = TrainingStep(model: model, optimizer: SGD(momentum: 0.9), loss: .softmaxCrossEntropy)
        let plan = try step.plan(for: [8, 1, 4, 5], on: device)
        XCTAssertLessThan(plan.report.intermediateBytes, plan.report.intermediateBytesWithoutReuse, "\(plan.report)")
        // ReLU's gradient reads ReLU's output, so the hidden layer's activation fuses in training too, and that
        // gradient into the product that sends the loss's gradient back through the second layer; each bias's
        // gradient (the batch's rows of its layer's output gradient, summed) is summed by its updates.
        XCTAssertEqual(
            plan.report.fusions,
            [
                "1× matmul+bias_add → linear", "1× matmul+bias_add+relu → linear", "1× matmul+relu_grad → linear_gradient",
                "2× reduce_sum+momentum_buffer_update+sgd_update → updates summing the gradient's rows",
            ])
        let weight = model.layers[1].parameters[0].variable
        let before = try weight.value.floats()
        var generator = SeededGenerator(seed: 6)
        let inputs = generator.values(160).map(Float.init)
        let labels: [Float] = [0, 1, 2, 3, 4, 5, 6, 7]
        let first = try step(inputs: inputs, shape: [8, 1, 4, 5], targets: labels, learningRate: 0.1, on: device)
        XCTAssertNotEqual(try weight.value.floats(), before, "the plan wrote the new weights into the variable")
        var loss = first
        for _ in 0..<20 { loss = try step(inputs: inputs, shape: [8, 1, 4, 5], targets: labels, learningRate: 0.1, on: device) }
        XCTAssertLessThan(loss, first * 0.5, "repeating one batch drives its loss down")
        XCTAssertEqual(step.step, 21)
    }

    /// Adam's two moment updates would each sum a bias gradient's rows, so under Adam the gradient is reduced once.
    func testAdamKeepsBiasGradientsReducedOnce() throws {
        let device = try Device.named("cpu")
        var random = RandomSource(seed: 5)
        let model = Sequential([Flatten(), try Dense(20, 10, random: &random, on: device)])
        let step = TrainingStep(model: model, optimizer: Adam(), loss: .softmaxCrossEntropy)
        let fusions = try step.plan(for: [8, 1, 4, 5], on: device).report.fusions
        XCTAssertFalse(fusions.contains { $0.hasPrefix("1× reduce_sum") || $0.contains("reduce_sum+") }, "\(fusions)")
    }

    func testConstantsAreFoldedOnce() throws {
        let device = try Device.named("cpu")
        let x = try Tensor([1, 2, 3] as [Float], shape: [3], on: device)
        let constant = try Tensor.full(2, shape: [3], on: device).exp() * 3
        let plan = try Plan(inputs: [x], outputs: [x * constant], updates: [])
        XCTAssertEqual(plan.report.steps, 1, "only the multiply runs per replay")
        try plan.run([[1, 1, 1]])
        assertClose(try plan.output(0), [Float](repeating: Float(3 * Foundation.exp(2.0)), count: 3), .elementwise)
    }
}

extension PlanTests {
    /// A compiled training step of a CNN (conv, pooling, dense, momentum) updates every parameter exactly as
    /// eager evaluation of the same loss and gradients does: slot reuse and fusion change nothing.
    func testCompiledStepMatchesEagerGradients() throws {
        for device in try availableDevices() {
            var random = RandomSource(seed: 11)
            let model = try ModelSpec("conv6k3p1-relu-maxpool2-conv8k3p1-relu-maxpool2-flatten-dense16-relu-dense10")
                .build(inputShape: [1, 12, 12], random: &random, on: device)
            var generator = SeededGenerator(seed: 12)
            let inputs = generator.values(8 * 144, in: 0...1).map(Float.init)
            let labels: [Float] = [3, 1, 4, 1, 5, 9, 2, 6]
            let x = try Tensor(inputs, shape: [8, 1, 12, 12], on: device)
            let y = try Tensor(labels, shape: [8], on: device)
            let parameters = model.parameters
            let loss = try Tensor.softmaxCrossEntropy(logits: model(x), labels: y)
            let grads = try gradients(of: loss, withRespectTo: parameters.map(\.variable.value))
            try Tensor.evaluate([loss] + grads)
            let learningRate = 0.1
            // First momentum step: v = g, p ← p − lr·g.
            let expected = try zip(parameters, grads).map { try ($0.variable.value - $1 * learningRate).floats() }
            let expectedLoss = try loss.floats()[0]
            // Evaluation runs each convolution and its ReLU as one launch, with the eager values.
            let logits = try model(x).floats()
            let evaluationPlan = try Plan(inputs: [x], outputs: [model(x)], updates: [])
            XCTAssertTrue(evaluationPlan.report.fusions.contains("2× conv2d+relu → conv2d_relu"), "\(evaluationPlan.report)")
            assertClose(
                try Evaluation(model: model)(inputs: inputs, shape: [8, 1, 12, 12], on: device), logits, .accumulation(terms: 100),
                "\(device)")

            let step = TrainingStep(model: model, optimizer: SGD(momentum: 0.9), loss: .softmaxCrossEntropy)
            let fusions = try step.plan(for: [8, 1, 12, 12], on: device).report.fusions
            XCTAssertTrue(
                fusions.contains("2× conv2d+relu → conv2d_relu"),
                "ReLU's gradient reads its output, so the convolutions fuse in training too")
            XCTAssertTrue(
                fusions.contains("2× reduce_sum+momentum_buffer_update+sgd_update → updates summing the gradient's rows"),
                "the dense layers' bias gradients are summed by their updates: \(fusions)")
            let planLoss = try step(inputs: inputs, shape: [8, 1, 12, 12], targets: labels, learningRate: learningRate, on: device)
            XCTAssertEqual(planLoss, expectedLoss, accuracy: 1e-5, "\(device)")
            for ((name, variable), values) in zip(parameters, expected) {
                assertClose(try variable.value.floats(), values, .accumulation(terms: 1000), "\(device) \(name)")
            }
        }
    }
}

/// Variable updates written in place, and the copies kept where a later step still reads the old value.
extension PlanTests {
    func testUpdatesRunInPlaceUnlessALaterStepReadsTheOldValue() throws {
        for device in try availableDevices() {
            let a = try Variable(Tensor([1, 2, 3] as [Float], shape: [3], on: device))
            let b = try Variable(Tensor([10, 20, 30] as [Float], shape: [3], on: device))
            // The output reads a's old value before the update: in place, two launches.
            let doubled = try a.value * 2
            let simple = try Plan(inputs: [], outputs: [doubled], updates: [(a, try a.value + 1)])
            XCTAssertEqual(simple.report.steps, 2, "\(simple.report)")
            try simple.run([])
            XCTAssertEqual(try simple.output(0), [2, 4, 6])
            XCTAssertEqual(try a.value.floats(), [2, 3, 4])

            // A swap: a ← b + 1 runs first in place, so b ← a + 1, which reads a's old value, must not
            // find it overwritten: a's new value goes through a copy after the run.
            let swap = try Plan(inputs: [], outputs: [], updates: [(a, try b.value + 1), (b, try a.value + 1)])
            XCTAssertEqual(swap.report.steps, 3, "two steps and one copy: \(swap.report)")
            try swap.run([])
            XCTAssertEqual(try a.value.floats(), [11, 21, 31], "\(device)")
            XCTAssertEqual(try b.value.floats(), [3, 4, 5], "\(device)")
        }
    }
}

/// `Plan.deviceProfile`: the device's own launch times, op by op, where the backend reports them.
extension PlanTests {
    func testDeviceProfileCountsEveryKernelLaunchOfARun() throws {
        for device in try availableDevices() {
            var random = RandomSource(seed: 7)
            let model = Sequential([
                Flatten(), try Dense(12, 16, random: &random, on: device), ReLU(), try Dense(16, 3, random: &random, on: device),
            ])
            let optimizer = SGD(momentum: 0.9)
            let step = TrainingStep(model: model, optimizer: optimizer, loss: .softmaxCrossEntropy)
            let plan = try step.plan(for: [5, 1, 3, 4], on: device)
            var generator = SeededGenerator(seed: 8)
            let inputs: [[Float]] = [generator.values(60).map(Float.init), [0, 1, 2, 0, 1], optimizer.scalars(step: 1, learningRate: 0.1)]
            let profile = try plan.deviceProfile(inputs, runs: 3, clock: { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 })
            guard let profile else {
                XCTAssertEqual(device.description, "cpu", "only the reference backend cannot time launches on a device")
                continue
            }
            // This plan copies nothing after its steps, so every launch of a run is a kernel with an event.
            XCTAssertEqual(profile.ops.map(\.launches).reduce(0, +), plan.kernelLaunchesPerRun, "\(profile.ops)")
            XCTAssertTrue(profile.ops.allSatisfy { $0.seconds >= 0 && $0.seconds <= profile.wallSeconds }, "\(profile)")
            XCTAssertTrue(profile.ops.contains { $0.op.hasPrefix("optimizer updates") }, "\(profile.ops.map(\.op))")
            let byKernel = try XCTUnwrap(try plan.deviceProfile(inputs, byKernel: true, clock: { 0 }))
            XCTAssertTrue(byKernel.ops.contains { $0.op.hasSuffix(": update_sgd_multi") }, "\(byKernel.ops.map(\.op))")
        }
    }
}
