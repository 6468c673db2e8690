// Layer: the protocol every layer follows (called as a function, parameters exposed by name), and
// the context a forward pass runs in.
import KilnCore

/// What a forward pass needs besides its input: the mode, a seed for dropout, and where layers with
/// running statistics record their updates.
public final class ForwardContext {
    /// Training mode: dropout active, batch statistics used and running statistics updated.
    public let training: Bool
    /// Base seed for dropout masks in this pass; each dropout layer mixes in its own position.
    public let seed: UInt64
    /// New values for non-trainable state (BatchNorm running statistics), applied with the step.
    public internal(set) var stateUpdates: [(variable: Variable, value: Tensor)] = []
    /// Counts dropout layers seen in this pass, so each draws its own mask.
    var dropoutLayers: UInt64 = 0

    public init(training: Bool, seed: UInt64 = 0) {
        self.training = training
        self.seed = seed
    }

    /// The seed for the next dropout layer of this pass.
    func nextDropoutSeed() -> UInt64 {
        dropoutLayers += 1
        return seed &+ dropoutLayers &* 0xD1B5_4A32_D192_ED03
    }

    /// Records that `variable` takes `value` when the step is applied.
    public func update(_ variable: Variable, to value: Tensor) { stateUpdates.append((variable, value)) }
}

/// A named variable of a layer: a trainable parameter or a buffer (running statistics).
public typealias NamedVariable = (name: String, variable: Variable)

/// A building block of a network. Names follow PyTorch's `state_dict` so checkpoints interoperate.
public protocol Layer: AnyObject {
    /// The layer applied to `x`.
    func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor
    /// Trainable parameters, in PyTorch's `state_dict` order, named relative to the layer (`weight`, `bias`).
    var parameters: [NamedVariable] { get }
    /// Non-trainable state saved in checkpoints (BatchNorm's running mean and variance).
    var buffers: [NamedVariable] { get }
}

extension Layer {
    public var parameters: [NamedVariable] { [] }
    public var buffers: [NamedVariable] { [] }

    /// The layer in evaluation mode.
    public func callAsFunction(_ x: Tensor) throws -> Tensor { try forward(x, context: ForwardContext(training: false)) }

    /// Parameters then buffers, in `state_dict` order.
    public var state: [NamedVariable] { parameters + buffers }

    /// Number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.variable.shape.count } }
}
