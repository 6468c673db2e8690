// VanishingGradientDemo: a vanilla RNN and an LSTM of the same hidden size trained on symbol recall
// at several lags T; the norm of the loss gradient with respect to each step's input, before and after
// training, shows the RNN's falling off exponentially with distance while the LSTM's carries across;
// and the same RNN with a large recurrent weight, trained with and without clipping by global norm,
// shows exploding gradients. `kiln demo vanishing` prints the tables and writes the charts.
import Foundation
import Kiln

/// The models the demo trains on recall.
public enum RecallModel: String, CaseIterable, Codable, Sendable {
    /// Vanilla tanh RNN, PyTorch's initialisation.
    case rnn
    /// LSTM with chrono initialisation of the gate biases for the task's lag.
    case lstm
    /// LSTM with PyTorch's initialisation (forget gate near ½ at the start).
    case lstmPyTorchInit = "lstm-pytorch-init"

    public var cell: RecurrentCell { self == .rnn ? .rnn : .lstm }

    /// The name in tables and legends.
    public var title: String {
        switch self {
        case .rnn: "RNN"
        case .lstm: "LSTM"
        case .lstmPyTorchInit: "LSTM, PyTorch init"
        }
    }
}

/// The settings of `kiln demo vanishing`; the defaults finish in a few minutes on a 2-core pocl device.
public struct VanishingGradientConfiguration: Codable, Sendable {
    /// The lags T trained on; the gradient profile uses the longest.
    public var lengths = [10, 50, 100]
    public var models: [RecallModel] = [.rnn, .lstm]
    public var hidden = 32
    public var symbols = 4
    public var batchSize = 32
    /// Training steps per model and lag (the training budget).
    public var steps = 400
    /// Adam's learning rate for the recall runs.
    public var learningRate = 0.005
    /// Clip by global norm in the recall runs (nil: never).
    public var clipNorm: Double? = 1
    /// Sequences in the held-out set that accuracy and the gradient profile are measured on.
    public var evaluationCount = 256
    public var seed: UInt64 = 0
    /// The exploding-gradient runs: lag, factor on the RNN's `W_hh`, plain SGD's rate, steps, clip norm.
    public var explodingLength = 20
    public var explodingScale = 4.0
    public var explodingLearningRate = 0.1
    public var explodingSteps = 200
    public var explodingClipNorm = 1.0

    public init() {}

    /// Throws `SequenceError.invalidSetting` naming the first bad setting.
    public func validate() throws {
        try requireSetting(!lengths.isEmpty && lengths.allSatisfy { $0 >= 2 }, "--lengths", "must be lags of at least 2, got \(lengths)")
        try requireSetting(!models.isEmpty, "models", "must name at least one model")
        try requireSetting(hidden > 0, "--hidden", "must be positive, got \(hidden)")
        try requireSetting(symbols >= 2, "symbols", "must be at least 2")
        try requireSetting(batchSize > 0, "--batch-size", "must be positive, got \(batchSize)")
        try requireSetting(steps > 0, "--steps", "must be positive, got \(steps)")
        try requireSetting(learningRate > 0 && learningRate.isFinite, "learning rate", "must be a positive number")
        try requireSetting(clipNorm.map { $0 > 0 } ?? true, "clip norm", "must be positive")
        try requireSetting(evaluationCount > 0, "evaluation count", "must be positive")
        try requireSetting(explodingLength >= 2, "exploding lag", "must be at least 2")
        try requireSetting(explodingSteps > 0, "--exploding-steps", "must be positive, got \(explodingSteps)")
        try requireSetting(
            explodingScale > 0 && explodingLearningRate > 0 && explodingClipNorm > 0, "exploding settings", "must be positive")
    }
}

/// One training run on recall: what was trained, how it ended, and its curves.
public struct RecallRun: Codable, Sendable {
    /// A short description for tables and legends.
    public var name: String
    public var model: RecallModel
    public var length: Int
    /// The clip norm used (nil: none).
    public var clipNorm: Double?
    /// The training loss of every step (the batch trained on), NaN once diverged.
    public var losses: [Double]
    /// The gradients' global norm at every step, before clipping.
    public var gradientNorms: [Double]
    /// The mean training loss over the last tenth of the steps.
    public var finalTrainingLoss: Double
    public var testLoss: Double
    public var testAccuracy: Double
    /// The step whose loss was NaN or infinite, when training diverged.
    public var divergedAt: Int?
    public var seconds: Double
}

