// ClassifierEvaluation: a classifier measured on the device, for any number of classes. Each batch's plan
// runs the model in evaluation mode, sums its cross-entropy, takes the argmax of the logits and adds
// `oneHot(labels)ᵀ · oneHot(predicted)` to a confusion matrix; the loss sum and the matrix are device
// variables, so the host writes each batch and reads `C² + 1` numbers once at the end.
import Foundation
import KilnCore
import KilnData
import KilnNN

/// Loss, accuracy and confusion matrix (rows: true class, columns: predicted) on a labelled set.
public struct EvaluationReport: Codable, Sendable, Equatable {
    public var loss: Double
    public var accuracy: Double
    public var confusion: [[Int]]

    public init(loss: Double, accuracy: Double, confusion: [[Int]]) {
        self.loss = loss
        self.accuracy = accuracy
        self.confusion = confusion
    }
}

/// Measures a classifier with `classes` outputs on labelled sets, on the device its parameters live on.
public final class ClassifierEvaluation {
    public let model: any Layer
    public let classes: Int
    private var plans: [Shape: Plan] = [:]
    private var totals: (loss: Variable, confusion: Variable)?

    public init(model: any Layer, classes: Int) {
        self.model = model
        self.classes = classes
    }

    /// Mean cross-entropy, accuracy and confusion matrix of the model on `set`, its images normalised by
    /// `normalization`, in batches of `batchSize` (the last one may be smaller). A label outside the classes
    /// is an error naming the image, checked before anything runs.
    public func callAsFunction(
        _ set: any LabeledImageSet, batchSize: Int, normalization: PixelNormalization, on device: Device
    ) throws -> EvaluationReport {
        try set.checkLabels(classes: classes, dataset: "evaluation", split: "evaluated")
        guard set.count > 0 else { return EvaluationReport(loss: 0, accuracy: 0, confusion: zeroMatrix) }
        let totals = try self.totals ?? (Variable(Tensor.zeros([], on: device)), Variable(Tensor.zeros([classes, classes], on: device)))
        self.totals = totals
        try totals.loss.load([0])
        try totals.confusion.load([Float](repeating: 0, count: classes * classes))
        let batches = ImageBatches(set, batchSize: batchSize, shuffleSeed: nil, dropLast: false, normalization: normalization)
        let order = batches.order(epoch: 0)
        let prefetch = Prefetcher(0..<batches.count) { try batches.batch($0, order: order) }
        while let batch = try prefetch.next() {
            try plan(for: batches.shape(count: batch.count), totals: totals, on: device).run([batch.inputs, batch.labels])
        }
        let loss = Double(try totals.loss.value.floats()[0])
        let counts = try totals.confusion.value.floats().map { Int($0.rounded()) }
        let confusion = (0..<classes).map { Array(counts[$0 * classes..<($0 + 1) * classes]) }
        let correct = (0..<classes).reduce(0) { $0 + confusion[$1][$1] }
        return EvaluationReport(loss: loss / Double(set.count), accuracy: Double(correct) / Double(set.count), confusion: confusion)
    }

    private var zeroMatrix: [[Int]] { [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes) }

    /// The plan that adds a batch of `shape`'s summed loss and confusion counts to the totals.
    private func plan(for shape: Shape, totals: (loss: Variable, confusion: Variable), on device: Device) throws -> Plan {
        if let plan = plans[shape] { return plan }
        let x = try Tensor([Float](repeating: 0, count: shape.count), shape: shape, on: device)
        let labels = try Tensor([Float](repeating: 0, count: shape[0]), shape: [shape[0]], on: device)
        let logits = try model.forward(x, context: ForwardContext(training: false))
        let loss = try Tensor.softmaxCrossEntropy(logits: logits, labels: labels, reduction: .sum)
        let predicted = try logits.argMax(axis: 1)
        // Row t, column p counts the images of class t predicted as p.
        let counts = try labels.oneHot(classes: classes).matmul(predicted.oneHot(classes: classes), transposeSelf: true)
        let plan = try Plan(
            inputs: [x, labels], outputs: [],
            updates: [(totals.loss, try totals.loss.value + loss), (totals.confusion, try totals.confusion.value + counts)])
        plans[shape] = plan
        return plan
    }
}
