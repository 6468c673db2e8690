// SequenceTrainingStep: forward, loss, backward, gradient norm (and clipping) and the optimizer update
// of a model whose graph a closure builds, compiled into one plan and replayed. Unlike `TrainingStep`
// it reports the gradients' global norm every step (the exploding-gradient demo plots it) and carries
// recurrent state from one window to the next (truncated backpropagation through time).
import Foundation
import Kiln

/// One compiled optimisation step with its loss and the gradients' global norm (before clipping) as outputs.
public final class SequenceTrainingStep {
    public let plan: Plan
    public let optimizer: any Optimizer
    /// Steps taken so far (Adam's bias correction counts them).
    public private(set) var step = 0

    /// Compiles the step. `build` receives one zero-filled data tensor per entry of `inputShapes` (the
    /// values each run binds) and returns the scalar loss and the variables to overwrite after the
    /// update (a recurrent state carried to the next window); `parameters` are what the optimizer trains.
    public init(
        inputShapes: [Shape], parameters: [NamedVariable], optimizer: any Optimizer, clipNorm: Double?, on device: Device,
        build: ([Tensor]) throws -> (loss: Tensor, carried: [(variable: Variable, value: Tensor)])
    ) throws {
        let inputs = try inputShapes.map { try Tensor([Float](repeating: 0, count: $0.count), shape: $0, on: device) }
        let scalars = try Tensor([Float](repeating: 0, count: optimizer.scalarCount), shape: [optimizer.scalarCount], on: device)
        let (loss, carried) = try build(inputs)
        var grads = try gradients(of: loss, withRespectTo: parameters.map(\.variable.value))
        let norm: Tensor
        if let clipNorm {
            (grads, norm) = try clipByGlobalNorm(grads, maxNorm: clipNorm)
        } else {
            norm = try globalNorm(grads)
        }
        let updates = try optimizer.updates(parameters: parameters, gradients: grads, scalars: scalars) + carried
        plan = try Plan(inputs: inputs + [scalars], outputs: [loss, norm], updates: updates)
        self.optimizer = optimizer
    }

    /// Runs one step on `inputs` (one array per input shape) and returns the loss and the gradient norm.
    /// A NaN or infinite loss is returned, not thrown: the exploding-gradient demo records it.
    public func callAsFunction(_ inputs: [[Float]], learningRate: Double) throws -> (loss: Double, gradientNorm: Double) {
        try plan.run(inputs + [optimizer.scalars(step: step + 1, learningRate: learningRate)], salt: UInt64(step + 1))
        step += 1
        return (Double(try plan.output(0)[0]), Double(try plan.output(1)[0]))
    }
}

/// `‖g‖`, the norm of all `gradients` together.
func globalNorm(_ gradients: [Tensor]) throws -> Tensor {
    guard let first = gradients.first else { throw TensorError.valueCount(expected: 1, got: 0, shape: [0]) }
    var squares = try (first * first).sum()
    for gradient in gradients.dropFirst() { squares = try squares + (gradient * gradient).sum() }
    return try squares.sqrt()
}
