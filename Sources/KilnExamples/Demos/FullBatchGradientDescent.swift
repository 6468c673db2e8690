// FullBatchGradientDescent: batch gradient descent on the mean loss over a whole training set. The
// gradient is accumulated chunk by chunk into variables (one compiled plan per chunk size), then a
// second plan applies the optimizer's update from the accumulated gradient and clears it.
import Foundation
import Kiln

/// One update per pass over `images`, from the exact gradient of the mean loss over all of them.
final class FullBatchGradientDescent {
    let model: any Layer
    let optimizer: any Optimizer
    let loss: Loss
    let device: Device
    /// Examples per chunk: bounds the memory a forward and backward pass needs.
    let chunkSize: Int
    /// How pixels become inputs (the same as the model is evaluated with).
    let normalization: PixelNormalization
    private let parameters: [NamedVariable]
    /// Σ over chunks of (chunk size / total) · ∇(mean chunk loss) = ∇(mean loss over all examples).
    private let accumulators: [Variable]
    private var chunkPlans: [Shape: Plan] = [:]
    private let updatePlan: Plan

    init(
        model: any Layer, optimizer: any Optimizer, loss: Loss = .softmaxCrossEntropy, chunkSize: Int, normalization: PixelNormalization,
        on device: Device
    ) throws {
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.device = device
        self.chunkSize = max(chunkSize, 1)
        self.normalization = normalization
        parameters = model.parameters
        accumulators = try parameters.map { try Variable(Tensor.zeros($0.variable.shape, on: device)) }
        let scalars = try Tensor([Float](repeating: 0, count: optimizer.scalarCount), shape: [optimizer.scalarCount], on: device)
        let updates = try optimizer.updates(parameters: parameters, gradients: accumulators.map(\.value), scalars: scalars)
        // The parameters read the accumulated gradient before the copies at the end of the run clear it.
        let clears = try accumulators.map { ($0, try Tensor.zeros($0.shape, on: device)) }
        updatePlan = try Plan(inputs: [scalars], outputs: [], updates: updates + clears)
    }

    /// The plan that adds `weight · ∇(mean loss of a chunk of inputs shaped `shape`)` to the accumulators.
    private func chunkPlan(shape: Shape, weight: Double) throws -> Plan {
        if let plan = chunkPlans[shape] { return plan }
        let x = try Tensor([Float](repeating: 0, count: shape.count), shape: shape, on: device)
        let output = try model.forward(x, context: ForwardContext(training: true))
        let targets = try Tensor([Float](repeating: 0, count: shape[0]), shape: [shape[0]], on: device)
        let value = try loss(output, targets)
        let grads = try gradients(of: value, withRespectTo: parameters.map(\.variable.value))
        let updates = try zip(accumulators, grads).map { ($0, try $0.value + $1 * weight) }
        let plan = try Plan(inputs: [x, targets], outputs: [value], updates: updates)
        chunkPlans[shape] = plan
        return plan
    }

    /// Accumulates the gradient over every example of `images` in chunks, then takes one step at
    /// `learningRate`. Returns the mean loss over all examples before the step.
    func epoch(_ images: LabeledImages, learningRate: Double, step: Int) throws -> Double {
        let chunks = ImageBatches(images, batchSize: chunkSize, shuffleSeed: nil, dropLast: false, normalization: normalization)
        let order = chunks.order(epoch: 0)
        let total = Double(images.count)
        var lossSum = 0.0
        let prefetch = Prefetcher(0..<chunks.count) { try chunks.batch($0, order: order) }
        while let chunk = try prefetch.next() {
            let plan = try chunkPlan(shape: chunks.shape(count: chunk.count), weight: Double(chunk.count) / total)
            try plan.run([chunk.inputs, chunk.labels])
            lossSum += Double(try plan.output(0)[0]) * Double(chunk.count)
        }
        try updatePlan.run([optimizer.scalars(step: step, learningRate: learningRate)])
        try device.backend.synchronize()
        let loss = lossSum / total
        guard loss.isFinite else {
            throw DemoError("batch gradient descent diverged at update \(step): the loss is \(loss); lower the learning rate")
        }
        return loss
    }
}
