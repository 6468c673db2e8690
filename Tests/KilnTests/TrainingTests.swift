// Training end to end on small data: the loss falls, OpenCL follows the reference's loss curve, and a
// resumed run takes exactly the steps an uninterrupted one would.
import Foundation
import Kiln
import KilnTestSupport
import XCTest

final class TrainingTests: XCTestCase {
    /// A small seeded data set of 10×8 images in 10 classes, where each class brightens its own row on a
    /// noisy background, so a model can learn it.
    static func syntheticData(count: Int, seed: UInt64) -> LabeledImages {
        var random = RandomSource(seed: seed)
        var pixels: [UInt8] = []
        var labels: [UInt8] = []
        for _ in 0..<count {
            let label = Int.random(in: 0..<10, using: &random)
            labels.append(UInt8(label))
            for row in 0..<10 {
                for _ in 0..<8 {
                    let base = row == label ? 150 : 30
                    pixels.append(UInt8(base + Int.random(in: 0..<80, using: &random)))
                }
            }
        }
        return LabeledImages(pixels: pixels, labels: labels, rows: 10, columns: 8)
    }

    static let data = IDXDataset(training: syntheticData(count: 256, seed: 1), test: syntheticData(count: 64, seed: 2))

    /// `data` as the data set a trainer reads (10 classes).
    static func dataset() throws -> ImageDataset { try ImageDataset(data, name: "synthetic") }

