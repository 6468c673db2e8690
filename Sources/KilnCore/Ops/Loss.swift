// Labels and the fused classification loss: one-hot rows from class indices, and softmax cross-entropy from logits
// (log-sum-exp with the maximum subtracted) with its gradient `softmax − oneHot`. Labels are class indices held as
// floats; one that is not a whole number in 0..<classes (NaN included) selects no class. All three decompose into
// comparisons, log-softmax and sums.

/// The class index `label` holds, or nil when it is not a whole number in `0..<classes` (NaN included).
private func classIndex<Scalar: ReferenceScalar>(_ label: Scalar, classes: Int) -> Int? {
    label >= 0 && label < Scalar(classes) && label == label.rounded(.towardZero) ? Int(label) : nil
}

/// Input `labels [N]`: output `[N, classes]`, row `n` all zeros except a one in column `labels[n]` (a zero row for an
/// invalid label). No gradient.
struct OneHot: Decomposable {
    let classes: Int

    var name: String { "one_hot" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(1)
        try rule.require(classes > 0, "needs at least one class")
        try rule.require(rule.shapes[0].rank == 1, "labels must be rank 1")
        return [rule.shapes[0][0], classes]
    }

    func gradients(inputs: [Tensor], output: Tensor, gradient: Tensor) throws -> [Tensor?] { [nil] }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        var result = [Scalar](repeating: 0, count: inputs[0].count * classes)
        for (row, label) in inputs[0].enumerated() {
            guard let index = classIndex(label, classes: classes) else { continue }
            result[row * classes + index] = 1
        }
        return result
    }

    /// `labels [N, 1] == [0, 1, ..., classes − 1]`: a label that is not one of the positions matches none.
    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let labels = inputs[0]
        return try labels.reshaped([labels.shape[0], 1]).equal(Tensor.positions(classes, axis: 1, rank: 2, on: labels.device))
    }
}

/// Row `n`'s maximum and `Σ exp(x − max)`.
private func rowStatistics<Scalar: ReferenceScalar>(_ logits: [Scalar], row n: Int, classes: Int) -> (maximum: Scalar, sum: Scalar) {
    let row = logits[(n * classes)..<((n + 1) * classes)]
    let maximum = row.max() ?? 0
    return (maximum, row.reduce(0) { $0 + Scalar.exponential($1 - maximum) })
}

/// Inputs `(logits [N, C], labels [N])`: output `[N]` holding each row's `logsumexp(logits[n]) − logits[n, label]`
/// (computed with the maximum subtracted); 0 for an invalid label, as `−Σ logSoftmax · oneHot` gives.
struct SoftmaxCrossEntropy: Decomposable {
    var name: String { "softmax_cross_entropy" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(2)
        let (logits, labels) = (rule.shapes[0], rule.shapes[1])
        try rule.require(logits.rank == 2 && labels == [logits[0]], "needs logits [N, C] and labels [N]")
        return [logits[0]]
    }

    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        [try Tensor.apply(.softmaxCrossEntropyBackward, [inputs[0], inputs[1], g]), nil]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (logits, labels, classes) = (inputs[0], inputs[1], shapes[0][1])
        return labels.indices.map { n in
            guard let label = classIndex(labels[n], classes: classes) else { return 0 }
            let (maximum, sum) = rowStatistics(logits, row: n, classes: classes)
            return Scalar.logarithm(sum) - (logits[n * classes + label] - maximum)
        }
    }

    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let (logits, labels) = (inputs[0], inputs[1])
        return try -(logits.logSoftmax(axis: 1) * labels.oneHot(classes: logits.shape[1])).sum(axes: [1])
    }
}

/// Inputs `(logits [N, C], labels [N], dy [N])`: output `[N, C]`, `dy[n] · (softmax(logits[n]) − oneHot(label))`, or
/// zeros for a row whose label is invalid.
struct SoftmaxCrossEntropyBackward: Decomposable {
    var name: String { "softmax_cross_entropy_backward" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(3)
        let rows: Shape = [rule.shapes[0][0]]
        try rule.require(
            rule.shapes[0].rank == 2 && rule.shapes[1] == rows && rule.shapes[2] == rows, "needs logits [N, C], labels [N] and dy [N]")
        return rule.shapes[0]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (logits, labels, dy, classes) = (inputs[0], inputs[1], inputs[2], shapes[0][1])
        var result = [Scalar](repeating: 0, count: logits.count)
        for n in labels.indices {
            guard let label = classIndex(labels[n], classes: classes) else { continue }
            let (maximum, sum) = rowStatistics(logits, row: n, classes: classes)
            for k in 0..<classes {
                let probability = Scalar.exponential(logits[n * classes + k] - maximum) / sum
                result[n * classes + k] = dy[n] * (probability - (k == label ? 1 : 0))
            }
        }
        return result
    }

    /// `(softmax · valid − oneHot) · dy`, where `valid`, a row's one-hot sum, is 0 for an invalid label.
    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let (logits, labels, dy) = (inputs[0], inputs[1], inputs[2])
        let oneHot = try labels.oneHot(classes: logits.shape[1])
        let valid = try oneHot.sum(axes: [1], keepDimensions: true)
        return try (logits.softmax(axis: 1) * valid - oneHot) * dy.reshaped([dy.shape[0], 1])
    }
}
