// `kiln eval`: accuracy, loss and the confusion matrix of a checkpoint (or an ONNX model) on a test set.
import ArgumentParser
import Foundation
import Kiln
import KilnONNX

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint (Kiln's, or a PyTorch state_dict saved as safetensors) or an ONNX model on the test set."
    )

    @Option(help: "The safetensors file to evaluate.")
    var checkpoint: String?
    @Option(help: "An ONNX model to evaluate instead (one input [N, C, H, W], logits first; see kiln export).")
    var onnx: String?
    @Option(
        help:
            "The layer list the checkpoint belongs to: cnn, mlp or a layer string (default: the one stored in a Kiln checkpoint, else cnn)."
    )
    var model: String?
    @Option(help: "Inputs: standard or unit, as in train (default: what a Kiln checkpoint stored, else standard).")
    var normalize: NormalizeOption?
    @OptionGroup var common: CommonOptions
    @OptionGroup var dataOptions: DataSetOptions
    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        // Without --dataset, the data set the checkpoint records (checked when it is opened).
        if common.dataset != nil { try common.validateDataset() }
        guard (checkpoint == nil) != (onnx == nil) else { throw ValidationError("give one of --checkpoint and --onnx") }
        for (option, path) in [("--checkpoint", checkpoint), ("--onnx", onnx)] {
            if let path, !FileManager.default.fileExists(atPath: path) { throw ValidationError("\(option): no file \(path)") }
        }
        if onnx != nil, model != nil { throw ValidationError("--model describes a checkpoint's layers; an ONNX file holds its own graph") }
    }

    func run() throws {
        let trainer: Trainer
        var configuration: TrainingConfiguration
        if let onnx {
            // The ONNX graph as a layer; its normalisation from the file's metadata unless --normalize says otherwise.
            let imported = try ONNXModel(contentsOf: URL(fileURLWithPath: onnx))
            configuration = TrainingConfiguration()
            configuration.model = onnx
            configuration.normalization = normalize.map(\.normalization) ?? imported.normalization
            // Without --dataset, the data set a Kiln export records.
            let recorded = try CheckpointModel.description(in: imported.metadata, file: onnx).dataset
            let data = try common.loadImageDataset(
                dataOptions.selection(dataset: common.dataset ?? recorded ?? "fashion-mnist", stored: nil), quiet: json)
            trainer = try Trainer(model: ONNXLayer(imported), configuration: configuration, data: data, device: common.openDevice())
        } else {
            let url = URL(fileURLWithPath: checkpoint ?? "")
            let stored = try CheckpointModel.storedConfiguration(in: url)
            configuration = stored ?? TrainingConfiguration()
            if let model { configuration.model = model }
            if let normalize { configuration.normalization = normalize.normalization }
            let dataset = common.dataset ?? stored?.data?.dataset ?? "fashion-mnist"
            let data = try common.loadImageDataset(dataOptions.selection(dataset: dataset, stored: stored?.data), quiet: json)
            trainer = try Trainer(configuration: configuration, data: data, device: common.openDevice())
            try trainer.loadWeights(from: url)
            if let diverged = try SafeTensorsFile(contentsOf: url).nonFiniteError(file: url.path) {
                FileHandle.standardError.write(Data("warning: \(diverged); the figures below mean nothing\n".utf8))
            }
        }
        let data = trainer.data
        let report = try trainer.evaluate(data.test)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("model \(configuration.model) on \(trainer.device), \(trainer.normalization.summary)")
        print(
            String(
                format: "test accuracy %.2f%%  test loss %.4f  (%d images of %@)", report.accuracy * 100, report.loss, data.test.count,
                data.name))
        print("confusion matrix (rows: true class, columns: predicted):")
        let width = max(5, String(report.confusion.joined().max() ?? 0).count + 2)
        for (label, row) in report.confusion.enumerated() {
            let name = data.classNames.map { " " + $0[label] } ?? ""
            print(
                String(format: "%2d ", label)
                    + row.map { String(repeating: " ", count: max(0, width - String($0).count)) + String($0) }.joined() + name)
        }
    }
}