/// `‖∂loss/∂x_t‖` for every step t of a held-out batch.
public struct GradientProfile: Codable, Sendable {
    public var model: RecallModel
    public var length: Int
    public var trained: Bool
    /// `norms[d]` is the norm for the input `d` steps before the last (d = 0 is the last step).
    public var norms: [Double]

    /// How many times smaller the gradient at the first step is than at the last.
    public var decay: Double { norms[0] / norms[norms.count - 1] }
}

/// Everything the demo measured.
public struct VanishingGradientReport: Codable, Sendable {
    public var configuration: VanishingGradientConfiguration
    public var device: String
    public var runs: [RecallRun]
    public var profiles: [GradientProfile]
    public var exploding: [RecallRun]
    public var seconds: Double
}

/// Runs the demo on one device.
public final class VanishingGradientDemo {
    public let configuration: VanishingGradientConfiguration
    public let device: Device

    public init(configuration: VanishingGradientConfiguration, device: Device) throws {
        try configuration.validate()
        self.configuration = configuration
        self.device = device
    }

    /// Trains every model at every lag, measures the gradient profiles at the longest lag, then runs the
    /// exploding-gradient pair. `progress` gets one line per finished run.
    public func run(progress: (String) -> Void = { _ in }) throws -> VanishingGradientReport {
        let start = Self.now()
        var runs: [RecallRun] = []
        var profiles: [GradientProfile] = []
        let longest = configuration.lengths.max() ?? configuration.lengths[0]
        for length in configuration.lengths {
            let task = try SymbolRecallTask(symbols: configuration.symbols, length: length)
            for model in configuration.models {
                let classifier = try makeClassifier(model, task: task)
                if length == longest { profiles.append(try gradientProfile(classifier, model: model, task: task, trained: false)) }
                let optimizer = Adam()
                let run = try train(
                    classifier, name: model.title, model: model, task: task, optimizer: optimizer, clipNorm: configuration.clipNorm,
                    learningRate: configuration.learningRate, steps: configuration.steps)
                runs.append(run)
                progress(Self.describe(run))
                if length == longest { profiles.append(try gradientProfile(classifier, model: model, task: task, trained: true)) }
            }
        }
        let task = try SymbolRecallTask(symbols: configuration.symbols, length: configuration.explodingLength)
        var exploding: [RecallRun] = []
        for clip in [nil, configuration.explodingClipNorm] {
            let classifier = try makeClassifier(.rnn, task: task)
            try classifier.scaleRecurrentWeight(by: configuration.explodingScale)
            let name =
                "RNN, W_hh ×\(Self.number(configuration.explodingScale)), " + (clip.map { "clip \(Self.number($0))" } ?? "no clipping")
            let run = try train(
                classifier, name: name, model: .rnn, task: task, optimizer: SGD(), clipNorm: clip,
                learningRate: configuration.explodingLearningRate, steps: configuration.explodingSteps)
            exploding.append(run)
            progress(Self.describe(run))
        }
        return VanishingGradientReport(
            configuration: configuration, device: device.description, runs: runs, profiles: profiles, exploding: exploding,
            seconds: Self.now() - start)
    }

    /// A freshly initialised classifier for `model` on `task`; the seed depends only on the model and the
    /// lag, so each run is reproducible on its own.
    func makeClassifier(_ model: RecallModel, task: SymbolRecallTask) throws -> RecurrentClassifier {
        var random = RandomSource(seed: configuration.seed &+ UInt64(task.length) &* 1_000_003)
        let classifier = try RecurrentClassifier(
            cell: model.cell, inputs: task.inputSize, hidden: configuration.hidden, classes: task.symbols, random: &random, on: device)
        if model == .lstm { try classifier.chronoInitialise(maximumLag: task.length, random: &random) }
        return classifier
    }

