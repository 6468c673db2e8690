// Conv2D and ConvTranspose2D layers (PyTorch's Conv2d and ConvTranspose2d layouts).
import KilnCore

/// Padding given as one number for all sides, a pair (vertical, horizontal), or `[top, left, bottom, right]`.
public func expandPadding(_ padding: [Int]) -> [Int] {
    switch padding.count {
    case 1: [padding[0], padding[0], padding[0], padding[0]]
    case 2: [padding[0], padding[1], padding[0], padding[1]]
    default: padding
    }
}

/// A pair given as one number or two.
func expandPair(_ values: [Int]) -> [Int] { values.count == 1 ? [values[0], values[0]] : values }

/// 2-D convolution: `weight [out, in/groups, KH, KW]`, `bias [out]`.
public final class Conv2D: Layer {
    public let weight: Variable
    public let bias: Variable?
    public let stride: [Int]
    public let padding: [Int]
    public let dilation: [Int]
    public let groups: Int

    public init(
        _ inputs: Int, _ outputs: Int, kernel: [Int], stride: [Int] = [1], padding: [Int] = [0], dilation: [Int] = [1],
        groups: Int = 1, bias: Bool = true, initializer: Initializer = .pytorchDefault, random: inout RandomSource, on device: Device
    ) throws {
        let kernel = expandPair(kernel)
        let perGroup = inputs / max(groups, 1)
        let fanIn = perGroup * kernel[0] * kernel[1]
        let fanOut = outputs / max(groups, 1) * kernel[0] * kernel[1]
        weight = try Initialize.weight(
            [outputs, perGroup, kernel[0], kernel[1]], fanIn: fanIn, fanOut: fanOut, initializer, &random, on: device)
        self.bias = bias ? try Initialize.bias(outputs, fanIn: fanIn, &random, on: device) : nil
        self.stride = expandPair(stride)
        self.padding = expandPadding(padding)
        self.dilation = expandPair(dilation)
        self.groups = groups
    }

    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        try x.conv2d(weight: weight.value, bias: bias?.value, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    public var parameters: [NamedVariable] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }
}

/// Transposed 2-D convolution (the GAN generator's upsampling): `weight [in, out/groups, KH, KW]`, `bias [out]`.
public final class ConvTranspose2D: Layer {
    public let weight: Variable
    public let bias: Variable?
    public let stride: [Int]
    public let padding: [Int]
    public let outputPadding: [Int]
    public let dilation: [Int]
    public let groups: Int

    public init(
        _ inputs: Int, _ outputs: Int, kernel: [Int], stride: [Int] = [1], padding: [Int] = [0], outputPadding: [Int] = [0],
        dilation: [Int] = [1], groups: Int = 1, bias: Bool = true, initializer: Initializer = .pytorchDefault,
        random: inout RandomSource, on device: Device
    ) throws {
        let kernel = expandPair(kernel)
        // PyTorch computes the fan-in of a transposed convolution from weight.size(1) · KH · KW.
        let fanIn = outputs / max(groups, 1) * kernel[0] * kernel[1]
        let fanOut = inputs / max(groups, 1) * kernel[0] * kernel[1]
        weight = try Initialize.weight(
            [inputs, outputs / max(groups, 1), kernel[0], kernel[1]], fanIn: fanIn, fanOut: fanOut, initializer, &random, on: device)
        self.bias = bias ? try Initialize.bias(outputs, fanIn: fanIn, &random, on: device) : nil
        self.stride = expandPair(stride)
        self.padding = expandPadding(padding)
        self.outputPadding = expandPair(outputPadding)
        self.dilation = expandPair(dilation)
        self.groups = groups
    }

    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        try x.convTranspose2d(
            weight: weight.value, bias: bias?.value, stride: stride, padding: padding, outputPadding: outputPadding,
            dilation: dilation, groups: groups)
    }

    public var parameters: [NamedVariable] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }
}
