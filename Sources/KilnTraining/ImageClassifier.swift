// ImageClassifier: a trained checkpoint (or an imported ONNX model) classifying image files (what `kiln predict`
// calls): each PNG or JPEG converted to the model's channels and size as the training images were (BT.601 grey,
// Pillow's bilinear resize), normalised as its training was, and the top classes with their softmax probabilities
// and names.
import Foundation
import KilnCore
import KilnData
import KilnNN

/// One image's most likely classes.
public struct Prediction: Codable, Equatable, Sendable {
    /// A class and its probability.
    public struct Candidate: Codable, Equatable, Sendable {
        /// The label, from 0.
        public var label: Int
        /// The class name when the checkpoint has names, else the label as text.
        public var name: String
        public var probability: Double
    }

    public var file: String
    /// The most likely classes, most likely first (the first of equal ones first, as the evaluation's argmax).
    public var top: [Candidate]
}

/// A classifier loaded from a checkpoint (or given as a layer: an imported ONNX model), for classifying images.
public final class ImageClassifier {
    public let model: any Layer
    /// The layer string the model was built from (or the file it came from).
    public let spec: String
    /// `[channels, height, width]` every image is converted to.
    public let inputShape: [Int]
    public let classCount: Int
    public let classNames: [String]?
    public let normalization: PixelNormalization
    public let device: Device
    private let evaluation: Evaluation

    /// Loads a checkpoint `kiln train` wrote: its layer string (or `model`), input shape, classes and
    /// normalisation (or `normalization`, which a PyTorch state_dict, recording none, needs). A checkpoint from
    /// before Kiln recorded the input shape is taken as a 28×28 grey model.
    public convenience init(checkpoint url: URL, model: String? = nil, normalization: PixelNormalization? = nil, on device: Device) throws {
        let description = try CheckpointModel.storedDescription(in: url)
        let inputShape = description.inputShape ?? [1, 28, 28]
        let loaded = try CheckpointModel.load(from: url, model: model, inputShape: inputShape, on: device)
        guard let normalization = normalization ?? loaded.normalization else {
            throw DataError.invalidHeader(
                file: url.path,
                reason: "records no input normalisation (a PyTorch state_dict?); say which the model was trained with (--normalize unit)")
        }
        try self.init(
            model: loaded.model, spec: loaded.spec, inputShape: inputShape, description: description, normalization: normalization,
            source: url.path, on: device)
    }

    /// `model` (for instance an imported ONNX graph) classifying images of `inputShape` (`[C, H, W]`) normalised by
    /// `normalization`; `description` gives the class names (Fashion-MNIST's when it names that data set and the
    /// model has 10 outputs) and `source` names the model's file in errors.
    public init(
        model: any Layer, spec: String, inputShape: [Int], description: CheckpointModel.Description, normalization: PixelNormalization,
        source: String, on device: Device
    ) throws {
        // Builds the graph only (shapes are checked as it grows); nothing runs.
        let output = try model.forward(Tensor.zeros(Shape([1] + inputShape), on: device), context: ForwardContext(training: false))
            .shape.dimensions
        guard output.count == 2 else {
            throw TrainingError.modelDoesNotFitClasses(model: spec, output: output, classes: description.classCount ?? 0, dataset: source)
        }
        self.model = model
        self.spec = spec
        self.inputShape = inputShape
        classCount = output[1]
        let fashion = (description.dataset ?? "").lowercased() == "fashion-mnist" && classCount == 10
        classNames = description.classNames ?? (fashion ? ImageDataset.fashionMNISTClassNames : nil)
        self.normalization = normalization
        self.device = device
        evaluation = Evaluation(model: model)
    }

    /// The model's inputs for `image`: converted to the input's channels and size, then normalised.
    public func inputs(for image: RasterImage) -> [Float] {
        let table = (0...255).map { normalization.apply(Float($0) / 255) }
        return image.fitted(channels: inputShape[0], height: inputShape[1], width: inputShape[2]).planarPixels.map { table[Int($0)] }
    }

    /// The class probabilities (softmax of the logits, in Double) of each image.
    public func probabilities(_ images: [RasterImage]) throws -> [[Double]] {
        try logits(images).map(Self.softmax)
    }

    /// `exp(l − max) / Σ exp(l − max)` in Double.
    static func softmax(_ logits: [Float]) -> [Double] {
        let top = Double(logits.max() ?? 0)
        let exponentials = logits.map { Foundation.exp(Double($0) - top) }
        let sum = exponentials.reduce(0, +)
        return exponentials.map { $0 / sum }
    }

    /// The `top` most likely classes of each image file (PNG or JPEG), read and classified in batches of 256.
    public func classify(files: [URL], top: Int = 5) throws -> [Prediction] {
        var predictions: [Prediction] = []
        for start in stride(from: 0, to: files.count, by: 256) {
            let batch = Array(files[start..<min(start + 256, files.count)])
            let images = try batch.map { try ImageFile.decode(contentsOf: $0) }
            for (file, row) in zip(batch, try logits(images)) {
                let probabilities = Self.softmax(row)
                // Ranked by logit, the first of equal ones first: the order the evaluation's argmax uses.
                let ranked = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }
                let candidates = ranked.prefix(max(top, 1)).map {
                    Prediction.Candidate(label: $0, name: classNames?[$0] ?? "\($0)", probability: probabilities[$0])
                }
                predictions.append(Prediction(file: file.path, top: candidates))
            }
        }
        return predictions
    }

    /// The model's logits for `images`, one row per image.
    private func logits(_ images: [RasterImage]) throws -> [[Float]] {
        guard !images.isEmpty else { return [] }
        let inputs = images.flatMap(inputs(for:))
        let output = try evaluation(inputs: inputs, shape: Shape([images.count] + inputShape), on: device)
        return (0..<images.count).map { Array(output[$0 * classCount..<($0 + 1) * classCount]) }
    }
}
