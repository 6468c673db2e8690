// `kiln eval`: accuracy, loss and the confusion matrix of a checkpoint on a test set.
import ArgumentParser
import Foundation
import Kiln

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint (Kiln's, or a PyTorch state_dict saved as safetensors) on the test set."
    )

    @Option(help: "The safetensors file to evaluate.")
    var checkpoint: String
    @Option(help: "The layer list the checkpoint belongs to: cnn, mlp or a layer string (default: the one stored in a Kiln checkpoint, else cnn).")
    var model: String?
    @Option(help: "Inputs: standard or unit, as in train (default: what a Kiln checkpoint stored, else standard).")
    var normalize: NormalizeOption?
    @OptionGroup var common: CommonOptions
    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        try common.validateDataset()
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            throw ValidationError("--checkpoint: no file \(checkpoint)")
        }
    }

    func run() throws {
        let url = URL(fileURLWithPath: checkpoint)
        var configuration = try CheckpointModel.storedConfiguration(in: url) ?? TrainingConfiguration()
        if let model { configuration.model = model }
        if let normalize { configuration.normalization = normalize.normalization }
        let trainer = try Trainer(configuration: configuration, data: common.loadImageDataset(), device: common.openDevice())
        try trainer.loadWeights(from: url)
        if let diverged = try SafeTensorsFile(contentsOf: url).nonFiniteError(file: url.path) {
            FileHandle.standardError.write(Data("warning: \(diverged); the figures below mean nothing\n".utf8))
        }
        let report = try trainer.evaluate(trainer.data.test)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("model \(configuration.model) on \(trainer.device), \(trainer.normalization.summary)")
        print(String(format: "test accuracy %.2f%%  test loss %.4f  (%d images)", report.accuracy * 100, report.loss, trainer.data.test.count))
        print("confusion matrix (rows: true class, columns: predicted):")
        for (label, row) in report.confusion.enumerated() {
            print(String(format: "%2d ", label) + row.map { String(format: "%5d", $0) }.joined())
        }
    }
}
