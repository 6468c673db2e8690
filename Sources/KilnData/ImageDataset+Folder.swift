// ImageDataset+Folder: opens whatever data set a folder holds (IDX files, NumPy .npy arrays, or class folders
// of PNG/JPEG images), with the same rules for every format: the test set is the folder's own, else its
// validation set, else a held-out share of each class; a validation set is the folder's own or a held-out
// share of the training set; class names come from the class folders, a `classes.txt`, or Fashion-MNIST's.
import Foundation

/// How a folder becomes a data set.
public struct DatasetOptions: Sendable {
    /// Image folders: resize every image to `(height, width)`; nil keeps their one size.
    public var imageSize: (height: Int, width: Int)?
    /// Image folders: 1 (grey) or 3 (RGB); nil: 3 when any image is in colour.
    public var channels: Int?
    /// The share of each class held out as the test set when the folder has neither test nor validation images.
    public var testFraction: Double
    /// The share of each class of the training set held out for validation; nil uses the folder's own
    /// validation set, if any.
    public var validationFraction: Double?
    public var limits: ImageLimits
    /// IDX files: how far a gzipped file may inflate.
    public var decompression: DecompressionLimits

    public init(
        imageSize: (height: Int, width: Int)? = nil, channels: Int? = nil, testFraction: Double = 0.2, validationFraction: Double? = nil,
        limits: ImageLimits = .standard, decompression: DecompressionLimits = .init()
    ) {
        self.imageSize = imageSize
        self.channels = channels
        self.testFraction = testFraction
        self.validationFraction = validationFraction
        self.limits = limits
        self.decompression = decompression
    }

    /// The seeds of the two held-out splits: fixed, so that training, resuming and `kiln eval` all see the same sets.
    static let testSeed: UInt64 = 0x6B69_6C6E_7465_7374
    static let validationSeed: UInt64 = 0x6B69_6C6E_7661_6C69
}

/// A data set opened from a folder, and what was decided on the way (for the log).
public struct OpenedDataset {
    public let dataset: ImageDataset
    /// The folder's format: `IDX`, `NumPy` or `image folder`.
    public let format: String
    /// Sentences on choices the user did not spell out (a held-out test set, files skipped, ...).
    public let notes: [String]
}

extension ImageDataset {
    /// Fashion-MNIST's class names, label by label (torchvision's `FashionMNIST.classes`).
    public static let fashionMNISTClassNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    /// Opens the data set in `directory`: IDX files (any published naming), NumPy files
    /// (`{train,val,test}_{images,labels}.npy`, or Keras' `x_train.npy`, `y_train.npy`, ...), or class folders
    /// (at the top, or inside `train/`, `val/` and `test/`). `name` names it in messages (default: the path).
    public static func open(_ directory: URL, name: String? = nil, options: DatasetOptions = DatasetOptions()) throws -> OpenedDataset {
        let name = name ?? directory.path
        var notes: [String] = []
        let format: String
        var training: any LabeledImageSet
        var validation: (any LabeledImageSet)?
        var test: (any LabeledImageSet)?
        var classNames = try classNamesFile(in: directory)
        if IDXFolder.containsIDXFiles(directory) || !FileManager.default.fileExists(atPath: directory.path) {
            try requireNoImageOptions(options, directory: directory, format: "an IDX data set")
            let idx = try IDXDataset(directory: directory, limits: options.decompression)
            (format, training, test) = ("IDX", idx.training, idx.test)
            if classNames == nil, directory.standardizedFileURL.path == IDXDataset.fashionMNISTDirectory.path {
                classNames = fashionMNISTClassNames
            }
        } else if let files = try NPYFolder(directory: directory) {
            try requireNoImageOptions(options, directory: directory, format: "a NumPy data set")
            format = "NumPy"
            training = try NPYImageSet(images: files.training.images, labels: files.training.labels)
            validation = try files.validation.map { try NPYImageSet(images: $0.images, labels: $0.labels) }
            test = try files.test.map { try NPYImageSet(images: $0.images, labels: $0.labels) }
        } else {
            guard ImageFolder.looksLikeImageFolder(directory) else {
                throw DataError.unreadable(
                    file: directory.path,
                    reason:
                        "holds no data set Kiln reads: no IDX files (train-images-idx3-ubyte, ...), no .npy files (train_images.npy, ...) and no class folders of PNG or JPEG images"
                )
            }
            let folder = try ImageFolder(
                directory: directory,
                options: ImageFolder.Options(imageSize: options.imageSize, channels: options.channels, limits: options.limits))
            (format, training, validation, test) = ("image folder", folder.training, folder.validation, folder.test)
            if classNames == nil { classNames = folder.classNames }
            let shape = folder.training.imageShape
            notes.append("images read as \(shape[0] == 3 ? "RGB" : "grey") \(shape[2])×\(shape[1]), classes from the folder names")
            if folder.skippedFiles > 0 {
                notes.append("skipped \(folder.skippedFiles) files that are not PNG or JPEG images (by name, or hidden)")
            }
        }
        if test == nil, let validation {
            test = validation
            notes.append("no test set: the validation images are also the test set")
        }
        let finalTest: any LabeledImageSet
        if let test {
            finalTest = test
        } else {
            let split = training.stratifiedSplit(holdingOut: options.testFraction, seed: DatasetOptions.testSeed)
            (training, finalTest) = (split.kept, split.heldOut)
            notes.append(
                "no test set: \(Int((options.testFraction * 100).rounded()))% of each class held out as the test set (\(split.heldOut.count) images)"
            )
        }
        if let fraction = options.validationFraction {
            let split = training.stratifiedSplit(holdingOut: fraction, seed: DatasetOptions.validationSeed)
            (training, validation) = (split.kept, split.heldOut)
            notes.append(
                "validation: \(Int((fraction * 100).rounded()))% of each class of the training set held out (\(split.heldOut.count) images)"
            )
        }
        let dataset = try ImageDataset(
            name: name, training: training, validation: validation, test: finalTest, classCount: classNames?.count, classNames: classNames)
        return OpenedDataset(dataset: dataset, format: format, notes: notes)
    }

