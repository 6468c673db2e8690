// Batch normalisation's fused ops: a batch's per-channel moments and normalisation with given moments.

extension Tensor {
    /// `[2, C]`: each channel's (axis 1's) mean and biased variance over every other axis of this `[N, C, ...]` tensor.
    public func batchMoments() throws -> Tensor { try Tensor.apply(.batchMoments, [self]) }

    /// `(self − mean) · weight / √(variance + epsilon) + bias` per channel (axis 1), with the mean and variance in the rows
    /// of `moments [2, C]` (from `batchMoments`, or running statistics); `weight` and `bias` are `[C]`.
    public func batchNormalized(moments: Tensor, weight: Tensor, bias: Tensor, epsilon: Double) throws -> Tensor {
        try Tensor.apply(.batchNormalize(epsilon: epsilon), [self, moments, weight, bias])
    }
}
