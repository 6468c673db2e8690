// Sequential: layers applied in order, named like PyTorch's nn.Sequential (`0.weight`, `3.bias`, ...).
import KilnCore

public final class Sequential: Layer {
    public let layers: [any Layer]

    public init(_ layers: [any Layer]) { self.layers = layers }

    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        try layers.reduce(x) { try $1.forward($0, context: context) }
    }

    public var parameters: [NamedVariable] { prefixed(\.parameters) }
    public var buffers: [NamedVariable] { prefixed(\.buffers) }

    private func prefixed(_ kind: (any Layer) -> [NamedVariable]) -> [NamedVariable] {
        layers.enumerated().flatMap { index, layer in kind(layer).map { ("\(index).\($0.name)", $0.variable) } }
    }
}
