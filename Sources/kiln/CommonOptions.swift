// Options shared by the subcommands that train or evaluate (the device, the data set, the training
// budget), the Ctrl-C flag, and the per-epoch line and chart a classifier's training prints and draws.
import ArgumentParser
import Foundation
import Kiln
import KilnExamples

struct CommonOptions: ParsableArguments {
    @Option(help: "cpu, opencl, opencl:N or opencl:NAME (default: $KILN_DEVICE, else opencl).")
    var device: String?
    @Option(help: """
        fashion-mnist (Debian's dataset-fashion-mnist), mnist (the folder in $KILN_MNIST_DIR, else \
        /usr/share/datasets/mnist), or a folder with the four MNIST-named IDX files, gzipped or not.
        """)
    var dataset = "fashion-mnist"
    @Option(help: "The most a gzipped data set file may inflate to, in MiB (default: 100 times its size, at most 4096 MiB).")
    var maxInflated: Int?

    /// Where `--dataset mnist` looks.
    static var mnistDirectory: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.environment["KILN_MNIST_DIR"] ?? "/usr/share/datasets/mnist")
    }

    var datasetDirectory: URL {
        switch dataset.lowercased() {
        case "fashion-mnist": IDXDataset.fashionMNISTDirectory
        case "mnist": Self.mnistDirectory
        default: URL(fileURLWithPath: dataset)
        }
    }

    /// Rejects a `--dataset` folder that does not exist (a usage error, before any work starts). Not
    /// part of `validate()`, since some commands read the data set only in some modes.
    func validate() throws {
        if let maxInflated, !(1...(1 << 30)).contains(maxInflated) {
            throw ValidationError("--max-inflated must be between 1 and \(1 << 30) MiB, got \(maxInflated)")
        }
    }

    func validateDataset() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: datasetDirectory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError(
                "--dataset \(dataset): no folder \(datasetDirectory.path); use fashion-mnist, mnist or a folder of IDX files")
        }
    }

    func openDevice() throws -> Device {
        try device.map(Device.named) ?? Device.fromEnvironment()
    }

    func loadDataset() throws -> IDXDataset {
        try IDXDataset(directory: datasetDirectory, limits: DecompressionLimits(maximumBytes: maxInflated.map { $0 << 20 }))
    }

    /// The data set a classifier trains on, named as `--dataset` gave it; every label is checked against the
    /// class count (the largest training label plus one) before anything trains.
    func loadImageDataset() throws -> ImageDataset {
        try ImageDataset(loadDataset(), name: dataset)
    }
}

/// The training budget: everything but the model and the data that defines a run.
struct TrainingOptions: ParsableArguments {
    @Option(help: "Epochs to train.")
    var epochs = 5
    @Option(help: "Examples per batch.")
    var batchSize = 64
    @Option(help: "Optimizer (PyTorch's update rules).")
    var optimizer: OptimizerKind = .momentum
    @Option(help: "Learning rate.")
    var lr = 0.01
    @Option(help: "Momentum (momentum and nesterov).")
    var momentum = 0.9
    @Option(help: "Weight decay (L2, added to the gradient).")
    var weightDecay = 0.0
    @Option(help: "Clip the gradients' global norm to this.")
    var clipNorm: Double?
    @Option(help: "Cosine-anneal the learning rate to 0 over this many epochs.")
    var cosine: Int?
    @Option(help: "Seed for initialisation, shuffling and dropout.")
    var seed: UInt64 = 0
    @Option(help: "Inputs: standard (pixels / 255, minus the training set's mean, over its standard deviation) or unit (pixels / 255).")
    var normalize: NormalizeOption = .standard

    func validate() throws {
        guard epochs > 0 else { throw ValidationError("--epochs must be positive") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number") }
        guard momentum >= 0, momentum < 1 else { throw ValidationError("--momentum must be in [0, 1)") }
        guard weightDecay >= 0, weightDecay.isFinite else { throw ValidationError("--weight-decay must be zero or positive") }
        if let clipNorm, !(clipNorm > 0 && clipNorm.isFinite) { throw ValidationError("--clip-norm must be positive") }
        if let cosine, cosine <= 0 { throw ValidationError("--cosine must be a positive number of epochs") }
    }

    func configuration(model: String) -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        configuration.model = model
        configuration.optimizer = optimizer
        configuration.learningRate = lr
        configuration.momentum = momentum
        configuration.weightDecay = weightDecay
        configuration.batchSize = batchSize
        configuration.seed = seed
        configuration.clipNorm = clipNorm
        configuration.cosineEpochs = cosine
        configuration.normalization = normalize.normalization
        return configuration
    }
}

extension OptimizerKind: ExpressibleByArgument {}

/// `--normalize`: how pixels become inputs.
enum NormalizeOption: String, CaseIterable, ExpressibleByArgument {
    case standard, unit

    /// The configuration's normalisation: nil lets the trainer standardise with the training set's statistics.
    var normalization: PixelNormalization? { self == .unit ? .unit : nil }
}

/// Set by SIGINT (Ctrl-C) so a long loop can stop at a safe point and checkpoint. A second Ctrl-C
/// quits at once (status 130) for a step that does not return.
final class InterruptFlag: @unchecked Sendable {
    private let source: DispatchSourceSignal
    private let lock = NSLock()
    private var flag = false

    init() {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [weak self] in self?.raise() }
        source.resume()
    }

    private func raise() {
        lock.lock()
        let again = flag
        flag = true
        lock.unlock()
        if again {
            FileHandle.standardError.write(Data("\ninterrupted again: quitting without a checkpoint\n".utf8))
            _exit(130)
        }
        FileHandle.standardError.write(Data("\nstopping at the next batch to write a checkpoint (Ctrl-C again to quit at once)\n".utf8))
    }

    var raised: Bool {
        lock.lock()
        defer { lock.unlock() }
        return flag
    }
}

/// The per-epoch chart and line a classifier's training prints and writes (`RunFolder` writes the metrics files).
enum Metrics {
    /// Train and test loss, and test accuracy, per epoch.
    static func chart(_ reports: [EpochReport], title: String) -> SVGChart {
        let epochs = reports.map { Double($0.epoch) }
        return SVGChart(
            title: title, xLabel: "epoch", yLabel: "loss / accuracy",
            series: [
                SVGChart.Series("train loss", Array(zip(epochs, reports.map(\.trainLoss)))),
                SVGChart.Series("test loss", Array(zip(epochs, reports.map(\.testLoss)))),
                SVGChart.Series("test accuracy", Array(zip(epochs, reports.map(\.testAccuracy)))),
            ])
    }

    /// The line printed after each epoch (`prefix` names the model in a comparison).
    static func line(_ report: EpochReport, prefix: String = "") -> String {
        prefix + String(
            format: "epoch %d  train loss %.4f  test loss %.4f  test accuracy %.2f%%  %.0f images/s  %.1f s",
            report.epoch, report.trainLoss, report.testLoss, report.testAccuracy * 100, report.imagesPerSecond, report.seconds)
    }
}
