// Options shared by the subcommands that train or evaluate (the device, the data set, the training
// budget), the Ctrl-C flag, and the per-epoch line and chart a classifier's training prints and draws.
import ArgumentParser
import Foundation
import Kiln
import KilnExamples

struct CommonOptions: ParsableArguments {
    @Option(help: "cpu, opencl, opencl:N or opencl:NAME (default: $KILN_DEVICE, else opencl).")
    var device: String?
    @Option(
        help: """
            fashion-mnist (Debian's dataset-fashion-mnist; the default), mnist (the folder in $KILN_MNIST_DIR, else \
            /usr/share/datasets/mnist), or a folder: IDX files (train-images-idx3-ubyte or Kaggle's \
            train-images.idx3-ubyte names, gzipped or not), NumPy files (train_images.npy and train_labels.npy, or \
            x_train.npy and y_train.npy, with test_ or val_ for the other splits), or class folders of PNG/JPEG \
            images (cats/, dogs/, ... at the top or inside train/, val/ and test/).
            """)
    var dataset: String?
    @Option(help: "The most a gzipped data set file may inflate to, in MiB (default: 100 times its size, at most 4096 MiB).")
    var maxInflated: Int?

    /// `--dataset`, or Fashion-MNIST.
    var datasetName: String { dataset ?? "fashion-mnist" }

    var datasetDirectory: URL { DataSelection(dataset: datasetName).directory }

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
                "--dataset \(datasetName): no folder \(datasetDirectory.path); use fashion-mnist, mnist, or a folder of IDX files, .npy files or class folders of images"
            )
        }
    }

    func openDevice() throws -> Device {
        try device.map(Device.named) ?? Device.fromEnvironment()
    }

    /// How far a gzipped data set file may inflate (`--max-inflated`).
    var decompression: DecompressionLimits { DecompressionLimits(maximumBytes: maxInflated.map { $0 << 20 }) }

    func loadDataset() throws -> IDXDataset {
        try IDXDataset(directory: datasetDirectory, limits: decompression)
    }

    /// The data set a classifier trains on, named as `--dataset` gave it and read as `selection` says (every
    /// label checked against the class count before anything trains); the choices made on the way are printed
    /// unless `quiet`.
    func loadImageDataset(_ selection: DataSelection? = nil, quiet: Bool = false) throws -> ImageDataset {
        let opened = try (selection ?? DataSelection(dataset: datasetName)).open(decompression: decompression)
        if !quiet {
            for note in opened.notes { print("\(opened.dataset.name): \(note)") }
        }
        return opened.dataset
    }
}

/// How a data set folder is read and split (`--image-size`, `--channels`, `--validation-split`, `--test-split`).
struct DataSetOptions: ParsableArguments {
    @Option(help: "Image folders: resize every image to N×N, or HxW (height x width), with torchvision's antialiased bilinear filter.")
    var imageSize: ImageSize?
    @Option(help: "Image folders: 1 (grey, by BT.601 luma) or 3 (RGB) channels (default: 3 when any image is in colour, else 1).")
    var channels: Int?
    @Option(
        help:
            "Hold out this share of each class of the training set as a validation set, measured every epoch (best.safetensors keeps the best)."
    )
    var validationSplit: Double?
    @Option(help: "Hold out this share of each class as the test set when the data set has no test (or val) split (default 0.2).")
    var testSplit: Double?

    func validate() throws {
        if let channels, channels != 1, channels != 3 { throw ValidationError("--channels must be 1 or 3, got \(channels)") }
        if let validationSplit, !(validationSplit > 0 && validationSplit < 1) {
            throw ValidationError("--validation-split must be between 0 and 1 (a share such as 0.1), got \(validationSplit)")
        }
        if let testSplit, !(testSplit > 0 && testSplit < 1) {
            throw ValidationError("--test-split must be between 0 and 1 (a share such as 0.2), got \(testSplit)")
        }
    }

    /// The selection of `dataset` with these options, each falling back to `stored`'s (a checkpoint's).
    func selection(dataset: String, stored: DataSelection? = nil) -> DataSelection {
        DataSelection(
            dataset: dataset, imageSize: imageSize.map { [$0.height, $0.width] } ?? stored?.imageSize,
            channels: channels ?? stored?.channels,
            testFraction: testSplit ?? stored?.testFraction, validationFraction: validationSplit ?? stored?.validationFraction)
    }
}

/// `--image-size 28` or `--image-size 64x48` (height × width).
struct ImageSize: ExpressibleByArgument {
    let height: Int
    let width: Int

    init?(argument: String) {
        let parts = argument.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard (1...2).contains(parts.count), let height = parts[0], let width = parts[parts.count - 1], (1...65536).contains(height),
            (1...65536).contains(width)
        else { return nil }
        (self.height, self.width) = (height, width)
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
    /// Losses per epoch on the left axis (train, validation, test where measured), accuracies in percent on the right.
    static func chart(_ reports: [EpochReport], title: String) -> SVGChart {
        func points(_ value: (EpochReport) -> Double?, scale: Double = 1) -> [(x: Double, y: Double)] {
            reports.compactMap { report in value(report).map { (Double(report.epoch), $0 * scale) } }
        }
        let series = [
            SVGChart.Series("train loss", points(\.trainLoss)),
            SVGChart.Series("validation loss", points(\.validationLoss)),
            SVGChart.Series("test loss", points(\.testLoss)),
            SVGChart.Series("validation accuracy", points(\.validationAccuracy, scale: 100), axis: .right),
            SVGChart.Series("test accuracy", points(\.testAccuracy, scale: 100), axis: .right),
        ]
        return SVGChart(
            title: title, xLabel: "epoch", yLabel: "loss", rightLabel: "accuracy (%)", series: series.filter { !$0.points.isEmpty })
    }

    /// The line printed after each epoch (`prefix` names the model in a comparison): the training loss, then
    /// the validation and test measurements the report has.
    static func line(_ report: EpochReport, prefix: String = "") -> String {
        var line = prefix + String(format: "epoch %d  train loss %.4f", report.epoch, report.trainLoss)
        for (name, loss, accuracy) in [
            ("validation", report.validationLoss, report.validationAccuracy), ("test", report.testLoss, report.testAccuracy),
        ] {
            if let loss, let accuracy { line += String(format: "  %@ loss %.4f  %@ accuracy %.2f%%", name, loss, name, accuracy * 100) }
        }
        return line + String(format: "  %.0f images/s  %.1f s", report.imagesPerSecond, report.seconds)
    }
}
