// swift-format-ignore-file: AlwaysUseLowerCamelCase
// (Lower camel case does not fit PyTorch-style layer factories such as ReLU() and Softmax().)

// Layers without parameters: pooling, flattening, dropout and activations.
import KilnCore

/// Max pooling over `kernel` windows; `ceilMode` rounds the output size up (PyTorch's `ceil_mode`).
public final class MaxPool2D: Layer {
    public let kernel: [Int], stride: [Int], padding: [Int], dilation: [Int], ceilMode: Bool
    public init(kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0], dilation: [Int] = [1], ceilMode: Bool = false) {
        self.kernel = expandPair(kernel)
        self.stride = stride.map(expandPair) ?? self.kernel
        self.padding = expandPadding(padding)
        self.dilation = expandPair(dilation)
        self.ceilMode = ceilMode
    }
    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        try x.maxPool2d(kernel: kernel, stride: stride, padding: padding, dilation: dilation, ceilMode: ceilMode)
    }
}

/// Average pooling over `kernel` windows; `ceilMode` rounds the output size up (PyTorch's `ceil_mode`).
public final class AvgPool2D: Layer {
    public let kernel: [Int], stride: [Int], padding: [Int], dilation: [Int], countIncludePadding: Bool, ceilMode: Bool
    public init(
        kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0], dilation: [Int] = [1], countIncludePadding: Bool = true,
        ceilMode: Bool = false
    ) {
        self.kernel = expandPair(kernel)
        self.stride = stride.map(expandPair) ?? self.kernel
        self.padding = expandPadding(padding)
        self.dilation = expandPair(dilation)
        self.countIncludePadding = countIncludePadding
        self.ceilMode = ceilMode
    }
    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        try x.avgPool2d(
            kernel: kernel, stride: stride, padding: padding, dilation: dilation, countIncludePadding: countIncludePadding,
            ceilMode: ceilMode)
    }
}

/// Mean over height and width: `[N, C, H, W]` to `[N, C, 1, 1]`.
public final class GlobalAvgPool2D: Layer {
    public init() {}
    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor { try x.globalAvgPool2d() }
}

/// `[N, ...]` to `[N, product of the rest]`.
public final class Flatten: Layer {
    public init() {}
    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        try x.reshaped([x.shape[0], x.shape.count / max(x.shape[0], 1)])
    }
}

/// Zeros a fraction `probability` of the elements in training (scaling the rest); the identity in evaluation.
public final class Dropout: Layer {
    public let probability: Double
    public init(probability: Double) { self.probability = probability }
    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        guard context.training, probability > 0 else { return x }
        return try x.dropout(probability: probability, seed: context.nextDropoutSeed())
    }
}

/// An elementwise activation as a layer.
public final class Activation: Layer {
    public enum Function: Sendable {
        case relu
        case leakyRelu(slope: Double)
        case sigmoid, tanh
        case softmax(axis: Int)
        /// Any other elementwise function (GELU, SiLU, ...): a model string names it by its identifier without
        /// underscores (`gelu`, `gelutanh`, `silu`).
        case elementwise(UnaryFunction)
    }
    public let function: Function
    public init(_ function: Function) { self.function = function }
    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        switch function {
        case .relu: try x.relu()
        case .leakyRelu(let slope): try x.leakyRelu(slope: slope)
        case .sigmoid: try x.sigmoid()
        case .tanh: try x.tanh()
        case .softmax(let axis): try x.softmax(axis: axis)
        case .elementwise(let function): try Tensor.apply(.unary(function), [x])
        }
    }
}

public func ReLU() -> Activation { Activation(.relu) }
public func LeakyReLU(slope: Double = 0.01) -> Activation { Activation(.leakyRelu(slope: slope)) }
public func Sigmoid() -> Activation { Activation(.sigmoid) }
public func Tanh() -> Activation { Activation(.tanh) }
public func Softmax(axis: Int = 1) -> Activation { Activation(.softmax(axis: axis)) }
