// `kiln features`: pictures of a trained CNN's first-layer kernels and of the feature maps each convolution
// produces for one test image.
import ArgumentParser
import Foundation
import Kiln
import KilnExamples

struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Write PNGs of a CNN's first-layer kernels and of its feature maps for one test image.",
        discussion: """
            --out gets image.png (test image N), kernels-conv1.png (the first convolution's kernels, each scaled to its \
            own range), and for each convolution k conv{k}.png (its output maps, before the activation) and \
            conv{k}-relu.png (after the ReLU that follows it). Each map is scaled to its own range.
            """
    )

    @Option(help: "A checkpoint from `kiln train` (or a PyTorch state_dict of the same layers, saved as safetensors).")
    var checkpoint: String
    // Unconditional, so `--index -1` reaches validate() and gets its message rather than "missing value".
    @Option(parsing: .unconditional, help: "The test image to show (from 0).")
    var index: Int
    @Option(help: "The layer list: cnn or a layer string (default: the one stored in the checkpoint, else cnn).")
    var model: String?
    @OptionGroup var common: CommonOptions
    @Option(help: "Folder for the PNGs.")
    var out = "kiln-features"

    func validate() throws {
        guard index >= 0 else { throw ValidationError("--index must be 0 or more, got \(index)") }
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            throw ValidationError("--checkpoint \(checkpoint): no such file; train one with `kiln train --model cnn --out DIR`")
        }
    }

    func run() throws {
        let device = try common.openDevice()
        let dataset = try common.loadDataset()
        let test = dataset.test
        let image = try FeatureMaps.image(index, of: test)
        let inputShape = [1, test.rows, test.columns]
        let loaded = try CheckpointModel.load(from: URL(fileURLWithPath: checkpoint), model: model, inputShape: inputShape, on: device)
        let pictures = try FeatureMaps.write(
            model: loaded.model, image: image, inputShape: inputShape,
            normalization: loaded.normalization ?? .standardizing(dataset.training), to: URL(fileURLWithPath: out), on: device)
        print("model \(loaded.spec) on \(device); test image \(index) (class \(test.labels[index]))")
        for picture in pictures { print("\(picture.file.path): \(picture.caption)") }
    }
}
