// TrainingStep: forward, loss, backward and the optimizer update of one batch, compiled into a plan
// once per batch shape and replayed for every batch.
import KilnCore

/// The loss a training step minimises.
public enum Loss: Sendable {
    /// Softmax cross-entropy of logits `[N, C]` against class indices `[N]`.
    case softmaxCrossEntropy
    /// Mean squared error against targets of the output's shape.
    case meanSquaredError
    /// Binary cross-entropy with logits against targets in [0, 1] of the output's shape.
    case binaryCrossEntropy

    /// The loss of `output` against `targets`.
    public func callAsFunction(_ output: Tensor, _ targets: Tensor) throws -> Tensor {
        switch self {
        case .softmaxCrossEntropy: try Tensor.softmaxCrossEntropy(logits: output, labels: targets)
        case .meanSquaredError: try Tensor.meanSquaredError(output, targets)
        case .binaryCrossEntropy: try Tensor.binaryCrossEntropy(logits: output, targets: targets)
        }
    }

    /// The targets' shape for an output of `shape`.
    func targetShape(for shape: Shape) -> Shape {
        switch self {
        case .softmaxCrossEntropy: [shape[0]]
        case .meanSquaredError, .binaryCrossEntropy: shape
        }
    }
}

/// The loss was NaN or infinite: training stops instead of continuing on garbage.
public struct NonFiniteLossError: Error, CustomStringConvertible {
    public let step: Int
    public let loss: Float
    public init(step: Int, loss: Float) {
        self.step = step
        self.loss = loss
    }
    public var description: String {
        "training stopped at step \(step): the loss is \(loss); lower the learning rate or clip gradients (the last checkpoint is intact)"
    }
}

/// One optimisation step of `model` under `loss` and `optimizer`, compiled per input shape.
public final class TrainingStep {
    public let model: any Layer
    public let optimizer: any Optimizer
    public let loss: Loss
    /// Clip the gradients' global norm to this before the update (nil: no clipping).
    public let clipNorm: Double?
    /// Base seed for dropout masks; each run of a plan draws fresh masks from it.
    public let seed: UInt64
    /// Steps taken so far (Adam's bias correction counts them).
    public var step: Int = 0
    private var plans: [Shape: Plan] = [:]

    public init(model: any Layer, optimizer: any Optimizer, loss: Loss, clipNorm: Double? = nil, seed: UInt64 = 0) {
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.clipNorm = clipNorm
        self.seed = seed
    }

    /// The compiled plan for inputs of `shape` (built on first use).
    public func plan(for shape: Shape, on device: Device) throws -> Plan {
        if let plan = plans[shape] { return plan }
        // A batch size from the command line must be an error here, not an overflow in `shape.count`.
        try device.backend.memoryLimits.check("input batch", shape.dimensions, on: device.description)
        let x = try Tensor([Float](repeating: 0, count: shape.count), shape: shape, on: device)
        let context = ForwardContext(training: true, seed: seed)
        let output = try model.forward(x, context: context)
        let targetShape = loss.targetShape(for: output.shape)
        let targets = try Tensor([Float](repeating: 0, count: targetShape.count), shape: targetShape, on: device)
        let scalars = try Tensor([Float](repeating: 0, count: optimizer.scalarCount), shape: [optimizer.scalarCount], on: device)
        let value = try loss(output, targets)
        let parameters = model.parameters
        var grads = try gradients(of: value, withRespectTo: parameters.map(\.variable.value))
        if let clipNorm { grads = try clipByGlobalNorm(grads, maxNorm: clipNorm).clipped }
        let updates = try optimizer.updates(parameters: parameters, gradients: grads, scalars: scalars) + context.stateUpdates
        let plan = try Plan(inputs: [x, targets, scalars], outputs: [value], updates: updates)
        plans[shape] = plan
        return plan
    }

    /// Runs one step on a batch and returns its loss. Throws `NonFiniteLossError` when the loss is NaN or infinite.
    @discardableResult
    public func callAsFunction(inputs: [Float], shape: Shape, targets: [Float], learningRate: Double, on device: Device) throws -> Float {
        let plan = try plan(for: shape, on: device)
        try plan.run([inputs, targets, optimizer.scalars(step: step + 1, learningRate: learningRate)], salt: UInt64(step + 1))
        step += 1
        let value = try plan.output(0)[0]
        guard value.isFinite else { throw NonFiniteLossError(step: step, loss: value) }
        return value
    }
}

/// The model in evaluation mode, compiled per input shape.
public final class Evaluation {
    public let model: any Layer
    private var plans: [Shape: Plan] = [:]

    public init(model: any Layer) { self.model = model }

    /// The model's output for a batch, row-major.
    public func callAsFunction(inputs: [Float], shape: Shape, on device: Device) throws -> [Float] {
        let plan = try plans[shape] ?? {
            try device.backend.memoryLimits.check("input batch", shape.dimensions, on: device.description)
            let x = try Tensor([Float](repeating: 0, count: shape.count), shape: shape, on: device)
            let output = try model.forward(x, context: ForwardContext(training: false))
            let plan = try Plan(inputs: [x], outputs: [output], updates: [])
            plans[shape] = plan
            return plan
        }()
        try plan.run([inputs])
        return try plan.output(0)
    }
}
