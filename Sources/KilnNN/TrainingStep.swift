// TrainingStep: the one compiled optimisation step every trainer uses. A closure builds the step's graph
// (data in, a scalar loss out, with any extra outputs and carried state); the step adds the gradients of
// the loss with respect to the trained parameters, optional clipping by global norm and the optimizer's
// update, compiles that into a plan once per input shape and replays it for every batch.
//
// Data parallelism: with a `GradientReducer` set, the step compiles into two plans instead, forward and
// backward writing each gradient into a buffer, then clipping and the update reading those buffers, and
// runs the reducer between them (an allreduce across replicas), telling it as the backward pass finishes each
// gradient so that it can start early. Without one the step stays a single plan: no extra launch and no host
// round trip.
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
    public func targetShape(for shape: Shape) -> Shape {
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
        "training diverged at step \(step): the loss is \(loss); lower the learning rate or clip gradients (the last checkpoint is intact)"
    }
}

/// The graph of one step as a `TrainingStep`'s builder returns it.
public struct StepGraph {
    /// The data tensors each run binds, in the order the step receives their values.
    public var inputs: [Tensor]
    /// The scalar loss the step descends.
    public var loss: Tensor
    /// More values to read after a run with `TrainingStep.output(_:)` (index 0 is the first of these).
    public var outputs: [Tensor]
    /// Variables the forward pass overwrites with each run: batch-norm running statistics, a recurrent
    /// state carried to the next window.
    public var stateUpdates: [(variable: Variable, value: Tensor)]

    public init(inputs: [Tensor], loss: Tensor, outputs: [Tensor] = [], stateUpdates: [(variable: Variable, value: Tensor)] = []) {
        self.inputs = inputs
        self.loss = loss
        self.outputs = outputs
        self.stateUpdates = stateUpdates
    }

    /// A zero-filled data tensor whose values each run replaces.
    public static func input(_ shape: Shape, on device: Device) throws -> Tensor {
        // A batch size from the command line must be an error here, not an overflow in `shape.count`.
        try device.backend.memoryLimits.check("input batch", shape.dimensions, on: device.description)
        return try Tensor([Float](repeating: 0, count: shape.count), shape: shape, on: device)
    }
}

/// Combines gradients across replicas (data parallelism) between a step's backward pass and its update.
public protocol GradientReducer: AnyObject {
    /// Replaces the value of every gradient buffer (one per trained parameter, in the step's parameter
    /// order and with its name) with the combination across replicas, typically their mean. Called once
    /// per step, after the backward pass wrote the buffers and before clipping and the update read them.
    func reduce(_ gradients: [NamedVariable], step: Int) throws
    /// Called during the backward pass as gradients become final, with their indices in the step's parameter
    /// order (the last layer's come first); `read(index)` gives a finished gradient's values, waiting only for
    /// the work that computes it. A reducer may start combining them here, so that the exchange overlaps the
    /// rest of the backward pass, and finish in `reduce`. The default does nothing.
    func gradientsFinished(_ indices: [Int], read: (Int) throws -> [Float], step: Int) throws
}

extension GradientReducer {
    public func gradientsFinished(_ indices: [Int], read: (Int) throws -> [Float], step: Int) throws {}
}

/// One compiled optimisation step of `parameters` under `optimizer`, for graphs a closure builds.
public final class TrainingStep {
    /// The variables the optimizer trains, with their names.
    public let parameters: [NamedVariable]
    public let optimizer: any Optimizer
    /// Clip the gradients' global norm to this before the update (nil: no clipping).
    public let clipNorm: Double?
    /// Whether each run also computes the gradients' global norm before clipping (`gradientNorm()` reads it).
    public let reportsGradientNorm: Bool
    /// Steps taken so far (Adam's bias correction counts them; dropout masks are salted with them).
    public var step: Int = 0
    /// Combines gradients across replicas before the update; nil (the default) keeps the single fused plan.
    /// Setting it drops the compiled plans, which are rebuilt for the new arrangement.
    public var gradientReducer: (any GradientReducer)? {
        didSet { compiled = [:] }
    }

    private let build: ([Shape]) throws -> StepGraph
    private var compiled: [[Shape]: Compiled] = [:]
    private var last: Compiled?

    /// The plans of one input shape: one fused plan, or forward-and-backward then update around a reducer.
    private enum Compiled {
        case fused(Plan, extraOutputs: Int)
        case split(forward: Plan, update: Plan, gradients: [NamedVariable], extraOutputs: Int)

