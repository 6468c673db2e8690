// Comparison: trains several models with the same budget on one device, one after the other, and
// summarises them side by side (what `kiln compare` prints and writes).
import Foundation
import Kiln

/// One model's results in a comparison.
public struct ComparedModel: Codable, Sendable {
    /// A short name for tables and legends: `cnn`, `mlp`, a short layer string, or `model N`.
    public var name: String
    /// The layer string.
    public var model: String
    public var parameters: Int
    public var epochs: [EpochReport]
    public var finalTestAccuracy: Double
    public var finalTestLoss: Double
    /// Seconds spent in training steps, summed over the epochs (evaluation and plan compilation excluded).
    public var trainingSeconds: Double
    /// Training images per second over the whole run.
    public var imagesPerSecond: Double

    public init(name: String, model: String, parameters: Int, epochs: [EpochReport]) {
        self.name = name
        self.model = model
        self.parameters = parameters
        self.epochs = epochs
        finalTestAccuracy = epochs.last?.testAccuracy ?? 0
        finalTestLoss = epochs.last?.testLoss ?? 0
        trainingSeconds = epochs.reduce(0) { $0 + $1.seconds }
        let images = epochs.reduce(0) { $0 + $1.imagesPerSecond * $1.seconds }
        imagesPerSecond = images / max(trainingSeconds, 1e-9)
    }
}

/// Models trained with the same budget (epochs, batch size, optimizer, learning rate, seed) on one device.
public struct Comparison: Codable, Sendable {
    public var device: String
    public var epochs: Int
    public var batchSize: Int
    public var optimizer: OptimizerKind
    public var learningRate: Double
    public var momentum: Double
    public var seed: UInt64
    public var models: [ComparedModel]

    /// What happens during `run`, for progress displays.
    public enum Event {
        /// A model's trainer is built and its training step compiled; training starts.
        case started(name: String, trainer: Trainer)
        /// `batch` of `batches` done in `epoch` (counted from 0), with that batch's loss.
        case batch(name: String, epoch: Int, batch: Int, batches: Int, loss: Float)
        /// An epoch ended and the model was evaluated on the test set (the course's comparison measures it after
        /// every epoch to draw both models' curves; it selects nothing by it).
        case epoch(name: String, report: EpochReport)
    }

    /// Trains each of `models` (`cnn`, `mlp` or layer strings) for `epochs` epochs with `budget`'s
    /// settings (its `model` is replaced by each of `models`) on `device`, one model after the other. The
    /// training step is compiled before the clock starts. Returns nil when `shouldStop` ended it early.
    public static func run(
        models: [String], budget: TrainingConfiguration, epochs: Int, data: ImageDataset, device: Device,
        events: @escaping (Event) -> Void = { _ in }, shouldStop: @escaping () -> Bool = { false }
    ) throws -> Comparison? {
        // Build every model first, so a bad layer string fails before hours of training.
        let trainers = try models.map { model in
            var configuration = budget
            configuration.model = model
            let trainer = try Trainer(configuration: configuration, data: data, device: device)
            try trainer.loop.check(trainer)
            return trainer
        }
        var compared: [ComparedModel] = []
        for (name, trainer) in zip(names(for: models), trainers) {
            _ = try trainer.step.plans(for: [trainer.batchShape])
            events(.started(name: name, trainer: trainer))
            var reports: [EpochReport] = []
            while trainer.epoch < epochs {
                let epoch = trainer.epoch
                let report = try trainer.trainEpoch(
                    progress: { events(.batch(name: name, epoch: epoch, batch: $0, batches: $1, loss: $2)) }, shouldStop: shouldStop)
                guard var report else { return nil }
                let test = try trainer.evaluate(data.test)
                (report.testLoss, report.testAccuracy) = (test.loss, test.accuracy)
                reports.append(report)
                events(.epoch(name: name, report: report))
            }
            compared.append(
                ComparedModel(
                    name: name, model: ModelSpec(trainer.configuration.model).text, parameters: trainer.model.parameterCount,
                    epochs: reports))
        }
        return Comparison(
            device: "\(device)", epochs: epochs, batchSize: budget.batchSize, optimizer: budget.optimizer,
            learningRate: budget.learningRate, momentum: budget.momentum, seed: budget.seed, models: compared)
    }

    /// Short, distinct names for tables and legends: the arguments themselves when all are distinct and
    /// at most 16 characters long (`cnn`, `mlp`, `flatten-dense10`), else `model 1`, `model 2`, ...
    public static func names(for models: [String]) -> [String] {
        let given = models.map { $0.lowercased() }
        if given.allSatisfy({ $0.count <= 16 }), Set(given).count == given.count { return given }
        return models.indices.map { "model \($0 + 1)" }
    }

    /// The side-by-side table: one column per model, then the layer string of each model with a long one.
    public var table: String {
        let rows: [(String, (ComparedModel) -> String)] = [
            ("parameters", { "\($0.parameters)" }),
            ("test accuracy", { String(format: "%.2f%%", $0.finalTestAccuracy * 100) }),
            ("test loss", { String(format: "%.4f", $0.finalTestLoss) }),
            ("training time", { String(format: "%.1f s", $0.trainingSeconds) }),
            ("images/s", { String(format: "%.0f", $0.imagesPerSecond) }),
        ]
        let labelWidth = rows.map(\.0.count).max() ?? 0
        let cells = models.map { model in [model.name] + rows.map { $0.1(model) } }
        let widths = cells.map { column in column.map(\.count).max() ?? 0 }
        func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
            let padding = String(repeating: " ", count: max(0, width - text.count))
            return left ? text + padding : padding + text
        }
        var lines: [String] = []
        for row in 0...rows.count {
            let label = row == 0 ? "" : rows[row - 1].0
            lines.append(pad(label, labelWidth, left: true) + cells.indices.map { "  " + pad(cells[$0][row], widths[$0]) }.joined())
        }
        for model in models where model.name != model.model {
            lines.append("\(model.name): \(model.model)")
        }
        return lines.joined(separator: "\n")
    }

    /// Train and test loss (left axis) and test accuracy (right axis) of every model per epoch.
    public var chart: SVGChart {
        var series: [SVGChart.Series] = []
        for model in models {
            series.append(SVGChart.Series("\(model.name) train loss", model.epochs.map { (Double($0.epoch), $0.trainLoss) }))
            series.append(
                SVGChart.Series(
                    "\(model.name) test loss", model.epochs.compactMap { report in report.testLoss.map { (Double(report.epoch), $0) } }))
        }
        for model in models {
            series.append(
                SVGChart.Series(
                    "\(model.name) test accuracy",
                    model.epochs.compactMap { report in report.testAccuracy.map { (Double(report.epoch), $0 * 100) } },
                    axis: .right))
        }
        return SVGChart(
            title: models.map(\.name).joined(separator: " vs ") + " on \(device)", xLabel: "epoch", yLabel: "loss",
            rightLabel: "accuracy (%)", series: series)
    }
}
