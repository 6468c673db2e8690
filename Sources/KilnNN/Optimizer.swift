// Optimizers: SGD (plain, momentum, Nesterov) and Adam, with weight decay. Each writes its update as
// lazy tensors, one fused `update` op per tensor it changes (which plans run in place), so a training
// step (forward, backward and update) compiles into one plan. Values that
// change every step (the learning rate, Adam's bias corrections) come in through a small input tensor,
// so a compiled step never bakes them in.
import Foundation
import KilnCore

/// Updates parameters from their gradients.
public protocol Optimizer: AnyObject {
    /// The number of per-step scalars `scalars(step:learningRate:)` returns.
    var scalarCount: Int { get }
    /// The per-step scalars for step `step` (counted from 1) at `learningRate`.
    func scalars(step: Int, learningRate: Double) -> [Float]
    /// New values for `parameters` and for the optimizer's own state, given `gradients` and the
    /// per-step `scalars` tensor (shape `[scalarCount]`).
    func updates(parameters: [NamedVariable], gradients: [Tensor], scalars: Tensor) throws -> [(variable: Variable, value: Tensor)]
    /// The optimizer's state (momentum or Adam buffers) by name, for checkpoints.
    var state: [NamedVariable] { get }
}

/// Stochastic gradient descent, PyTorch's semantics: `g += decay·p`; with momentum `v = μ·v + g` and
/// the step `g = v` (or `g + μ·v` for Nesterov); `p −= lr·g`.
public final class SGD: Optimizer {
    public let momentum: Double
    public let nesterov: Bool
    public let weightDecay: Double
    private var velocities: [ObjectIdentifier: (name: String, variable: Variable)] = [:]
    private var order: [ObjectIdentifier] = []

    public init(momentum: Double = 0, nesterov: Bool = false, weightDecay: Double = 0) {
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    public var scalarCount: Int { 1 }
    public func scalars(step: Int, learningRate: Double) -> [Float] { [Float(learningRate)] }

    public func updates(parameters: [NamedVariable], gradients: [Tensor], scalars: Tensor) throws -> [(variable: Variable, value: Tensor)] {
        var result: [(variable: Variable, value: Tensor)] = []
        for ((name, parameter), gradient) in zip(parameters, gradients) {
            var inputs = [parameter.value, gradient]
            if momentum != 0 {
                let velocity = try buffer(for: parameter, name: "\(name).momentum_buffer")
                let newVelocity = try Tensor.apply(
                    .update(.momentumBuffer(momentum: momentum, weightDecay: weightDecay)), [velocity.value, gradient, parameter.value])
                result.append((velocity, newVelocity))
                inputs.append(newVelocity)
            }
            let rule = UpdateRule.sgdParameter(momentum: momentum, nesterov: nesterov, weightDecay: weightDecay)
            result.append((parameter, try Tensor.apply(.update(rule), inputs + [scalars])))
        }
        return result
    }

    public var state: [NamedVariable] { order.compactMap { velocities[$0] } }

    private func buffer(for parameter: Variable, name: String) throws -> Variable {
        let id = ObjectIdentifier(parameter)
        if let existing = velocities[id] { return existing.variable }
        let variable = try Variable(Tensor.zeros(parameter.shape, on: parameter.device))
        velocities[id] = (name, variable)
        order.append(id)
        return variable
    }
}

/// Adam (Kingma & Ba), PyTorch's semantics: `g += decay·p`; `m = β₁m + (1−β₁)g`; `v = β₂v + (1−β₂)g²`;
/// `p −= lr · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)`.
public final class Adam: Optimizer {
    public let beta1: Double
    public let beta2: Double
    public let epsilon: Double
    public let weightDecay: Double
    private var moments: [ObjectIdentifier: (first: NamedVariable, second: NamedVariable)] = [:]
    private var order: [ObjectIdentifier] = []

    public init(beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public var scalarCount: Int { 3 }

    /// `[lr, 1/(1−β₁ᵗ), 1/√(1−β₂ᵗ)]`.
    public func scalars(step: Int, learningRate: Double) -> [Float] {
        let t = Double(max(step, 1))
        return [Float(learningRate), Float(1 / (1 - pow(beta1, t))), Float(1 / (1 - pow(beta2, t)).squareRoot())]
    }

    public func updates(parameters: [NamedVariable], gradients: [Tensor], scalars: Tensor) throws -> [(variable: Variable, value: Tensor)] {
        var result: [(variable: Variable, value: Tensor)] = []
        for ((name, parameter), gradient) in zip(parameters, gradients) {
            let (first, second) = try buffers(for: parameter, name: name)
            let m = try Tensor.apply(
                .update(.adamMoment(beta: beta1, squared: false, weightDecay: weightDecay)), [first.value, gradient, parameter.value])
            let v = try Tensor.apply(
                .update(.adamMoment(beta: beta2, squared: true, weightDecay: weightDecay)), [second.value, gradient, parameter.value])
            result.append((first, m))
            result.append((second, v))
            result.append((parameter, try Tensor.apply(.update(.adamParameter(epsilon: epsilon)), [parameter.value, m, v, scalars])))
        }
        return result
    }

    public var state: [NamedVariable] { order.flatMap { id in moments[id].map { [$0.first, $0.second] } ?? [] } }

    private func buffers(for parameter: Variable, name: String) throws -> (Variable, Variable) {
        let id = ObjectIdentifier(parameter)
        if let existing = moments[id] { return (existing.first.variable, existing.second.variable) }
        let first = try Variable(Tensor.zeros(parameter.shape, on: parameter.device))
        let second = try Variable(Tensor.zeros(parameter.shape, on: parameter.device))
        moments[id] = (("\(name).exp_avg", first), ("\(name).exp_avg_sq", second))
        order.append(id)
        return (first, second)
    }
}

/// `‖g‖`, the norm of all `gradients` together (as if they were one vector).
public func globalNorm(_ gradients: [Tensor]) throws -> Tensor {
    guard let first = gradients.first else { throw TensorError.valueCount(expected: 1, got: 0, shape: [0]) }
    var squares = try (first * first).sum()
    for gradient in gradients.dropFirst() { squares = try squares + (gradient * gradient).sum() }
    return try squares.sqrt()
}

/// Scales every gradient by `min(1, maxNorm / ‖g‖)` where `‖g‖` is the norm of all gradients together;
/// also returns `‖g‖` (before clipping).
public func clipByGlobalNorm(_ gradients: [Tensor], maxNorm: Double) throws -> (clipped: [Tensor], norm: Tensor) {
    let norm = try globalNorm(gradients)
    let limit = try Tensor.full(1, shape: [], on: norm.device)
    let scale = try limit.minimum(maxNorm / (norm + 1e-6))
    return (try gradients.map { try $0 * scale }, norm)
}

/// How the learning rate changes with the epoch.
public enum LearningRateSchedule: Sendable, Equatable {
    case constant
    /// Multiply by `factor` every `every` epochs.
    case step(every: Int, factor: Double)
    /// Cosine annealing from the base rate to `minimum` over `epochs` epochs.
    case cosine(epochs: Int, minimum: Double)

    /// The rate for `epoch` (from 0) given the base rate.
    public func rate(base: Double, epoch: Int) -> Double {
        switch self {
        case .constant: base
        case .step(let every, let factor): base * pow(factor, Double(epoch / max(every, 1)))
        case .cosine(let epochs, let minimum):
            minimum + (base - minimum) * (1 + cos(Double.pi * Double(min(epoch, epochs)) / Double(max(epochs, 1)))) / 2
        }
    }
}
