// The trainer takes any `Layer` (here a residual network that is not a `Sequential`) for training,
// evaluation, checkpoints and resume; a model whose output does not fit the data's classes, and labels
// outside them, are refused before training, naming the model, the data set and the image.
import Foundation
import Kiln
import XCTest

final class CustomModelTrainingTests: XCTestCase {
    /// `x → flatten → relu(dense(x)) + x → dense`: a residual block a layer string cannot describe.
    final class ResidualNetwork: Layer {
        let block: Dense
        let head: Dense

        init(features: Int, classes: Int, random: inout RandomSource, on device: Device) throws {
            block = try Dense(features, features, random: &random, on: device)
            head = try Dense(features, classes, random: &random, on: device)
        }

        func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
            let flat = try Flatten().forward(x, context: context)
            return try head.forward(block.forward(flat, context: context).relu() + flat, context: context)
        }

        var parameters: [NamedVariable] {
            block.parameters.map { ("block.\($0.name)", $0.variable) } + head.parameters.map { ("head.\($0.name)", $0.variable) }
        }
    }

    func configuration() -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        configuration.model = "residual"
        configuration.batchSize = 16
        configuration.learningRate = 0.05
        configuration.seed = 3
        return configuration
    }

    func testAnyLayerTrainsEvaluatesCheckpointsAndResumes() throws {
        let device = try Device.named("cpu")
        let data = try TrainingTests.dataset()
        var random = RandomSource(seed: 9)
        let trainer = try Trainer(
            model: ResidualNetwork(features: 80, classes: 10, random: &random, on: device), configuration: configuration(), data: data,
            device: device)
        let before = try trainer.evaluate(data.test)
        for _ in 0..<3 { _ = try trainer.trainEpoch() }
        let after = try trainer.evaluate(data.test)
        XCTAssertLessThan(after.loss, before.loss * 0.5, "test loss \(before.loss) → \(after.loss)")
        XCTAssertGreaterThan(after.accuracy, 0.8)

        let checkpoint = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-residual-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: checkpoint) }
        try trainer.saveCheckpoint(to: checkpoint)
        XCTAssertEqual(
            Set(try SafeTensorsFile(contentsOf: checkpoint).arrays.map(\.name)).isSuperset(of: ["block.weight", "head.bias"]), true)
        var other = RandomSource(seed: 10)
        let resumed = try Trainer(
            model: ResidualNetwork(features: 80, classes: 10, random: &other, on: device), configuration: configuration(), data: data,
            device: device)
        try resumed.resume(from: checkpoint)
        XCTAssertEqual(resumed.loop.position, trainer.loop.position)
        XCTAssertEqual(resumed.step.step, trainer.step.step)
        XCTAssertEqual(try resumed.evaluate(data.test), after)
        // Both take the same next epoch.
        XCTAssertEqual(try resumed.trainEpoch()?.trainLoss, try trainer.trainEpoch()?.trainLoss)
    }

    func testAModelThatDoesNotFitTheClassesIsRefused() throws {
        let device = try Device.named("cpu")
        var configuration = configuration()
        configuration.model = "flatten-dense5"
        XCTAssertThrowsError(try Trainer(configuration: configuration, data: TrainingTests.dataset(), device: device)) { error in
            XCTAssertEqual(
                error as? TrainingError,
                .modelDoesNotFitClasses(model: "flatten-dense5", output: [1, 5], classes: 10, dataset: "synthetic"))
            XCTAssertTrue("\(error)".contains("end the model with dense10"), "\(error)")
        }
    }

    func testTheDataSetChecksItsLabelsAndShapes() throws {
        let training = TrainingTests.syntheticData(count: 40, seed: 5)
        let test = TrainingTests.syntheticData(count: 12, seed: 6)
        let data = try ImageDataset(name: "letters", training: training, test: test)
        let classes = (training.labels.map(Int.init).max() ?? 0) + 1
        XCTAssertEqual(data.classCount, classes)
        XCTAssertEqual(data.imageShape, [1, 10, 8])
        var labels = test.labels
        labels[11] = 200
        let badTest = LabeledImages(pixels: test.pixels, labels: labels, rows: 10, columns: 8)
        XCTAssertThrowsError(try ImageDataset(name: "letters", training: training, test: badTest)) { error in
            XCTAssertEqual(
                error as? DatasetError,
                .labelOutOfRange(dataset: "letters", split: "test", index: 11, label: 200, classes: classes, file: nil))
            XCTAssertTrue("\(error)".contains("letters: test image 11 has label 200"), "\(error)")
        }
        XCTAssertThrowsError(try ImageDataset(name: "letters", training: training, test: test, classCount: 5)) { error in
            guard case .labelOutOfRange(_, "training", _, _, 5, _) = error as? DatasetError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try ImageDataset(name: "letters", training: training, test: test, classNames: ["a", "b"])) {
            XCTAssertEqual($0 as? DatasetError, .classNames(dataset: "letters", names: 2, classes: classes))
        }
        let wide = LabeledImages(pixels: test.pixels, labels: test.labels, rows: 8, columns: 10)
        XCTAssertThrowsError(try ImageDataset(name: "letters", training: training, validation: wide, test: test)) {
            XCTAssertEqual(
                $0 as? DatasetError, .shapeMismatch(dataset: "letters", split: "validation", shape: [1, 8, 10], expected: [1, 10, 8]))
        }
        let empty = LabeledImages(pixels: [], labels: [], rows: 10, columns: 8)
        XCTAssertThrowsError(try ImageDataset(name: "letters", training: empty, test: test)) {
            XCTAssertEqual($0 as? DatasetError, .empty(dataset: "letters", split: "training"))
        }
    }
}
