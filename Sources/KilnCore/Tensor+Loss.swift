// Losses, written in primitive ops so their gradients come from the ops' rules, and how they reduce their terms.
// Softmax cross-entropy is in Tensor+CrossEntropy.swift.

/// How a loss combines its per-example terms.
public enum LossReduction: Sendable {
    /// The mean of the terms (for a weighted cross-entropy, PyTorch's weighted mean).
    case mean
    /// The sum of the terms.
    case sum
    /// No reduction: the terms themselves, one per element (per label for cross-entropy).
    case none
}

extension Tensor {
    /// Mean (or summed, or elementwise) squared error.
    public static func meanSquaredError(_ prediction: Tensor, _ target: Tensor, reduction: LossReduction = .mean) throws -> Tensor {
        guard prediction.shape == target.shape else {
            throw ShapeError(op: "mse", "prediction and target differ", shapes: [prediction.shape, target.shape])
        }
        let difference = try prediction - target
        return try reduce(difference * difference, reduction)
    }

    /// Binary cross-entropy of `logits` against `targets` in [0, 1]: `softplus(x) − x·y`, stable for large `|x|`.
    public static func binaryCrossEntropy(logits: Tensor, targets: Tensor, reduction: LossReduction = .mean) throws -> Tensor {
        guard logits.shape == targets.shape else {
            throw ShapeError(op: "binary_cross_entropy", "logits and targets differ", shapes: [logits.shape, targets.shape])
        }
        let terms = try logits.softplus() - logits * targets
        return try reduce(terms, reduction)
    }

    /// `terms` summed, averaged (the sum divided by their count) or kept.
    private static func reduce(_ terms: Tensor, _ reduction: LossReduction) throws -> Tensor {
        switch reduction {
        case .sum: try terms.sum()
        case .mean: try terms.sum() / Double(terms.shape.count)
        case .none: terms
        }
    }
}
