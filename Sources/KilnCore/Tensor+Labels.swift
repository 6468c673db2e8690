// Class labels given as integers (Int32, Int64, ...): checked against the class count, then held as floats, the form
// the label ops (one-hot, softmax cross-entropy) read.

extension Tensor {
    /// A label tensor of `shape` from integer class indices (an array or a buffer of `Int32`, `Int64`, ...), row-major,
    /// checked as `labelValues(_:classes:ignoreIndex:)` checks them.
    public init<Labels: Collection>(labels: Labels, shape: Shape, classes: Int, ignoreIndex: Int? = nil, on device: Device) throws
    where Labels.Element: BinaryInteger {
        try self.init(Tensor.labelValues(labels, classes: classes, ignoreIndex: ignoreIndex), shape: shape, on: device)
    }

    /// Integer class indices as the floats a label tensor or a plan's label input holds. Each must lie in
    /// `0..<classes` or equal `ignoreIndex`; the first that does not is an error naming its flat index. Floats hold
    /// every class index exactly up to 2^24.
    public static func labelValues<Labels: Collection>(_ labels: Labels, classes: Int, ignoreIndex: Int? = nil) throws -> [Float]
    where Labels.Element: BinaryInteger {
        let limit = 1 << 24
        guard classes <= limit else { throw TensorError.labelNotRepresentable("the class count \(classes)") }
        if let ignoreIndex, ignoreIndex.magnitude > limit {
            throw TensorError.labelNotRepresentable("the ignored label \(ignoreIndex)")
        }
        var values: [Float] = []
        values.reserveCapacity(labels.count)
        for (index, label) in labels.enumerated() {
            guard (label >= 0 && label < classes) || ignoreIndex.map({ label == $0 }) == true else {
                throw TensorError.labelOutOfRange(index: index, label: "\(label)", classes: classes, ignoreIndex: ignoreIndex)
            }
            values.append(Float(label))
        }
        return values
    }
}

extension Tensor {
    /// Softmax cross-entropy against integer `labels` (an array or a buffer of `Int32`, `Int64`, ...) in the shape of
    /// `logits` without its class axis, checked against the class count (see `Tensor(labels:shape:classes:)`); the
    /// rest as `softmaxCrossEntropy(logits:labels:weights:ignoreIndex:reduction:)`.
    public static func softmaxCrossEntropy<Labels: Collection>(
        logits: Tensor, labels: Labels, weights: Tensor? = nil, ignoreIndex: Int? = nil, reduction: LossReduction = .mean
    ) throws -> Tensor where Labels.Element: BinaryInteger {
        guard logits.shape.rank >= 2 else {
            throw ShapeError(op: "softmax_cross_entropy", "needs logits [N, C, d1, ...]", shapes: [logits.shape])
        }
        var labelShape = logits.shape.dimensions
        labelShape.remove(at: 1)
        let labelTensor = try Tensor(
            labels: labels, shape: Shape(labelShape), classes: logits.shape[1], ignoreIndex: ignoreIndex, on: logits.device)
        return try softmaxCrossEntropy(
            logits: logits, labels: labelTensor, weights: weights, ignoreIndex: ignoreIndex, reduction: reduction)
    }
}
