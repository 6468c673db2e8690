// The README's embedding examples, compiled and run here so they cannot rot.
import Kiln
import XCTest

final class EmbeddingExampleTests: XCTestCase {
    /// README: "Tensors and gradients".
    func testTensorsAndGradients() throws {
        let device = try Device.named(ProcessInfo.processInfo.environment["KILN_DEVICE"] ?? "cpu")
        let x = try Tensor([1, -2, 3, 4] as [Float], shape: [2, 2], on: device)
        let y = try (x.matmul(x) + 1).relu()  // lazy: nothing has run yet
        let dx = try gradients(of: y.sum(), withRespectTo: [x])[0]
        XCTAssertEqual(try y.floats(), [0, 0, 16, 11])  // x·x + 1 = [[-4, -9], [16, 11]], then relu
        XCTAssertEqual(try dx.floats().count, 4)
    }

    /// README: "Train a model from Swift" (on small synthetic data here, to stay fast).
    func testTrainAndEvaluateFromSwift() throws {
        let device = try Device.named("cpu")
        var random = RandomSource(seed: 0)
        let data = IDXDataset(
            training: TrainingTests.syntheticData(count: 128, seed: 1), test: TrainingTests.syntheticData(count: 32, seed: 2))
        let model = Sequential([
            Flatten(),
            try Dense(80, 32, random: &random, on: device), ReLU(),
            try Dense(32, 10, random: &random, on: device),
        ])
        let step = TrainingStep(model: model, optimizer: SGD(momentum: 0.9), loss: .softmaxCrossEntropy)
        let normalization = PixelNormalization.standardizing(data.training)  // or .unit for pixels / 255
        let batches = ImageBatches(data.training, batchSize: 16, shuffleSeed: 1, dropLast: true, normalization: normalization)
        for epoch in 0..<10 {
            let order = batches.order(epoch: epoch)
            for index in 0..<batches.count {
                let batch = try batches.batch(index, order: order)
                try step(
                    inputs: batch.inputs, shape: batches.shape(count: batch.count), targets: batch.labels, learningRate: 0.05, on: device)
            }
        }
        let test = try ImageBatches(data.test, batchSize: 32, shuffleSeed: nil, dropLast: false, normalization: normalization)
            .batch(0, order: Array(0..<32))
        let logits = try Evaluation(model: model)(inputs: test.inputs, shape: [32, 1, 10, 8], on: device)
        let predictions = (0..<32).map { row in (0..<10).max { logits[row * 10 + $0] < logits[row * 10 + $1] }! }
        let accuracy = Double(zip(predictions, test.labels).filter { Float($0) == $1 }.count) / 32
        XCTAssertGreaterThan(accuracy, 0.5)
        try Checkpoint.save(
            model: model.state, to: FileManager.default.temporaryDirectory.appendingPathComponent("readme-example.safetensors"))
    }
}

extension EmbeddingExampleTests {
    /// README: "The whole loop with `Trainer`" (synthetic data and a temporary folder here).
    func testTheWholeLoopWithTrainer() throws {
        let device = try Device.named("cpu")
        var random = RandomSource(seed: 0)
        let model = Sequential([Flatten(), try Dense(80, 10, random: &random, on: device)])
        let data = try ImageDataset(
            IDXDataset(training: TrainingTests.syntheticData(count: 128, seed: 1), test: TrainingTests.syntheticData(count: 32, seed: 2)),
            name: "synthetic")
        var configuration = TrainingConfiguration()
        configuration.model = "linear"  // a name for the checkpoint
        configuration.learningRate = 0.05
        let trainer = try Trainer(model: model, configuration: configuration, data: data, device: device)
        let run = RunFolder(FileManager.default.temporaryDirectory.appendingPathComponent("readme-run-\(UUID().uuidString)"))
        defer { try? FileManager.default.removeItem(at: run.url) }
        try run.prepare()  // creates the folder, removes temporaries a killed run left
        var reports: [EpochReport] = []
        for _ in 0..<3 {
            guard let report = try trainer.trainEpoch() else { break }
            reports.append(report)
            try run.save(trainer, reports: reports)  // the metrics, then the checkpoint that holds them too
        }
        let test = try trainer.evaluate(data.test)  // loss, accuracy and confusion matrix, computed on the device
        XCTAssertEqual(test.confusion.count, data.classCount)
        XCTAssertGreaterThan(test.accuracy, 0.5)
        XCTAssertEqual(try run.resume(Trainer(model: model, configuration: configuration, data: data, device: device)), reports)
    }

    /// README (*Your own data*): a custom `Layer` through the trainer, on a folder that `ImageDataset.open` reads
    /// (two classes of grey PNGs here: dark and bright, with noise).
    func testACustomLayerTrainsOnAnOpenedFolder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("readme-folder-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var noise = RandomSource(seed: 4)
        for split in ["train", "test"] {
            for (label, name) in ["dark", "light"].enumerated() {
                let classFolder = folder.appendingPathComponent("\(split)/\(name)")
                try FileManager.default.createDirectory(at: classFolder, withIntermediateDirectories: true)
                for index in 0..<(split == "train" ? 24 : 8) {
                    let pixels = (0..<30).map { _ in UInt8(label * 128 + Int(noise.next() % 128)) }
                    try PNG.encode(width: 6, height: 5, pixels: pixels).write(to: classFolder.appendingPathComponent("\(index).png"))
                }
            }
        }
        let device = try Device.named("cpu")
        let data = try ImageDataset.open(folder).dataset  // any folder kiln train reads
        var random = RandomSource(seed: 0)
        let model = try CustomModelTrainingTests.ResidualNetwork(
            features: data.imageShape.reduce(1, *), classes: data.classCount, random: &random, on: device)
        var configuration = TrainingConfiguration()
        configuration.model = "residual-mlp"  // a name for the checkpoint
        configuration.batchSize = 8
        let trainer = try Trainer(model: model, configuration: configuration, data: data, device: device)
        for _ in 0..<5 { _ = try trainer.trainEpoch() }
        XCTAssertEqual(try trainer.evaluate(data.test).accuracy, 1, "dark and light images are told apart")
        let checkpoint = folder.appendingPathComponent("residual.safetensors")
        try trainer.saveCheckpoint(to: checkpoint)
        XCTAssertTrue(try SafeTensorsFile(contentsOf: checkpoint).arrays.map(\.name).contains("block.weight"))
    }
}
