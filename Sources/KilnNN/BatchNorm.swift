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
        let moments: Tensor
        if context.training {
            moments = try x.batchMoments()
            // The running variance uses the unbiased estimate, as PyTorch does.
            let count = Double(x.shape.count / features)
            let mean = try moments.slice(axis: 0, start: 0, length: 1).reshaped([features])
            let unbiased = try moments.slice(axis: 0, start: 1, length: 1).reshaped([features]) * (count / max(count - 1, 1))
            context.update(runningMean, to: try runningMean.value * (1 - momentum) + mean * momentum)
            context.update(runningVariance, to: try runningVariance.value * (1 - momentum) + unbiased * momentum)
        } else {
            moments = try Tensor.concatenate(
                [runningMean.value.reshaped([1, features]), runningVariance.value.reshaped([1, features])], axis: 0)
        }
        return try x.batchNormalized(moments: moments, weight: weight.value, bias: bias.value, epsilon: epsilon)
    }

    public var parameters: [NamedVariable] { [("weight", weight), ("bias", bias)] }
    public var buffers: [NamedVariable] { [("running_mean", runningMean), ("running_var", runningVariance)] }
}
