// Checkpoint: a model's parameters and buffers under PyTorch's state_dict names, optionally the
// optimizer's state (prefixed `optimizer.`), and training metadata, in one safetensors file written
// atomically.
import Foundation
import KilnCore

public enum Checkpoint {
    /// The prefix of optimizer-state names, so a model-only reader (PyTorch's `load_state_dict`
    /// with `strict=False`, or `kiln eval`) can skip them.
    public static let optimizerPrefix = "optimizer."

    /// Writes `model` (and `optimizer` state) with `metadata` to `url` atomically.
    public static func save(
        model: [(name: String, variable: Variable)], optimizer: [(name: String, variable: Variable)] = [],
        metadata: [String: String] = [:], to url: URL
    ) throws {
        let arrays = try model.map { try array($0.name, $0.variable) } + optimizer.map { try array(optimizerPrefix + $0.name, $0.variable) }
        try SafeTensorsFile(arrays: arrays, metadata: metadata).write(to: url)
    }

    /// Loads `url` into `model` (and `optimizer`, when given) and returns its metadata. Every variable must be
    /// present with its exact shape; extra tensors (an optimizer state when only the model is loaded) are ignored.
    @discardableResult
    public static func load(
        from url: URL, model: [(name: String, variable: Variable)], optimizer: [(name: String, variable: Variable)]? = nil
    ) throws -> [String: String] {
        try load(SafeTensorsFile(contentsOf: url), path: url.path, model: model, optimizer: optimizer)
    }

    /// Loads an already read checkpoint `file` (from `path`, named in errors) as `load(from:model:optimizer:)` does.
    @discardableResult
    public static func load(
        _ file: SafeTensorsFile, path: String, model: [(name: String, variable: Variable)],
        optimizer: [(name: String, variable: Variable)]? = nil
    ) throws -> [String: String] {
        let targets = model + (optimizer ?? []).map { (optimizerPrefix + $0.name, $0.variable) }
        // Read everything before writing anything, so a bad file leaves the model untouched.
        let arrays = try targets.map { try file.array($0.name, shape: $0.variable.shape.dimensions, file: path) }
        for (array, target) in zip(arrays, targets) { try target.variable.load(array.values) }
        return file.metadata
    }

    private static func array(_ name: String, _ variable: Variable) throws -> NamedArray {
        NamedArray(name: name, shape: variable.shape.dimensions, values: try variable.value.floats())
    }
}
