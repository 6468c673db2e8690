// CheckpointModel: a Sequential model rebuilt from a checkpoint `kiln train` wrote (or a PyTorch state_dict of the
// same layers), with the training configuration, input normalisation, input shape and classes it stores.
import Foundation
import KilnCore
import KilnData
import KilnNN

/// A Sequential model rebuilt from a checkpoint written by `kiln train` (or a PyTorch state_dict of the same layers).
public enum CheckpointModel {
    /// Metadata keys of what a classifier checkpoint records beside its configuration.
    public static let inputShapeKey = "kiln.input_shape"
    public static let classesKey = "kiln.classes"
    public static let classNamesKey = "kiln.class_names"
    public static let datasetKey = "kiln.dataset"

    /// What a checkpoint says about the classifier: each field nil when the file does not record it (a PyTorch
    /// state_dict, or a checkpoint from before Kiln recorded it).
    public struct Description: Sendable {
        /// `[channels, height, width]` of the images it was trained on.
        public var inputShape: [Int]?
        public var classCount: Int?
        public var classNames: [String]?
        /// The data set it was trained on (`fashion-mnist`, or the folder given to `--dataset`).
        public var dataset: String?
    }

    /// The metadata keys of a classifier's description (what `kiln export` copies into an ONNX file).
    public static let descriptionKeys = [inputShapeKey, classesKey, classNamesKey, datasetKey]

    /// The classifier description stored in `url`'s metadata; a value that is present but malformed is an error
    /// naming the key.
    public static func storedDescription(in url: URL) throws -> Description {
        try description(in: SafeTensorsFile(contentsOf: url).metadata, file: url.path)
    }

    /// The classifier description in `metadata` (a checkpoint's, or an ONNX file's metadata_props that `kiln
    /// export` wrote); `file` names the file in errors.
    public static func description(in metadata: [String: String], file: String) throws -> Description {
        func decode<T: Decodable>(_ key: String, as type: T.Type) throws -> T? {
            guard let text = metadata[key] else { return nil }
            do { return try JSONDecoder().decode(T.self, from: Data(text.utf8)) } catch {
                throw DataError.invalidHeader(file: file, reason: "metadata '\(key)' is '\(text.prefix(80))', not a \(T.self)")
            }
        }
        let description = Description(
            inputShape: try decode(inputShapeKey, as: [Int].self), classCount: try decode(classesKey, as: Int.self),
            classNames: try decode(classNamesKey, as: [String].self), dataset: metadata[datasetKey])
        if let shape = description.inputShape, shape.count != 3 || shape.contains(where: { $0 <= 0 || $0 > 1 << 20 }) {
            throw DataError.invalidHeader(file: file, reason: "metadata '\(inputShapeKey)' is \(shape), not [channels, height, width]")
        }
        if let count = description.classCount, !(1...1 << 20).contains(count) {
            throw DataError.invalidHeader(file: file, reason: "metadata '\(classesKey)' is \(count), not a class count")
        }
        if let names = description.classNames, names.count != description.classCount ?? names.count {
            throw DataError.invalidHeader(file: file, reason: "\(names.count) class names for \(description.classCount ?? 0) classes")
        }
        return description
    }

    /// The training configuration a Kiln checkpoint stores; nil for other safetensors files (a PyTorch
    /// state_dict). A stored configuration without a normalisation predates it: its inputs were in [0, 1].
    public static func storedConfiguration(in url: URL) throws -> TrainingConfiguration? {
        guard let text = try SafeTensorsFile(contentsOf: url).metadata["kiln.configuration"] else { return nil }
        guard var configuration = try? JSONDecoder().decode(TrainingConfiguration.self, from: Data(text.utf8)) else {
            throw DataError.invalidHeader(file: url.path, reason: "its kiln.configuration metadata is not a training configuration")
        }
        if configuration.normalization == nil { configuration.normalization = .unit }
        return configuration
    }

    /// Builds the layer list `model` names (default: the one stored in a Kiln checkpoint's configuration, else `cnn`)
    /// for images of `inputShape` (`[C, H, W]`) and loads the checkpoint's weights into it. `normalization` is
    /// the one its training used, nil when the file does not say (a PyTorch state_dict).
    /// A preset (`cnn`, `mlp`) ends in the checkpoint's class count (10 when it does not record one).
    public static func load(from url: URL, model: String? = nil, inputShape: [Int], on device: Device) throws -> (
        model: Sequential, spec: String, normalization: PixelNormalization?
    ) {
        let stored = try storedConfiguration(in: url)
        let spec = model ?? stored?.model ?? "cnn"
        var random = RandomSource(seed: 0)
        let classes = try storedDescription(in: url).classCount ?? 10
        let built = try ModelSpec(spec, classes: classes).build(inputShape: inputShape, random: &random, on: device)
        try Checkpoint.load(from: url, model: built.state)
        return (built, spec, stored?.normalization)
    }
}
