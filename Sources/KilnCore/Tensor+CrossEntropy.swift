// Softmax cross-entropy from logits as PyTorch's `F.cross_entropy` and ONNX's `SoftmaxCrossEntropyLoss` define it:
// spatial axes, class weights, an ignored label and every reduction, around the fused per-row op (log-sum-exp with
// the maximum subtracted, gradient `softmax − oneHot` in one launch). Spatial logits are moved to rows of classes;
// weights and the ignored label become a per-row weight (0 where the label selects no class) that scales the rows
// and, for the mean, sums to the divisor; gradients follow from the ops' rules.

extension Tensor {
    /// Softmax cross-entropy of `logits` against class `labels` (class indices as floats; see `Tensor(labels:)` for
    /// integer labels). Logits are `[N, C]` or `[N, C, d1, ..., dk]`, labels `[N]` or `[N, d1, ..., dk]`.
    /// - `weights [C]` scales each term by its label's class weight.
    /// - A label equal to `ignoreIndex`, or not a whole number in `0..<C`, selects no class: its term and gradient are 0.
    /// - `.none` gives the terms in the labels' shape, `.sum` their sum, `.mean` their sum divided by the number of
    ///   terms, or, with `weights` or `ignoreIndex`, by the summed weights of the terms whose label selects a class
    ///   (PyTorch's rule: a batch whose labels are all ignored gives NaN).
    public static func softmaxCrossEntropy(
        logits: Tensor, labels: Tensor, weights: Tensor? = nil, ignoreIndex: Int? = nil, reduction: LossReduction = .mean
    ) throws -> Tensor {
        let rank = logits.shape.rank
        var labelShape = logits.shape.dimensions
        if rank >= 2 { labelShape.remove(at: 1) }
        guard rank >= 2, labels.shape == Shape(labelShape) else {
            throw ShapeError(
                op: "softmax_cross_entropy", "needs logits [N, C, d1, ...] and labels [N, d1, ...]", shapes: [logits.shape, labels.shape])
        }
        let classes = logits.shape[1]
        if let weights, weights.shape != [classes] {
            throw ShapeError(op: "softmax_cross_entropy", "weights must be [C] = [\(classes)]", shapes: [logits.shape, weights.shape])
        }
        let rows = labels.shape.count
        let rowLogits = try rank == 2 ? logits : logits.transposed([0] + Array(2..<rank) + [1]).reshaped([rows, classes])
        var rowLabels = try rank == 2 ? labels : labels.reshaped([rows])
        if let ignoreIndex, (0..<classes).contains(ignoreIndex) {
            // The ignored class becomes −1, which selects none.
            rowLabels = try rowLabels + rowLabels.equal(rowLabels.constant(Double(ignoreIndex))) * Double(-1 - ignoreIndex)
        }
        let terms = try apply(.softmaxCrossEntropy, [rowLogits, rowLabels])
        guard weights != nil || ignoreIndex != nil else {
            switch reduction {
            case .none: return try terms.reshaped(labels.shape)
            case .sum: return try terms.sum()
            case .mean: return try terms.mean()
            }
        }
        // Each row's weight: its class's weight (1 without weights), 0 where its label selects no class.
        let oneHot = try rowLabels.oneHot(classes: classes)
        let rowWeights = try weights.map { try (oneHot * $0).sum(axes: [1]) } ?? oneHot.sum(axes: [1])
        // Without weights a row that selects no class already has a term of 0.
        let weighted = try weights == nil ? terms : terms * rowWeights
        switch reduction {
        case .none: return try weighted.reshaped(labels.shape)
        case .sum: return try weighted.sum()
        case .mean: return try weighted.sum() / rowWeights.sum()
        }
    }
}
