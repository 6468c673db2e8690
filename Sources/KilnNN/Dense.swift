// Dense: the fully connected layer, PyTorch's Linear.
import KilnCore

/// `y = x · Wᵀ + b` with `weight [out, in]` and `bias [out]`; inputs `[N, in]`.
public final class Dense: Layer {
    public let weight: Variable
    public let bias: Variable?

    public init(
        _ inputs: Int, _ outputs: Int, bias: Bool = true, initializer: Initializer = .pytorchDefault,
        random: inout RandomSource, on device: Device
    ) throws {
        weight = try Initialize.weight([outputs, inputs], fanIn: inputs, fanOut: outputs, initializer, &random, on: device)
        self.bias = bias ? try Initialize.bias(outputs, fanIn: inputs, &random, on: device) : nil
    }

    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        try x.linear(weight: weight.value, bias: bias?.value)
    }

    public var parameters: [NamedVariable] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }
}
