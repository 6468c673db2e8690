// Reference fused softmax cross-entropy: per-row loss and its gradient with respect to the logits.

import KilnCore

extension ReferenceBackend {
    /// The class index `label` holds, or nil when it is not a whole number in `0..<classes` (NaN included).
    private func classIndex(_ label: Scalar, classes: Int) -> Int? {
        label >= 0 && label < Scalar(classes) && label == label.rounded(.towardZero) ? Int(label) : nil
    }

    /// Row `n`'s maximum and `Σ exp(x − max)`.
    private func rowStatistics(_ logits: [Scalar], row n: Int, classes: Int) -> (maximum: Scalar, sum: Scalar) {
        let row = logits[(n * classes)..<((n + 1) * classes)]
        let maximum = row.max() ?? 0
        return (maximum, row.reduce(0) { $0 + Scalar.exponential($1 - maximum) })
    }

    /// `[N]`: `log Σ exp(x − max) − (x[label] − max)` per row, 0 for an invalid label.
    func softmaxCrossEntropy(logits: [Scalar], labels: [Scalar], classes: Int) -> [Scalar] {
        labels.indices.map { n in
            guard let label = classIndex(labels[n], classes: classes) else { return 0 }
            let (maximum, sum) = rowStatistics(logits, row: n, classes: classes)
            return Scalar.logarithm(sum) - (logits[n * classes + label] - maximum)
        }
    }

    /// `[N, C]`: `dy[n] · (softmax − oneHot)` per row, zeros for an invalid label.
    func softmaxCrossEntropyBackward(logits: [Scalar], labels: [Scalar], dy: [Scalar], classes: Int) -> [Scalar] {
        var output = [Scalar](repeating: 0, count: logits.count)
        for n in labels.indices {
            guard let label = classIndex(labels[n], classes: classes) else { continue }
            let (maximum, sum) = rowStatistics(logits, row: n, classes: classes)
            for k in 0..<classes {
                let probability = Scalar.exponential(logits[n * classes + k] - maximum) / sum
                output[n * classes + k] = dy[n] * (probability - (k == label ? 1 : 0))
            }
        }
        return output
    }
}
