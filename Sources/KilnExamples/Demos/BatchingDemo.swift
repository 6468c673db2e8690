// BatchingDemo: where the cost and its gradient are computed. The same model trains from the same
// initial weights with plain SGD over the same number of passes, computing the gradient over the
// whole training set per update (batch gradient descent), over mini-batches, or per example
// (stochastic). `kiln demo batching` prints the table and writes the charts.
import Foundation
import Kiln

/// Where the cost is computed for each update.
public enum BatchingMode: String, CaseIterable, Codable, Sendable {
    case fullBatch = "batch"
    case miniBatch = "mini-batch"
    case perExample = "stochastic"

    /// The name in tables and legends.
    public var title: String {
        switch self {
        case .fullBatch: "whole set (batch GD)"
        case .miniBatch: "mini-batch"
        case .perExample: "per example (SGD)"
        }
    }
}

/// Batch, mini-batch and per-example gradient descent, measured.
public enum BatchingDemo {
    /// What to run; every mode uses plain SGD (no momentum) so that only the batching differs.
    public struct Settings: Codable, Sendable {
        /// `ModelSpec` string of the model.
        public var model = "mlp"
        /// Passes over the training examples, the same for every mode.
        public var epochs = 3
        /// Train on the first `examples` training examples (nil: all of them).
        public var examples: Int?
        public var miniBatchSize = 64
        /// Learning rates per mode: the exact full gradient tolerates a large step, one example's gradient a
        /// small one. 0.5 is the largest of 0.5, 1 and 2 with which batch GD on the MLP did not blow up within 4 updates.
        public var fullBatchLearningRate = 0.5
        public var miniBatchLearningRate = 0.1
        public var perExampleLearningRate = 0.005
        /// Examples per chunk when accumulating the full-batch gradient.
        public var chunkSize = 1000
        /// The training loss on the curves is the mean loss over the first `probeExamples` training examples.
        public var probeExamples = 2000
        /// Loss measurements per epoch for mini-batch and per-example runs (batch GD measures once per update).
        public var pointsPerEpoch = 10
        public var seed: UInt64 = 0

        public init() {}

        public func learningRate(for mode: BatchingMode) -> Double {
            switch mode {
            case .fullBatch: fullBatchLearningRate
            case .miniBatch: miniBatchLearningRate
            case .perExample: perExampleLearningRate
            }
        }

        public func batchSize(for mode: BatchingMode, examples: Int) -> Int {
            switch mode {
            case .fullBatch: examples
            case .miniBatch: miniBatchSize
            case .perExample: 1
            }
        }

        /// Throws a `DemoError` naming the bad setting.
        public func validate() throws {
            guard epochs > 0 else { throw DemoError("epochs must be positive, got \(epochs)") }
            if let examples, examples <= 0 { throw DemoError("examples must be positive, got \(examples)") }
            guard miniBatchSize > 0 else { throw DemoError("the mini-batch size must be positive, got \(miniBatchSize)") }
            guard chunkSize > 0 else { throw DemoError("the chunk size must be positive, got \(chunkSize)") }
            guard probeExamples > 0, pointsPerEpoch > 0 else { throw DemoError("probe examples and points per epoch must be positive") }
            for mode in BatchingMode.allCases where !(learningRate(for: mode) > 0 && learningRate(for: mode).isFinite) {
                throw DemoError("the \(mode.rawValue) learning rate must be a positive number, got \(learningRate(for: mode))")
            }
        }
    }

    /// One measurement: passes over the data so far, training seconds so far (measurements excluded), loss.
    public struct Point: Codable, Sendable {
        public var epoch: Double
        public var seconds: Double
        public var loss: Double
    }

    /// One mode's run.
    public struct Run: Codable, Sendable {
        public var mode: BatchingMode
        public var batchSize: Int
        public var learningRate: Double
        public var updates: Int
        public var points: [Point]
        /// Seconds spent training (forward, backward and updates; not the measurements).
        public var seconds: Double
        public var imagesPerSecond: Double
        public var testAccuracy: Double
        public var testLoss: Double
    }

    /// All three runs.
    public struct Comparison: Codable, Sendable {
        public var settings: Settings
        /// Training examples used per epoch.
        public var examples: Int
        public var probeExamples: Int
        public var device: String
        public var runs: [Run]

        public var epochChart: SVGChart {
            SVGChart(
                title: "\(settings.model) on \(device): loss against passes over \(examples) examples", xLabel: "epoch",
                yLabel: "training loss (first \(probeExamples) examples)",
                series: runs.map { run in SVGChart.Series(run.mode.title, run.points.map { ($0.epoch, $0.loss) }) })
        }

        public var timeChart: SVGChart {
            SVGChart(
                title: "\(settings.model) on \(device): loss against training time", xLabel: "seconds of training",
                yLabel: "training loss (first \(probeExamples) examples)",
                series: runs.map { run in SVGChart.Series(run.mode.title, run.points.map { ($0.seconds, $0.loss) }) })
        }

