// `kiln predict`: the most likely classes of PNG or JPEG images under a trained checkpoint, with their
// probabilities and class names (`ImageClassifier` does the work).
import ArgumentParser
import Foundation
import Kiln

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify PNG or JPEG images with a trained checkpoint: the top classes, their probabilities and names.",
        discussion: """
            Each image is converted to the model's input as the training images were: grey from colour by ITU-R \
            BT.601 luma (Pillow's convert("L")), colour from grey by repeating it, resized with Pillow's antialiased \
            bilinear filter (torchvision's Resize), then normalised as the checkpoint records.
            """
    )

    @Option(help: "The checkpoint (checkpoint.safetensors or best.safetensors of a kiln train run).")
    var checkpoint: String
    @Argument(help: "PNG or JPEG files.")
    var images: [String]
    @Option(help: "How many classes to show for each image.")
    var top = 3
    @Option(help: "The layer list, for a checkpoint that does not record one (a PyTorch state_dict): cnn, mlp or a layer string.")
    var model: String?
    @Option(help: "Inputs, for a checkpoint that does not record them (a PyTorch state_dict): unit (pixels / 255).")
    var normalize: NormalizeOption?
    @Option(help: "cpu, opencl, opencl:N or opencl:NAME (default: $KILN_DEVICE, else opencl).")
    var device: String?
    @Flag(help: "Print a JSON array: for each image its file and top classes (label, name, probability).")
    var json = false

    func validate() throws {
        guard top > 0 else { throw ValidationError("--top must be positive, got \(top)") }
        guard !images.isEmpty else { throw ValidationError("give one or more PNG or JPEG files to classify") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: checkpoint, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw ValidationError("--checkpoint: no file \(checkpoint)")
        }
        if normalize == .standard {
            throw ValidationError("--normalize standard needs the training set's statistics; predict takes them from a Kiln checkpoint")
        }
    }

    func run() throws {
        let device = try device.map(Device.named) ?? Device.fromEnvironment()
        let classifier = try ImageClassifier(
            checkpoint: URL(fileURLWithPath: checkpoint), model: model, normalization: normalize?.normalization, on: device)
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
}
