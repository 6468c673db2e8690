// `kiln export`: a checkpoint's model as an ONNX file (inference form), with the input normalisation the
// checkpoint records in the file's metadata.
import ArgumentParser
import Foundation
import Kiln
import KilnONNX

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint's model as an ONNX file (opset \(ONNXExport.opset)) for ONNX Runtime and other tools.",
        discussion: """
            The model runs in inference form: batch norm with its running statistics, dropout as the identity. \
            The graph's input is [N, C, H, W] with a free batch size N and takes normalised pixels, as Kiln's model \
            does; the normalisation a Kiln checkpoint stores goes into the file's metadata \
            (kiln.normalization.mean, kiln.normalization.standard_deviation).
            """
    )

    @Option(help: "A checkpoint from `kiln train` (or a PyTorch state_dict of the same layers, saved as safetensors).")
    var checkpoint: String
    @Option(help: "The ONNX file to write.")
    var onnx: String
    @Option(help: "The layer list: cnn, mlp or a layer string (default: the one stored in the checkpoint, else cnn).")
    var model: String?
    @Option(help: "One image's shape C,H,W (default 1,28,28: Fashion-MNIST).")
    var inputShape = "1,28,28"

    var imageShape: [Int]? {
        let parts = inputShape.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, parts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return parts.compactMap { $0 }
    }

    func validate() throws {
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            throw ValidationError("--checkpoint \(checkpoint): no such file; train one with `kiln train --model cnn --out DIR`")
        }
        guard imageShape != nil else { throw ValidationError("--input-shape \(inputShape): expected three positive numbers C,H,W") }
    }

    func run() throws {
        let device = try Device.named("cpu")
        let shape = imageShape ?? [1, 28, 28]
        let loaded = try CheckpointModel.load(from: URL(fileURLWithPath: checkpoint), model: model, inputShape: shape, on: device)
        let metadata = loaded.normalization.map(ONNXModel.metadata(for:)) ?? [:]
        try ONNXExport.write(loaded.model, inputShape: [nil] + shape, metadata: metadata, on: device, to: URL(fileURLWithPath: onnx))
        print("model \(loaded.spec) -> \(onnx) (opset \(ONNXExport.opset), input [N, \(shape.map(String.init).joined(separator: ", "))])")
        print(
            loaded.normalization.map { "inputs: \($0.summary), recorded in the file's metadata" }
                ?? "inputs: the checkpoint records no normalisation (a PyTorch state_dict); none recorded")
    }
}