    func configuration(model: String, optimizer: OptimizerKind = .momentum) -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        configuration.model = model
        configuration.optimizer = optimizer
        configuration.batchSize = 16
        configuration.learningRate = optimizer == .adam ? 0.003 : 0.05
        configuration.seed = 7
        return configuration
    }

    /// Runs `steps` training steps and returns each loss.
    func losses(_ trainer: Trainer, steps: Int) throws -> [Double] {
        var losses: [Double] = []
        let batches = trainer.trainingBatches
        var epoch = 0
        while losses.count < steps {
            let order = batches.order(epoch: epoch)
            for index in 0..<batches.count where losses.count < steps {
                let batch = try batches.batch(index, order: order)
                losses.append(
                    Double(
                        try trainer.step(
                            inputs: batch.inputs, shape: batches.shape(count: batch.count), targets: batch.labels, learningRate: 0.05,
                            on: trainer.device)))
            }
            epoch += 1
        }
        return losses
    }

    func testLossFallsAndAccuracyRises() throws {
        let trainer = try Trainer(
            configuration: configuration(model: "flatten-dense32-relu-dense10"), data: Self.dataset(), device: Device.named("cpu"))
        let before = try trainer.evaluate(Self.data.test)
        var last: EpochReport?
        for _ in 0..<4 { last = try trainer.trainEpoch() }
        let report = try XCTUnwrap(last)
        // Epochs measure the validation set (none here), never the test set.
        XCTAssertNil(report.testLoss)
        XCTAssertNil(report.validationLoss)
        let after = try trainer.evaluate(Self.data.test)
        XCTAssertLessThan(after.loss, before.loss * 0.5, "test loss \(before.loss) → \(after.loss)")
        XCTAssertGreaterThan(after.accuracy, 0.8)
        XCTAssertEqual(after.confusion.joined().reduce(0, +), 64)
    }

    func testOpenCLFollowsTheReferenceLossCurve() throws {
        guard (try? OpenCLDiscovery.devices().isEmpty) == false else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { throw OpenCLError.noDevice }
            throw XCTSkip("no OpenCL device")
        }
        for model in ["conv4k3p1-relu-maxpool2-flatten-dense10", "flatten-dense32-relu-dense10"] {
            let reference = try losses(
                Trainer(configuration: configuration(model: model), data: Self.dataset(), device: Device.named("cpu")), steps: 30)
            let opencl = try losses(
                Trainer(configuration: configuration(model: model), data: Self.dataset(), device: Device.named("opencl")), steps: 30)
            // Float32 on both; sums run in different orders, so the curves may drift by rounding only.
            let tolerance = Tolerance(absolute: 0, relative: 1e-3, reason: "same float32 steps, different summation order")
            assertClose(opencl, reference, tolerance, "\(model) loss curve")
            XCTAssertLessThan(reference.last ?? 0, reference.first ?? 0, "the loss falls")
        }
    }

    func testResumeTakesTheSameNextSteps() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for optimizer in [OptimizerKind.momentum, .adam] {
            let model = "conv3k3p1-relu-maxpool2-flatten-dropout20-dense10"
            let uninterrupted = try Trainer(
                configuration: configuration(model: model, optimizer: optimizer), data: Self.dataset(), device: Device.named("cpu"))
            let expected = try losses(uninterrupted, steps: 6)

            let first = try Trainer(
                configuration: configuration(model: model, optimizer: optimizer), data: Self.dataset(), device: Device.named("cpu"))
            let head = try losses(first, steps: 3)
            let checkpoint = folder.appendingPathComponent("\(optimizer).safetensors")
            try first.saveCheckpoint(to: checkpoint)
            let second = try Trainer(
                configuration: configuration(model: model, optimizer: optimizer), data: Self.dataset(), device: Device.named("cpu"))
            try second.resume(from: checkpoint)
            XCTAssertEqual(second.step.step, 3)
            // The helper restarts at batch 0 of epoch 0, so continue by hand from batch 3.
            let batches = second.trainingBatches
            let order = batches.order(epoch: 0)
            var tail: [Double] = []
            for index in 3..<6 {
                let batch = try batches.batch(index, order: order)
                tail.append(
                    Double(
                        try second.step(
                            inputs: batch.inputs, shape: batches.shape(count: batch.count), targets: batch.labels, learningRate: 0.05,
                            on: second.device)))
            }
            XCTAssertEqual(head + tail, expected, "\(optimizer)")
        }
    }

    /// Standardised inputs have mean 0 and variance 1 over the training set; `.unit` is exactly byte / 255;
    /// a trainer resolves the default from its training data and its checkpoint carries the numbers.
    func testInputNormalization() throws {
        let training = Self.data.training
        let standard = PixelNormalization.standardizing(training)
        let all = try ImageBatches(training, batchSize: training.count, shuffleSeed: nil, dropLast: false, normalization: standard)
            .batch(0, order: Array(0..<training.count)).inputs.map(Double.init)
        let mean = all.reduce(0, +) / Double(all.count)
        let variance = all.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(all.count)
        XCTAssertEqual(mean, 0, accuracy: 1e-5)
        XCTAssertEqual(variance, 1, accuracy: 1e-4)
        let unit = try ImageBatches(training, batchSize: 1, shuffleSeed: nil, dropLast: false).batch(0, order: [0]).inputs
        XCTAssertEqual(unit, training.pixels[0..<80].map { Float($0) / 255 })

        let trainer = try Trainer(configuration: configuration(model: "mlp"), data: Self.dataset(), device: Device.named("cpu"))
        XCTAssertEqual(trainer.normalization, standard)
        let checkpoint = FileManager.default.temporaryDirectory.appendingPathComponent(
            "kiln-normalization-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: checkpoint) }
        try trainer.saveCheckpoint(to: checkpoint)
        let stored = try SafeTensorsFile(contentsOf: checkpoint).metadata["kiln.configuration"].map {
            try JSONDecoder().decode(TrainingConfiguration.self, from: Data($0.utf8))
        }
        XCTAssertEqual(stored?.normalization, standard)
        // What eval, features and the GAN's scorer read back.
        XCTAssertEqual(try CheckpointModel.storedConfiguration(in: checkpoint)?.normalization, standard)
        let loaded = try CheckpointModel.load(from: checkpoint, inputShape: [1, 10, 8], on: Device.named("cpu"))
        XCTAssertEqual(loaded.normalization, standard)
        // A Kiln checkpoint written before normalisation was stored trained on [0, 1].
        var legacy = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(configuration(model: "mlp"))) as? [String: Any] ?? [:]
        legacy.removeValue(forKey: "normalization")
        let legacyFile = checkpoint.deletingLastPathComponent().appendingPathComponent("kiln-legacy-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: legacyFile) }
        try Checkpoint.save(
            model: trainer.model.state,
            metadata: ["kiln.configuration": String(decoding: try JSONSerialization.data(withJSONObject: legacy), as: UTF8.self)],
            to: legacyFile)
        XCTAssertEqual(try CheckpointModel.storedConfiguration(in: legacyFile)?.normalization, .unit)
    }

    func testNonFiniteLossStopsTraining() throws {
        var configuration = configuration(model: "flatten-dense10")
        // Cross-entropy gradients are bounded, so only a rate near Float's range overflows the weights.
        configuration.learningRate = 1e38
        configuration.optimizer = .sgd
        let trainer = try Trainer(configuration: configuration, data: Self.dataset(), device: Device.named("cpu"))
        XCTAssertThrowsError(try trainer.trainEpoch()) { error in
            XCTAssertTrue(error is NonFiniteLossError, "\(error)")
            XCTAssertTrue("\(error)".contains("step"), "\(error)")
        }
    }

    func testCheckpointWithWrongShapeIsRejectedWithoutChangingTheModel() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let small = try Trainer(
            configuration: configuration(model: "flatten-dense16-relu-dense10"), data: Self.dataset(), device: Device.named("cpu"))
        let url = folder.appendingPathComponent("small.safetensors")
        try small.saveCheckpoint(to: url)
        let large = try Trainer(
            configuration: configuration(model: "flatten-dense32-relu-dense10"), data: Self.dataset(), device: Device.named("cpu"))
        let before = try large.model.state.map { try $0.variable.value.floats() }
        XCTAssertThrowsError(try large.loadWeights(from: url)) { error in
            XCTAssertEqual(error as? DataError, .wrongShape(file: url.path, name: "1.weight", expected: [32, 80], found: [16, 80]))
        }
        XCTAssertEqual(try large.model.state.map { try $0.variable.value.floats() }, before)
    }
}
