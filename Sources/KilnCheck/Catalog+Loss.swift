// The loss family: fused softmax cross-entropy, forward and backward, over awkward row and class counts, with
// logits wide enough that an unshifted exp would overflow Float32, and invalid labels (out of range,
// fractional, NaN) that give zero. Tolerance `.accumulation(terms: classes)`: each row sums its classes.
// Then PyTorch's cross-entropy through the graph (spatial axes, class weights, an ignored label, each reduction):
// the loss and its gradients with respect to the logits and the weights.
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
        } + weightedCrossEntropy
    }

    /// Inputs `(logits [N, C, d...], labels [N, d...], weights [C], r)` where `r` weighs the unreduced terms; outputs
    /// the loss and its gradients with respect to logits and weights. Tolerance normwise over the sums of every term's
    /// classes: the weights' gradient under the mean is a difference of two such sums.
    private static var weightedCrossEntropy: [OpCase] {
        let cases: [(logits: Shape, ignoreIndex: Int?, reduction: LossReduction)] = [
            ([1, 1], nil, .sum), ([7, 3], 1, .mean), ([5, 2, 13], -100, .sum), ([2, 13, 3, 5], 0, .none), ([3, 10, 7], 9, .mean),
            ([2, 5, 1, 1, 3], nil, .none), ([4, 97, 11], 3, .mean), ([64, 10], nil, .sum),
        ]
        return cases.enumerated().map { index, entry in
            let (shape, ignoreIndex, reduction) = entry
            var labelShape = shape.dimensions
            labelShape.remove(at: 1)
            let terms = reduction == .none ? Shape(labelShape) : []
            let inputs = [
                SeededInput(shape, .uniform(-8...8)), SeededInput(Shape(labelShape), .labels(classes: shape[1], invalidEvery: 10)),
                SeededInput([shape[1]], .uniform(0.2...2)), SeededInput(terms, .uniform(-2...2)),
            ]
            return OpCase(
                graph: "cross_entropy_weighted",
                summary:
                    "softmaxCrossEntropy(logits, labels, weights, ignoreIndex: \(ignoreIndex.map(String.init) ?? "none"), \(reduction)) and its gradients",
                inputs, tolerance: .normwiseAccumulation(terms: shape.count), tier: index < 4 ? .quick : .standard
            ) { tensors in
                let (logits, labels, weights, r) = (tensors[0], tensors[1], tensors[2], tensors[3])
                let loss = try Tensor.softmaxCrossEntropy(
                    logits: logits, labels: labels, weights: weights, ignoreIndex: ignoreIndex, reduction: reduction)
                return [loss] + (try gradients(of: (loss * r).sum(), withRespectTo: [logits, weights]))
            }
        }
    }
}