    /// Trains `classifier` on fresh batches of `task` and measures it on the held-out set.
    func train(
        _ classifier: RecurrentClassifier, name: String, model: RecallModel, task: SymbolRecallTask, optimizer: any Optimizer,
        clipNorm: Double?, learningRate: Double, steps: Int
    ) throws -> RecallRun {
        let start = Self.now()
        let count = configuration.batchSize
        let device = self.device
        let step = TrainingStep(
            parameters: classifier.parameters, optimizer: optimizer, clipNorm: clipNorm, reportsGradientNorm: true
        ) { _ in
            let x = try StepGraph.input(task.shape(count: count), on: device)
            let labels = try StepGraph.input([count], on: device)
            let logits = try classifier.forward(x, context: ForwardContext(training: true))
            return StepGraph(inputs: [x, labels], loss: try Tensor.softmaxCrossEntropy(logits: logits, labels: labels))
        }
        var random = RandomSource(seed: configuration.seed &+ 0x5EED &+ UInt64(task.length))
        var losses: [Double] = []
        var norms: [Double] = []
        var divergedAt: Int?
        for index in 1...steps {
            let batch = task.batch(count: count, random: &random)
            let loss = Double(try step([batch.inputs, batch.labels], shapes: [], learningRate: learningRate))
            let norm = Double(try step.gradientNorm())
            losses.append(loss)
            norms.append(norm)
            if !loss.isFinite || !norm.isFinite {
                divergedAt = index
                break
            }
        }
        let tail = losses.suffix(max(1, losses.count / 10))
        let (testLoss, testAccuracy) = divergedAt == nil ? try evaluate(classifier, task: task) : (Double.nan, 1 / Double(task.symbols))
        return RecallRun(
            name: name, model: model, length: task.length, clipNorm: clipNorm, losses: losses, gradientNorms: norms,
            finalTrainingLoss: tail.reduce(0, +) / Double(tail.count), testLoss: testLoss, testAccuracy: testAccuracy,
            divergedAt: divergedAt, seconds: Self.now() - start)
    }

    /// The held-out batch of `task`: the same sequences for every model.
    func heldOut(_ task: SymbolRecallTask) -> (inputs: [Float], labels: [Float]) {
        var random = RandomSource(seed: configuration.seed &+ 0xE7A1 &+ UInt64(task.length))
        return task.batch(count: configuration.evaluationCount, random: &random)
    }

    /// Loss and accuracy on the held-out set.
    func evaluate(_ classifier: RecurrentClassifier, task: SymbolRecallTask) throws -> (loss: Double, accuracy: Double) {
        let batch = heldOut(task)
        let x = try Tensor(batch.inputs, shape: task.shape(count: configuration.evaluationCount), on: device)
        let logits = try classifier(x)
        let labels = try Tensor(batch.labels, shape: [configuration.evaluationCount], on: device)
        let loss = try Tensor.softmaxCrossEntropy(logits: logits, labels: labels)
        try Tensor.evaluate([logits, loss])
        let values = try logits.floats()
        let classes = task.symbols
        var correct = 0
        for (n, label) in batch.labels.enumerated() {
            let row = values[n * classes..<(n + 1) * classes]
            if let best = row.indices.max(by: { row[$0] < row[$1] }), best - n * classes == Int(label) { correct += 1 }
        }
        return (try loss.scalar(), Double(correct) / Double(batch.labels.count))
    }

    /// The norm of the held-out loss's gradient with respect to each step's input.
    public func gradientProfile(_ classifier: RecurrentClassifier, model: RecallModel, task: SymbolRecallTask, trained: Bool) throws
        -> GradientProfile
    {
        let batch = heldOut(task)
        let count = configuration.evaluationCount
        let norms = try Self.inputGradientNorms(
            classifier, inputs: batch.inputs, labels: batch.labels, shape: task.shape(count: count), on: device)
        return GradientProfile(model: model, length: task.length, trained: trained, norms: norms.reversed())
    }

    /// `‖∂loss/∂x_t‖` for t = 0..<T, where the loss is the mean cross-entropy of `classifier` on the batch
    /// and `x_t` is step t's `[N, I]` slice of the sequence input.
    public static func inputGradientNorms(
        _ classifier: RecurrentClassifier, inputs: [Float], labels: [Float], shape: Shape, on device: Device
    ) throws -> [Double] {
        let x = try Tensor(inputs, shape: shape, on: device)
        let loss = try Tensor.softmaxCrossEntropy(logits: classifier(x), labels: Tensor(labels, shape: [shape[1]], on: device))
        let gradient = try gradients(of: loss, withRespectTo: [x])[0]
        // Each step's slice [N, I] reduced to its Euclidean norm: one value per step.
        return try (gradient * gradient).sum(axes: [1, 2]).sqrt().doubles()
    }