        var plans: [Plan] {
            switch self {
            case .fused(let plan, _): [plan]
            case .split(let forward, let update, _, _): [forward, update]
            }
        }
    }

    /// A step whose graph `build` makes for the input shapes a run names (the key of its plan cache).
    /// `build` creates the data tensors itself (`StepGraph.input`) so it can derive some shapes from others.
    public init(
        parameters: [NamedVariable], optimizer: any Optimizer, clipNorm: Double? = nil, reportsGradientNorm: Bool = false,
        build: @escaping ([Shape]) throws -> StepGraph
    ) {
        self.parameters = parameters
        self.optimizer = optimizer
        self.clipNorm = clipNorm
        self.reportsGradientNorm = reportsGradientNorm
        self.build = build
    }

    /// The step of a model trained on inputs and targets under `loss`; `seed` is the base seed of its dropout
    /// masks. Its input shapes are `[x]`; a run binds `[inputs, targets]`.
    public convenience init(model: any Layer, optimizer: any Optimizer, loss: Loss, clipNorm: Double? = nil, seed: UInt64 = 0) {
        self.init(parameters: model.parameters, optimizer: optimizer, clipNorm: clipNorm) { shapes in
            guard let shape = shapes.first else { throw TensorError.valueCount(expected: 1, got: 0, shape: [0]) }
            let device = try Self.device(of: model)
            let x = try StepGraph.input(shape, on: device)
            let context = ForwardContext(training: true, seed: seed)
            let output = try model.forward(x, context: context)
            let targets = try StepGraph.input(loss.targetShape(for: output.shape), on: device)
            return StepGraph(inputs: [x, targets], loss: try loss(output, targets), stateUpdates: context.stateUpdates)
        }
    }

    /// The compiled plans for `shapes`: one, or with a gradient reducer the forward-and-backward plan and the
    /// update plan (built on first use).
    public func plans(for shapes: [Shape]) throws -> [Plan] { try compile(shapes).plans }

    /// The plan of a model step for inputs of `shape` (the convenience initialiser's), the one plan a step
    /// compiles into without a gradient reducer (with one, its forward-and-backward half). The plan lives on the
    /// model's device; `device` names it for callers written before the step took it from the parameters.
    public func plan(for shape: Shape, on device: Device) throws -> Plan {
        guard let first = try plans(for: [shape]).first else { preconditionFailure("[training step] no plan compiled") }
        return first
    }

    /// Runs one step: binds `inputs` (one array per data tensor of the graph for `shapes`) and returns the loss.
    /// A NaN or infinite loss is returned; the caller decides (`callAsFunction(inputs:shape:targets:...)` throws).
    @discardableResult
    public func callAsFunction(_ inputs: [[Float]], shapes: [Shape], learningRate: Double) throws -> Float {
        let compiled = try compile(shapes)
        let scalars = optimizer.scalars(step: step + 1, learningRate: learningRate)
        let salt = UInt64(step + 1)
        switch compiled {
        case .fused(let plan, _):
            try plan.run(inputs + [scalars], salt: salt)
        case .split(let forward, let update, let gradients, let extraOutputs):
            // The gradients follow the loss and the extra outputs, last parameter first.
            let first = 1 + extraOutputs
            let reducer = gradientReducer
            let step = step
            try forward.run(inputs, salt: salt) { ready in
                let finished = ready.filter { $0 >= first }.map { gradients.count - 1 - ($0 - first) }
                guard !finished.isEmpty else { return }
                try reducer?.gradientsFinished(finished, read: { try forward.output(first + gradients.count - 1 - $0) }, step: step + 1)
            }
            try gradientReducer?.reduce(gradients, step: step + 1)
            try update.run([scalars])
        }
        step += 1
        last = compiled
        return try lossValue()
    }

    /// Runs one step of a model built with the convenience initialiser on a batch and returns its loss (on the
    /// model's device, which `device` names). Throws `NonFiniteLossError` when the loss is NaN or infinite.
    @discardableResult
    public func callAsFunction(inputs: [Float], shape: Shape, targets: [Float], learningRate: Double, on device: Device) throws -> Float {
        let value = try self([inputs, targets], shapes: [shape], learningRate: learningRate)
        guard value.isFinite else { throw NonFiniteLossError(step: step, loss: value) }
        return value
    }

