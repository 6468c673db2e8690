// DataSelection: which data set a run trains on and how it is read (image size, channels, held-out shares),
// as `--dataset` and its options give it; recorded in the run's configuration, so a checkpoint says what it
// was trained on and `kiln eval` can open the same test set.
import Foundation
import KilnData

/// A data set by name (`fashion-mnist`, `mnist`) or folder, with the options that decide its images and splits.
public struct DataSelection: Codable, Equatable, Sendable {
    /// `fashion-mnist`, `mnist`, or a folder (IDX files, .npy files, or class folders of images).
    public var dataset: String
    /// Image folders: `[height, width]` to resize every image to.
    public var imageSize: [Int]?
    /// Image folders: 1 or 3 channels.
    public var channels: Int?
    /// The share of each class held out as the test set when the data set has none (default 0.2).
    public var testFraction: Double?
    /// The share of each class of the training set held out for validation.
    public var validationFraction: Double?

    public init(
        dataset: String = "fashion-mnist", imageSize: [Int]? = nil, channels: Int? = nil, testFraction: Double? = nil,
        validationFraction: Double? = nil
    ) {
        self.dataset = dataset
        self.imageSize = imageSize
        self.channels = channels
        self.testFraction = testFraction
        self.validationFraction = validationFraction
    }

    /// Where `mnist` is looked for: `$KILN_MNIST_DIR`, else Debian's folder.
    public static var mnistDirectory: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.environment["KILN_MNIST_DIR"] ?? "/usr/share/datasets/mnist")
    }

    /// The folder the data set is in.
    public var directory: URL {
        switch dataset.lowercased() {
        case "fashion-mnist": IDXDataset.fashionMNISTDirectory
        case "mnist": Self.mnistDirectory
        default: URL(fileURLWithPath: dataset)
        }
    }

    /// The options `ImageDataset.open` takes, with gzipped files inflating within `decompression`.
    public func options(decompression: DecompressionLimits = .init()) -> DatasetOptions {
        DatasetOptions(
            imageSize: imageSize.map { (height: $0[0], width: $0[$0.count - 1]) }, channels: channels, testFraction: testFraction ?? 0.2,
            validationFraction: validationFraction, decompression: decompression)
    }

    /// Opens the data set, named as `dataset` gives it; gzipped files inflate within `decompression`.
    public func open(decompression: DecompressionLimits = .init()) throws -> OpenedDataset {
        try ImageDataset.open(directory, name: dataset, options: options(decompression: decompression))
    }
}
