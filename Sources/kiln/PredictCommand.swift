// `kiln predict`: the most likely classes of PNG or JPEG images under a trained checkpoint or an ONNX model, with
// their probabilities and class names (`ImageClassifier` does the work).
import ArgumentParser
import Foundation
import Kiln
import KilnONNX

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify PNG or JPEG images with a trained checkpoint or an ONNX model: the top classes, their probabilities and names.",
        discussion: """
            Each image is converted to the model's input as the training images were: grey from colour by ITU-R \
            BT.601 luma (Pillow's convert("L")), colour from grey by repeating it, resized with Pillow's antialiased \
            bilinear filter (torchvision's Resize), then normalised as the checkpoint records.
            """
    )

    @Option(help: "The checkpoint (checkpoint.safetensors or best.safetensors of a kiln train run).")
    var checkpoint: String?
    @Option(help: "An ONNX model to classify with instead (one input [N, C, H, W], logits first; see kiln export).")
    var onnx: String?
    @Argument(help: "PNG or JPEG files.")
    var images: [String]
    @Option(help: "How many classes to show for each image.")
    var top = 3
    @Option(help: "The layer list, for a checkpoint that does not record one (a PyTorch state_dict): cnn, mlp or a layer string.")
    var model: String?
    @Option(help: "Inputs, for a model that does not record them (a PyTorch state_dict, another tool's ONNX file): unit (pixels / 255).")
    var normalize: NormalizeOption?
    @Option(help: "cpu, opencl, opencl:N or opencl:NAME (default: $KILN_DEVICE, else opencl).")
    var device: String?
    @Flag(help: "Print a JSON array: for each image its file and top classes (label, name, probability).")
    var json = false

    func validate() throws {
        guard top > 0 else { throw ValidationError("--top must be positive, got \(top)") }
        guard !images.isEmpty else { throw ValidationError("give one or more PNG or JPEG files to classify") }
        guard (checkpoint == nil) != (onnx == nil) else { throw ValidationError("give one of --checkpoint and --onnx") }
        for (option, path) in [("--checkpoint", checkpoint), ("--onnx", onnx)] {
            var isDirectory: ObjCBool = false
            if let path, !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) || isDirectory.boolValue {
                throw ValidationError("\(option): no file \(path)")
            }
        }
        if onnx != nil, model != nil { throw ValidationError("--model describes a checkpoint's layers; an ONNX file holds its own graph") }
        if normalize == .standard {
            throw ValidationError("--normalize standard needs the training set's statistics; predict takes them from a Kiln checkpoint")
        }
    }

    func run() throws {
        let device = try device.map(Device.named) ?? Device.fromEnvironment()
        let classifier =
            try onnx.map { try onnxClassifier($0, on: device) }
            ?? ImageClassifier(
                checkpoint: URL(fileURLWithPath: checkpoint ?? ""), model: model, normalization: normalize?.normalization, on: device)
        var predictions = try classifier.classify(files: images.map { URL(fileURLWithPath: $0) }, top: top)
        // Each file as the user named it (relative paths stay relative).
        for index in predictions.indices { predictions[index].file = images[index] }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(predictions), as: UTF8.self))
            return
        }
        for prediction in predictions {
            let classes = prediction.top.map { String(format: "%@ %.2f%%", $0.name, $0.probability * 100) }
            print("\(prediction.file): \(classes.joined(separator: ", "))")
        }
    }

    /// The ONNX model at `path` as a classifier of images of its input's `[C, H, W]`, with the normalisation and
    /// classes its metadata records (`kiln export` writes them).
    func onnxClassifier(_ path: String, on device: Device) throws -> ImageClassifier {
        let imported = try ONNXModel(contentsOf: URL(fileURLWithPath: path))
        let layer = try ONNXLayer(imported)
        let dimensions = imported.inputs[0].dimensions
        let imageShape = dimensions.dropFirst().compactMap { $0 }
        guard dimensions.count == 4, imageShape.count == 3 else {
            throw ValidationError(
                "--onnx \(path): its input \(imported.inputs[0]) is not [N, C, H, W] with a known C, H and W; predict classifies images")
        }
        guard let normalization = normalize?.normalization ?? imported.normalization else {
            throw ValidationError(
                "--onnx \(path): the file records no input normalisation (not written by kiln export?); say which the model takes (--normalize unit)"
            )
        }
        return try ImageClassifier(
            model: layer, spec: path, inputShape: imageShape, description: CheckpointModel.description(in: imported.metadata, file: path),
            normalization: normalization, source: path, on: device)
    }
}