    // MARK: Reports

    /// The per-lag table and the exploding-gradient lines.
    public static func table(_ report: VanishingGradientReport) -> String {
        func cells(_ values: [String]) -> String {
            zip(values, [28, 6, 12, 12, 12, 12, 9]).map { $0.padding(toLength: max($1, $0.count + 1), withPad: " ", startingAt: 0) }
                .joined().trimmingCharacters(in: .whitespaces)
        }
        var lines = [cells(["model", "T", "train loss", "test loss", "accuracy", "max ‖g‖", "seconds"])]
        for run in report.runs + report.exploding {
            lines.append(
                cells([
                    run.name, "\(run.length)", run.divergedAt.map { "NaN at \($0)" } ?? String(format: "%.4f", run.finalTrainingLoss),
                    run.testLoss.isFinite ? String(format: "%.4f", run.testLoss) : "-", String(format: "%.1f%%", run.testAccuracy * 100),
                    String(format: "%.3g", run.gradientNorms.filter(\.isFinite).max() ?? .nan), String(format: "%.1f", run.seconds),
                ]))
        }
        return lines.joined(separator: "\n")
    }

    /// The gradient profiles, one line per model and state, as text.
    public static func profileSummary(_ report: VanishingGradientReport) -> String {
        report.profiles.map { profile in
            let last = profile.norms.count - 1
            let picks = Array(Set([0, 1, 5, 10, 25, 50, last].filter { $0 <= last })).sorted()
            let values = picks.map { "d=\($0) \(String(format: "%.2e", profile.norms[$0]))" }.joined(separator: "  ")
            return "\(profile.model.title) (\(profile.trained ? "trained" : "initial")), T=\(profile.length): \(values)"
        }.joined(separator: "\n")
    }

    /// `‖∂loss/∂x_t‖` against the distance from the loss, log scale, both models before and after training.
    public static func gradientChart(_ report: VanishingGradientReport) -> SVGChart {
        let series = report.profiles.map { profile in
            SVGChart.Series(
                "\(profile.model.title), \(profile.trained ? "trained" : "initial")",
                profile.norms.enumerated().map { (x: Double($0.offset), y: $0.element) })
        }
        let length = report.profiles.first?.length ?? 0
        return SVGChart(
            title: "Gradient reaching each input, recall at T = \(length) (\(report.device))", xLabel: "steps before the loss",
            yLabel: "‖∂loss/∂x_t‖", series: series, logarithmicY: true)
    }

    /// Training loss per step of the exploding-gradient pair.
    public static func explodingChart(_ report: VanishingGradientReport) -> SVGChart {
        SVGChart(
            title: "RNN with a large recurrent weight, SGD (\(report.device))", xLabel: "step", yLabel: "training loss",
            series: report.exploding.map { run in
                SVGChart.Series(run.name, run.losses.enumerated().map { (x: Double($0.offset + 1), y: $0.element) })
            })
    }

    /// Gradient norm per step of the exploding-gradient pair (before clipping), log scale.
    public static func explodingNormChart(_ report: VanishingGradientReport) -> SVGChart {
        SVGChart(
            title: "Gradient norm before clipping (\(report.device))", xLabel: "step", yLabel: "‖g‖",
            series: report.exploding.map { run in
                SVGChart.Series(run.name, run.gradientNorms.enumerated().map { (x: Double($0.offset + 1), y: $0.element) })
            }, logarithmicY: true)
    }

    static func describe(_ run: RecallRun) -> String {
        let ending =
            run.divergedAt.map { "diverged (NaN) at step \($0)" }
            ?? String(
                format: "train loss %.4f  test loss %.4f  accuracy %.1f%%", run.finalTrainingLoss, run.testLoss, run.testAccuracy * 100)
        return String(format: "%@, T=%d: %@  (%.1f s)", run.name, run.length, ending, run.seconds)
    }

    static func number(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(value) }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
