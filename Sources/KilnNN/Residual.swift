// Residual: a block whose input is added to its output (He et al.'s residual connection), through a 1×1
// convolution when the block changes the channel count or the size. Named as a PyTorch module with `body`
// and `shortcut` attributes would be (`body.0.weight`, `shortcut.weight`), so its state_dict interoperates.
import KilnCore

/// `body(x) + shortcut(x)`, where the shortcut is the identity or a projection.
public final class Residual: Layer {
    public let body: Sequential
    /// The projection that makes the input the body's output shape (a 1×1 convolution), or nil for the identity.
    public let shortcut: (any Layer)?

    public init(body: Sequential, shortcut: (any Layer)? = nil) {
        self.body = body
        self.shortcut = shortcut
    }

    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        let output = try body.forward(x, context: context)
        return try output + (shortcut?.forward(x, context: context) ?? x)
    }

    public var parameters: [NamedVariable] { prefixed(\.parameters) }
    public var buffers: [NamedVariable] { prefixed(\.buffers) }

    private func prefixed(_ kind: (any Layer) -> [NamedVariable]) -> [NamedVariable] {
        kind(body).map { ("body.\($0.name)", $0.variable) } + (shortcut.map { kind($0).map { ("shortcut.\($0.name)", $0.variable) } } ?? [])
    }
}
