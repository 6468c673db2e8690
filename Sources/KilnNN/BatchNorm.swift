// BatchNorm: batch normalisation over `[N, C]` (1-D) or `[N, C, H, W]` (2-D), with running statistics.
import KilnCore

/// Normalises each channel with the batch's mean and variance in training (updating the running
/// statistics with `momentum`, PyTorch's convention), and with the running statistics in evaluation.
public final class BatchNorm: Layer {
    public let weight: Variable
    public let bias: Variable
    public let runningMean: Variable
    public let runningVariance: Variable
    public let momentum: Double
    public let epsilon: Double

    public init(features: Int, momentum: Double = 0.1, epsilon: Double = 1e-5, on device: Device) throws {
        weight = try Initialize.constant(1, [features], on: device)
        bias = try Initialize.constant(0, [features], on: device)
        runningMean = try Initialize.constant(0, [features], on: device)
        runningVariance = try Initialize.constant(1, [features], on: device)
        self.momentum = momentum
        self.epsilon = epsilon
    }

    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        let features = weight.shape[0]
        guard x.shape.rank == 2 || x.shape.rank == 4, x.shape[1] == features else {
            throw ShapeError(op: "batch_norm", "x must be [N, \(features)] or [N, \(features), H, W]", shapes: [x.shape])
        }
        // Per-channel statistics broadcast as [1, C] or [1, C, 1, 1].
        let axes = x.shape.rank == 2 ? [0] : [0, 2, 3]
        let channelShape = Shape(x.shape.rank == 2 ? [1, features] : [1, features, 1, 1])
        let centered: Tensor
        let variance: Tensor
        if context.training {
            let mean = try x.mean(axes: axes, keepDimensions: true)
            centered = try x - mean
            variance = try (centered * centered).mean(axes: axes, keepDimensions: true)
            // The running variance uses the unbiased estimate, as PyTorch does.
            let count = Double(x.shape.count / features)
            let unbiased = try variance.reshaped([features]) * (count / max(count - 1, 1))
            context.update(runningMean, to: try runningMean.value * (1 - momentum) + mean.reshaped([features]) * momentum)
            context.update(runningVariance, to: try runningVariance.value * (1 - momentum) + unbiased * momentum)
        } else {
            centered = try x - runningMean.value.reshaped(channelShape)
            variance = try runningVariance.value.reshaped(channelShape)
        }
        // weight / sqrt(variance + epsilon) per channel, then one scale and one shift of the whole tensor: in training
        // the gradient then takes two passes over it for these two instead of three (divide, scale, shift).
        let scale = try weight.value.reshaped(channelShape) / (variance + epsilon).sqrt()
        return try centered * scale + bias.value.reshaped(channelShape)
    }

    public var parameters: [NamedVariable] { [("weight", weight), ("bias", bias)] }
    public var buffers: [NamedVariable] { [("running_mean", runningMean), ("running_var", runningVariance)] }
}