    /// The last run's value of the graph's extra output `index` (waits for the device).
    public func output(_ index: Int) throws -> [Float] {
        guard let last else { preconditionFailure("[training step] no step has run") }
        switch last {
        case .fused(let plan, _), .split(let plan, _, _, _): return try plan.output(index + 1)
        }
    }

    /// The last run's global norm of the gradients before clipping (needs `reportsGradientNorm`).
    public func gradientNorm() throws -> Float {
        guard reportsGradientNorm, let last else {
            preconditionFailure("[training step] no gradient norm: none was asked for or no step has run")
        }
        switch last {
        case .fused(let plan, let extraOutputs): return try plan.output(extraOutputs + 1)[0]
        case .split(_, let update, _, _): return try update.output(0)[0]
        }
    }

    private func lossValue() throws -> Float {
        guard let last else { preconditionFailure("[training step] no step has run") }
        switch last {
        case .fused(let plan, _), .split(let plan, _, _, _): return try plan.output(0)[0]
        }
    }

    // MARK: Compilation

    private func compile(_ shapes: [Shape]) throws -> Compiled {
        if let existing = compiled[shapes] { return existing }
        let graph = try build(shapes)
        let device = graph.loss.device
        let scalars = try StepGraph.input([optimizer.scalarCount], on: device)
        let grads = try gradients(of: graph.loss, withRespectTo: parameters.map(\.variable.value))
        let result: Compiled
        if gradientReducer == nil {
            let (updates, norm) = try optimizerUpdates(grads, scalars: scalars)
            let plan = try Plan(
                inputs: graph.inputs + [scalars], outputs: [graph.loss] + graph.outputs + (norm.map { [$0] } ?? []),
                updates: updates + graph.stateUpdates)
            result = .fused(plan, extraOutputs: graph.outputs.count)
        } else {
            // The forward-and-backward plan leaves each gradient in a buffer the update plan reads. The gradients
            // are outputs too, last parameter first (the order the backward pass can finish them in), so that a
            // run reports each as soon as it is final.
            let buffers = try parameters.map { ("\($0.name).grad", try Variable(Tensor.zeros($0.variable.shape, on: device))) }
            let forward = try Plan(
                inputs: graph.inputs, outputs: [graph.loss] + graph.outputs + grads.reversed(),
                updates: graph.stateUpdates + zip(buffers, grads).map { ($0.1, $1) })
            let (updates, norm) = try optimizerUpdates(buffers.map(\.1.value), scalars: scalars)
            let update = try Plan(inputs: [scalars], outputs: norm.map { [$0] } ?? [], updates: updates)
            result = .split(forward: forward, update: update, gradients: buffers, extraOutputs: graph.outputs.count)
        }
        compiled[shapes] = result
        return result
    }

    /// Clipping (when set) and the optimizer's updates from `grads`, and the norm when one is reported.
    private func optimizerUpdates(_ grads: [Tensor], scalars: Tensor) throws -> (
        updates: [(variable: Variable, value: Tensor)], norm: Tensor?
    ) {
        var grads = grads
        var norm: Tensor?
        if let clipNorm {
            let clipped = try clipByGlobalNorm(grads, maxNorm: clipNorm)
            grads = clipped.clipped
            norm = clipped.norm
        } else if reportsGradientNorm {
            norm = try globalNorm(grads)
        }
        return (try optimizer.updates(parameters: parameters, gradients: grads, scalars: scalars), reportsGradientNorm ? norm : nil)
    }

    /// The device `model`'s parameters live on.
    static func device(of model: any Layer) throws -> Device {
        guard let first = (model.parameters + model.buffers).first else {
            throw ShapeError(op: "training step", "the model has no parameters or buffers, so nothing to train", shapes: [])
        }
        return first.variable.device
    }
}

/// The model in evaluation mode, compiled per input shape.
public final class Evaluation {
    public let model: any Layer
    private var plans: [Shape: Plan] = [:]

    public init(model: any Layer) { self.model = model }

    /// The model's output for a batch, row-major.
    public func callAsFunction(inputs: [Float], shape: Shape, on device: Device) throws -> [Float] {
        let plan =
            try plans[shape]
            ?? {
                let x = try StepGraph.input(shape, on: device)
                let output = try model.forward(x, context: ForwardContext(training: false))
                let plan = try Plan(inputs: [x], outputs: [output], updates: [])
                plans[shape] = plan
                return plan
            }()
        try plan.run([inputs])
        return try plan.output(0)
    }
}