        public var table: String {
            var lines = [
                "\(settings.epochs) epochs over \(examples) training examples, plain SGD, loss on the first \(probeExamples)",
                DemoTable.row(["mode", "batch", "lr", "updates", "final loss", "test accuracy", "images/s", "seconds"], firstWidth: 22),
            ]
            for run in runs {
                lines.append(
                    DemoTable.row(
                        [
                            run.mode.title, String(run.batchSize), String(run.learningRate), String(run.updates),
                            DemoTable.fixed(run.points.last?.loss ?? .nan, 4), DemoTable.fixed(run.testAccuracy * 100, 2) + "%",
                            DemoTable.fixed(run.imagesPerSecond, 0),
                            DemoTable.fixed(run.seconds, 1),
                        ], firstWidth: 22))
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Trains `settings.model` three times from the same initial weights, once per mode, and measures
    /// each. `progress` receives a line per epoch.
    public static func run(
        data: IDXDataset, settings: Settings, on device: Device, progress: (String) -> Void = { _ in }
    ) throws -> Comparison {
        try settings.validate()
        let training = data.training.prefix(settings.examples ?? data.training.count)
        let probe = training.prefix(settings.probeExamples)
        // The classes of the whole training set, which a prefix may not show all of.
        let classes = try ImageDataset(data, name: "the batching demo's data").classCount
        let subset = try ImageDataset(name: "the batching demo's data", training: training, test: data.test, classCount: classes)
        var runs: [Run] = []
        for mode in BatchingMode.allCases {
            runs.append(try run(mode, data: subset, training: training, probe: probe, settings: settings, on: device, progress: progress))
        }
        return Comparison(settings: settings, examples: training.count, probeExamples: probe.count, device: device.description, runs: runs)
    }

    static func run(
        _ mode: BatchingMode, data: ImageDataset, training: LabeledImages, probe: LabeledImages, settings: Settings, on device: Device,
        progress: (String) -> Void
    ) throws -> Run {
        var configuration = TrainingConfiguration()
        configuration.model = settings.model
        configuration.optimizer = .sgd
        configuration.learningRate = settings.learningRate(for: mode)
        configuration.batchSize = settings.batchSize(for: mode, examples: data.training.count)
        configuration.seed = settings.seed
        // Inputs in [0, 1], as in the course's material (and Docs/momentum.md's figures); `kiln train` standardises.
        configuration.normalization = .unit
        let trainer = try Trainer(configuration: configuration, data: data, device: device)
        let learningRate = configuration.learningRate
        var points = [Point(epoch: 0, seconds: 0, loss: try trainer.evaluate(probe).loss)]
        var seconds = 0.0
        var updates = 0
        var images = 0
        switch mode {
        case .fullBatch:
            let descent = try FullBatchGradientDescent(
                model: trainer.model, optimizer: trainer.optimizer, chunkSize: settings.chunkSize, normalization: trainer.normalization,
                on: device)
            for epoch in 1...settings.epochs {
                let start = Date()
                _ = try descent.epoch(training, learningRate: learningRate, step: epoch)
                seconds += Date().timeIntervalSince(start)
                updates += 1
                images += data.training.count
                points.append(Point(epoch: Double(epoch), seconds: seconds, loss: try trainer.evaluate(probe).loss))
                progress(line(mode, epoch, points, seconds))
            }
        case .miniBatch, .perExample:
            let batches = trainer.trainingBatches
            guard batches.count > 0 else {
                throw DemoError("\(data.training.count) examples make no batch of \(batches.batchSize); use more examples")
            }
            // Measure after these batch counts within an epoch (the last one included).
            let marks = Set(
                (1...settings.pointsPerEpoch).map { ($0 * batches.count + settings.pointsPerEpoch - 1) / settings.pointsPerEpoch })
            for epoch in 0..<settings.epochs {
                let order = batches.order(epoch: epoch)
                let prefetch = Prefetcher(0..<batches.count) { try batches.batch($0, order: order) }
                var start = Date()
                var index = 0
                while let batch = try prefetch.next() {
                    // The step reads its loss back, so the device has finished when it returns.
                    try trainer.step(
                        inputs: batch.inputs, shape: batches.shape(count: batch.count), targets: batch.labels,
                        learningRate: learningRate, on: device)
                    index += 1
                    updates += 1
                    images += batch.count
                    if marks.contains(index) {
                        seconds += Date().timeIntervalSince(start)
                        let loss = try trainer.evaluate(probe).loss
                        points.append(Point(epoch: Double(epoch) + Double(index) / Double(batches.count), seconds: seconds, loss: loss))
                        start = Date()
                    }
                }
                progress(line(mode, epoch + 1, points, seconds))
            }
        }
        let test = try trainer.evaluate(data.test)
        return Run(
            mode: mode, batchSize: configuration.batchSize, learningRate: learningRate, updates: updates, points: points,
            seconds: seconds, imagesPerSecond: Double(images) / max(seconds, 1e-9), testAccuracy: test.accuracy, testLoss: test.loss)
    }

    private static func line(_ mode: BatchingMode, _ epoch: Int, _ points: [Point], _ seconds: Double) -> String {
        "\(mode.rawValue) epoch \(epoch)  training loss \(DemoTable.fixed(points.last?.loss ?? .nan, 4))  \(DemoTable.fixed(seconds, 1)) s of training"
    }
}
