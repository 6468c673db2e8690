// Evaluation on the device: loss, argmax and confusion counts computed there match the same figures computed
// on the host from the model's logits, for 3 and 13 classes and a last batch smaller than the others, on
// every device; a label outside the classes is an error naming the image.
import Kiln
import KilnTestSupport
import XCTest

final class ClassifierEvaluationTests: XCTestCase {
    /// `count` random 6×5 images with labels in `0 ..< classes`.
    func images(count: Int, classes: Int, seed: UInt64) -> LabeledImages {
        var random = RandomSource(seed: seed)
        let pixels = (0..<count * 30).map { _ in UInt8(random.next() % 256) }
        let labels = (0..<count).map { _ in UInt8(random.next() % UInt64(classes)) }
        return LabeledImages(pixels: pixels, labels: labels, rows: 6, columns: 5)
    }

    /// The host's reference: cross-entropy with log-sum-exp in Double, the first maximum, the counts.
    func hostReport(logits: [Float], labels: [Int], classes: Int) -> EvaluationReport {
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        var loss = 0.0
        for (row, label) in labels.enumerated() {
            let scores = logits[row * classes..<(row + 1) * classes].map(Double.init)
            let top = scores.max() ?? 0
            loss += top + log(scores.reduce(0) { $0 + exp($1 - top) }) - scores[label]
            let predicted = scores.indices.first { scores[$0] == top } ?? 0
            confusion[label][predicted] += 1
        }
        let correct = (0..<classes).reduce(0) { $0 + confusion[$1][$1] }
        return EvaluationReport(loss: loss / Double(labels.count), accuracy: Double(correct) / Double(labels.count), confusion: confusion)
    }

    func testDeviceFiguresMatchTheHostsForAnyClassCount() throws {
        for device in try availableDevices() {
            for classes in [3, 13] {
                var random = RandomSource(seed: UInt64(classes))
                let model = Sequential([Flatten(), try Dense(30, classes, random: &random, on: device)])
                // 37 images in batches of 8: four full batches and one of 5.
                let set = images(count: 37, classes: classes, seed: 40)
                let evaluation = ClassifierEvaluation(model: model, classes: classes)
                let report = try evaluation(set, batchSize: 8, normalization: .unit, on: device)
                let all = try ImageBatches(set, batchSize: set.count, shuffleSeed: nil, dropLast: false).batch(
                    0, order: Array(0..<set.count))
                let logits = try Evaluation(model: model)(inputs: all.inputs, shape: [set.count, 1, 6, 5], on: device)
                let expected = hostReport(logits: logits, labels: set.labels.map(Int.init), classes: classes)
                XCTAssertEqual(report.confusion, expected.confusion, "\(device), \(classes) classes")
                XCTAssertEqual(report.accuracy, expected.accuracy, "\(device), \(classes) classes")
                // Float32 on the device against Double on the host, summed over 37 rows of `classes` terms.
                XCTAssertEqual(report.loss, expected.loss, accuracy: 1e-5 * max(1, expected.loss), "\(device), \(classes) classes")
                // The totals start again from zero for the next set.
                XCTAssertEqual(try evaluation(set, batchSize: 8, normalization: .unit, on: device), report)
            }
        }
    }

    func testALabelOutsideTheClassesNamesTheImage() throws {
        let device = try Device.named("cpu")
        var random = RandomSource(seed: 41)
        let model = Sequential([Flatten(), try Dense(30, 4, random: &random, on: device)])
        var set = images(count: 9, classes: 4, seed: 42)
        var labels = set.labels
        labels[7] = 4
        set = LabeledImages(pixels: set.pixels, labels: labels, rows: 6, columns: 5)
        XCTAssertThrowsError(try ClassifierEvaluation(model: model, classes: 4)(set, batchSize: 4, normalization: .unit, on: device)) {
            error in
            XCTAssertEqual(
                error as? DatasetError,
                .labelOutOfRange(dataset: "evaluation", split: "evaluated", index: 7, label: 4, classes: 4, file: nil))
        }
    }
}
