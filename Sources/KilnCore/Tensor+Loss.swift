// Losses, written in primitive ops so their gradients come from the ops' rules.

/// How a loss combines its per-example terms.
public enum LossReduction: Sendable {
    case mean, sum
}

extension Tensor {
    /// Softmax cross-entropy of `logits [N, C]` against `labels [N]` (class indices as floats): one fused op
    /// per row (log-sum-exp with the maximum subtracted) whose gradient is `softmax − oneHot` in one launch.
    public static func softmaxCrossEntropy(logits: Tensor, labels: Tensor, reduction: LossReduction = .mean) throws -> Tensor {
        guard logits.shape.rank == 2, labels.shape == [logits.shape[0]] else {
            throw ShapeError(op: "softmax_cross_entropy", "needs logits [N, C] and labels [N]", shapes: [logits.shape, labels.shape])
        }
        let rows = try apply(.softmaxCrossEntropy, [logits, labels])
        return try reduction == .mean ? rows.mean() : rows.sum()
    }

    /// Mean (or summed) squared error.
    public static func meanSquaredError(_ prediction: Tensor, _ target: Tensor, reduction: LossReduction = .mean) throws -> Tensor {
        guard prediction.shape == target.shape else {
            throw ShapeError(op: "mse", "prediction and target differ", shapes: [prediction.shape, target.shape])
        }
        let difference = try prediction - target
        return try reduce((difference * difference).sum(), count: target.shape.count, reduction)
    }

    /// Binary cross-entropy of `logits` against `targets` in [0, 1]: `softplus(x) − x·y`, stable for large `|x|`.
    public static func binaryCrossEntropy(logits: Tensor, targets: Tensor, reduction: LossReduction = .mean) throws -> Tensor {
        guard logits.shape == targets.shape else {
            throw ShapeError(op: "binary_cross_entropy", "logits and targets differ", shapes: [logits.shape, targets.shape])
        }
        let terms = try logits.softplus() - logits * targets
        return try reduce(terms.sum(), count: targets.shape.count, reduction)
    }

    private static func reduce(_ total: Tensor, count: Int, _ reduction: LossReduction) throws -> Tensor {
        switch reduction {
        case .sum: total
        case .mean: try total / Double(count)
        }
    }
}
