// SoftmaxCrossEntropyLoss: Kiln's softmax cross-entropy, which follows ONNX's definition (scores [N, C, d1, ...],
// labels [N, d1, ...], optional class weights, ignore_index, reduction none, sum or mean by the applied weights).
// The labels are integers, so, like every integer input, they are known when the model is loaded.
import KilnCore

extension ONNXImport {
    /// Outputs the loss and, when the node names it, the log-probabilities `logSoftmax(scores)` along the class axis.
    static func softmaxCrossEntropyLoss(_ graph: ONNXGraphBuilder, _ node: ONNXNode) throws -> [Tensor] {
        let scores = try graph.input(node, 0)
        guard scores.shape.rank >= 2 else { throw node.invalid("scores \(scores.shape) need a class axis: [N, C, d1, ...]") }
        guard let labels = try graph.integerInput(node, 1, purpose: "labels") else { throw node.invalid("needs the labels input") }
        let weights = try graph.optionalInput(node, 2)
        let reduction: LossReduction =
            switch try node.string("reduction") ?? "mean" {
            case "mean": .mean
            case "sum": .sum
            case "none": .none
            case let other: throw node.unsupported("reduction", "unknown reduction \(other)")
            }
        var labelShape = scores.shape.dimensions
        labelShape.remove(at: 1)
        guard labels.count == Shape(labelShape).count else {
            throw node.invalid("labels hold \(labels.count) values where scores \(scores.shape) need \(Shape(labelShape))")
        }
        let loss = try Tensor.softmaxCrossEntropy(
            logits: scores, labels: labels, weights: weights, ignoreIndex: node.int("ignore_index"), reduction: reduction)
        return node.outputs.count > 1 ? [loss, try scores.logSoftmax(axis: 1)] : [loss]
    }
}
