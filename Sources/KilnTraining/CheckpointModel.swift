// CheckpointModel: a Sequential model rebuilt from a checkpoint `kiln train` wrote (or a PyTorch state_dict of the
// same layers), with the training configuration and input normalisation it stores.
import Foundation
import KilnCore
import KilnData
import KilnNN

/// A Sequential model rebuilt from a checkpoint written by `kiln train` (or a PyTorch state_dict of the same layers).
public enum CheckpointModel {
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
    public static func load(from url: URL, model: String? = nil, inputShape: [Int], on device: Device) throws -> (
        model: Sequential, spec: String, normalization: PixelNormalization?
    ) {
        let stored = try storedConfiguration(in: url)
        let spec = model ?? stored?.model ?? "cnn"
        var random = RandomSource(seed: 0)
        let built = try ModelSpec(spec).build(inputShape: inputShape, random: &random, on: device)
        try Checkpoint.load(from: url, model: built.state)
        return (built, spec, stored?.normalization)
    }
}
