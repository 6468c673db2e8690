// `kiln export`: a checkpoint's model as an ONNX file (inference form), with what the checkpoint records about
// its inputs and classes (normalisation, image shape, class names, data set) in the file's metadata.
import ArgumentParser
import Foundation
import Kiln
import KilnExamples
import KilnONNX

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint's model as an ONNX file (opset \(ONNXExport.opset)) for ONNX Runtime and other tools.",
        discussion: """
            The model runs in inference form: batch norm with its running statistics, dropout as the identity. \
            The graph's input is [N, C, H, W] with a free batch size N and takes normalised pixels, as Kiln's model \
            does; the normalisation a Kiln checkpoint stores goes into the file's metadata \
            (kiln.normalization.mean, kiln.normalization.standard_deviation), with its image shape, classes and data \
            set (kiln.input_shape, kiln.classes, kiln.class_names, kiln.dataset) for kiln eval and kiln predict.
            """
    )

    @Option(help: "A checkpoint from `kiln train` (or a PyTorch state_dict of the same layers, saved as safetensors).")
    var checkpoint: String
    @Option(help: "The ONNX file to write.")
    var onnx: String
    @Option(help: "The layer list: cnn, mlp or a layer string (default: the one stored in the checkpoint, else cnn).")
    var model: String?
    @Option(help: "One image's shape C,H,W (default: the one the checkpoint records, else 1,28,28: Fashion-MNIST).")
    var inputShape: String?

    /// `--input-shape` as numbers; nil when it is malformed.
    var imageShape: [Int]? {
        guard let inputShape else { return nil }
        let parts = inputShape.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, parts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return parts.compactMap { $0 }
    }

    func validate() throws {
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            throw ValidationError("--checkpoint \(checkpoint): no such file; train one with `kiln train --model cnn --out DIR`")
        }
        if let inputShape, imageShape == nil {
            throw ValidationError("--input-shape \(inputShape): expected three positive numbers C,H,W")
        }
    }

    func run() throws {
        let device = try Device.named("cpu")
        let url = URL(fileURLWithPath: checkpoint)
        let stored = try SafeTensorsFile(contentsOf: url).metadata
        if let other = stored[CharacterLanguageModel.modelKey] {
            throw ValidationError(
                "--checkpoint \(checkpoint): a \(other) checkpoint (kiln train --text); kiln export writes the image classifiers "
                    + "that layer strings build, not the character language model")
        }
        // Read (and checked) before anything is written.
        let description = try CheckpointModel.storedDescription(in: url)
        let shape = imageShape ?? description.inputShape ?? [1, 28, 28]
        let loaded = try CheckpointModel.load(from: url, model: model, inputShape: shape, on: device)
        // What the checkpoint records about its classes and data set, with the input shape exported.
        var metadata = stored.filter { CheckpointModel.descriptionKeys.contains($0.key) }
        metadata[CheckpointModel.inputShapeKey] = "\(shape)"
        metadata.merge(loaded.normalization.map(ONNXModel.metadata(for:)) ?? [:]) { $1 }
        try ONNXExport.write(loaded.model, inputShape: [nil] + shape, metadata: metadata, on: device, to: URL(fileURLWithPath: onnx))
        print("model \(loaded.spec) -> \(onnx) (opset \(ONNXExport.opset), input [N, \(shape.map(String.init).joined(separator: ", "))])")
        print(
            loaded.normalization.map { "inputs: \($0.summary), recorded in the file's metadata" }
                ?? "inputs: the checkpoint records no normalisation (a PyTorch state_dict); none recorded")
    }
}
