// The loss family: fused softmax cross-entropy, forward and backward, over awkward row and class counts, with
// logits wide enough that an unshifted exp would overflow Float32, and invalid labels (out of range,
// fractional, NaN) that give zero. Tolerance `.accumulation(terms: classes)`: each row sums its classes.
import KilnCore

extension OpCatalog {
    static var loss: [OpCase] {
        let shapes: [(rows: Int, classes: Int)] = [(1, 1), (1, 10), (7, 3), (64, 10), (65, 13), (3, 257), (128, 96)]
        return shapes.enumerated().flatMap { index, shape -> [OpCase] in
            let logits = SeededInput([shape.rows, shape.classes], .uniform(-90...90))
            let labels = SeededInput([shape.rows], .labels(classes: shape.classes, invalidEvery: 10))
            let tolerance = Tolerance.accumulation(terms: shape.classes)
            let tier: OpCase.Tier = index < 5 ? .quick : .standard
            return [
                OpCase(.softmaxCrossEntropy, [logits, labels], tolerance: tolerance, tier: tier),
                OpCase(
                    .softmaxCrossEntropyBackward, [logits, labels, SeededInput([shape.rows], .uniform(-2...2))], tolerance: tolerance,
                    tier: tier),
            ]
        }
    }
}