    /// The names in `classes.txt` (one per line, in label order), when the folder has one.
    private static func classNamesFile(in directory: URL) throws -> [String]? {
        let url = directory.appendingPathComponent("classes.txt")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw DataError.unreadable(file: url.path, reason: "not UTF-8 text: \((error as NSError).localizedDescription)")
        }
        var names = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        while names.last?.isEmpty == true { names.removeLast() }
        guard !names.isEmpty, !names.contains(where: \.isEmpty) else {
            throw DataError.invalidHeader(file: url.path, reason: "needs one class name per line, in label order, with no blank lines")
        }
        return names
    }

    private static func requireNoImageOptions(_ options: DatasetOptions, directory: URL, format: String) throws {
        guard options.imageSize == nil, options.channels == nil else {
            throw DataError.unreadable(
                file: directory.path,
                reason: "is \(format), whose images have one size and channel count; --image-size and --channels are for image folders")
        }
    }
}

/// The `.npy` files of a NumPy data set folder.
struct NPYFolder {
    typealias Pair = (images: URL, labels: URL)
    let training: Pair
    let validation: Pair?
    let test: Pair?

    /// The split's image and label files: `{split}_images.npy` and `{split}_labels.npy`, or Keras' `x_{split}.npy`
    /// and `y_{split}.npy`, under any of the split's names (`train`/`training`, `val`/`valid`/`validation`,
    /// `test`/`testing`). Nil when the folder has no .npy files; an error when it has some but no training pair.
    init?(directory: URL) throws {
        // File names by their lower-case form, so `X_train.npy` is found as `x_train.npy`.
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).reduce(into: [String: String]()) {
            $0[$1.lowercased()] = $1
        }
        guard files.keys.contains(where: { $0.hasSuffix(".npy") }) else { return nil }
        func pair(_ split: String) -> Pair? {
            let aliases = ImageFolder.splitNames.first { $0.split == split }?.names.sorted() ?? []
            for alias in aliases {
                for (images, labels) in [("\(alias)_images.npy", "\(alias)_labels.npy"), ("x_\(alias).npy", "y_\(alias).npy")] {
                    if let images = files[images], let labels = files[labels] {
                        return (directory.appendingPathComponent(images), directory.appendingPathComponent(labels))
                    }
                }
            }
            return nil
        }
        guard let training = pair("train") else {
            throw DataError.unreadable(
                file: directory.path,
                reason:
                    "has .npy files but no training pair; name them train_images.npy and train_labels.npy (or x_train.npy and y_train.npy), with test_ or val_ for the other splits"
            )
        }
        self.training = training
        validation = pair("val")
        test = pair("test")
    }
}
