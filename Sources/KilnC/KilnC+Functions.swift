// swift-format-ignore-file: AlwaysUseLowerCamelCase
// (Lower camel case does not fit the C names kiln.h declares.)

// The functions kiln.h declares, exported with their C names. Each checks its arguments, takes the device's
// lock, and runs in `guarded`, so failures become status codes and messages.
import Foundation
import Kiln
import KilnONNX

/// The version kiln_version() reports.
let kilnVersion = CString("0.1.0")

@_cdecl("kiln_abi_version")
public func kiln_abi_version() -> Int32 { 1 }

@_cdecl("kiln_version")
public func kiln_version() -> UnsafePointer<CChar> { UnsafePointer(kilnVersion.pointer) }

@_cdecl("kiln_last_error")
public func kiln_last_error() -> UnsafePointer<CChar> { LastError.pointer }

private let statusNames = CStatus.allCases.map { CString($0.name) }
private let unknownStatusName = CString("KILN_UNKNOWN_STATUS")

@_cdecl("kiln_status_name")
public func kiln_status_name(_ status: Int32) -> UnsafePointer<CChar> {
    UnsafePointer((CStatus(rawValue: status).map { statusNames[Int($0.rawValue)] } ?? unknownStatusName).pointer)
}

// MARK: Devices

@_cdecl("kiln_device_open")
public func kiln_device_open(_ name: UnsafePointer<CChar>?, _ device: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    guarded("kiln_device_open") {
        let name = try string(name, "name")
        let out = try required(device, "device")
        out.pointee = HandleRegistry.register(DeviceHandle(device: try Device.named(name)))
    }
}

@_cdecl("kiln_device_description")
public func kiln_device_description(_ device: OpaquePointer?, _ description: UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32 {
    guarded("kiln_device_description") {
        let handle = try HandleRegistry.lookup(device, as: DeviceHandle.self, "device")
        try required(description, "description").pointee = UnsafePointer(handle.label.pointer)
    }
}

@_cdecl("kiln_device_destroy")
public func kiln_device_destroy(_ device: OpaquePointer?) -> Int32 {
    guarded("kiln_device_destroy") { try HandleRegistry.release(device, as: DeviceHandle.self, "device") }
}

// MARK: Models

/// One example's shape from C, `[1, 28, 28]` when NULL with rank 0.
private func sampleShape(_ dims: UnsafePointer<Int64>?, _ rank: Int) throws -> [Int] {
    dims == nil && rank == 0 ? [1, 28, 28] : try shape(dims, rank: rank, "sample_shape").dimensions
}

/// Registers a model built on `device` and writes its handle to `model`.
private func makeModel(
    _ device: OpaquePointer?, _ model: UnsafeMutablePointer<OpaquePointer?>?, _ build: (DeviceHandle) throws -> ModelHandle
) throws {
    let handle = try HandleRegistry.lookup(device, as: DeviceHandle.self, "device")
    let out = try required(model, "model")
    let built = try handle.locked { try build(handle) }
    out.pointee = HandleRegistry.register(built)
}

/// A readable file at `path`, or a file error naming it.
private func existingFile(_ path: UnsafePointer<CChar>?) throws -> URL {
    let path = try string(path, "path")
    guard FileManager.default.isReadableFile(atPath: path) else { throw CAPIError(.file, "\(path): no such readable file") }
    return URL(fileURLWithPath: path)
}

@_cdecl("kiln_model_load_checkpoint")
public func kiln_model_load_checkpoint(
    _ device: OpaquePointer?, _ path: UnsafePointer<CChar>?, _ sample: UnsafePointer<Int64>?, _ sampleRank: Int,
    _ model: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guarded("kiln_model_load_checkpoint") {
        let url = try existingFile(path)
        // Without a sample shape, the image shape the checkpoint records.
        let recorded = sample == nil && sampleRank == 0 ? try CheckpointModel.storedDescription(in: url).inputShape : nil
        let sample = try recorded ?? sampleShape(sample, sampleRank)
        try makeModel(device, model) { handle in
            let loaded = try CheckpointModel.load(from: url, inputShape: sample, on: handle.device)
            var configuration = try CheckpointModel.storedConfiguration(in: url) ?? TrainingConfiguration()
            configuration.model = loaded.spec
            let kiln = KilnModel(model: loaded.model, configuration: configuration, sampleShape: sample, on: handle.device)
            return try ModelHandle(device: handle, kiln: kiln, normalization: loaded.normalization)
        }
    }
}

@_cdecl("kiln_model_load_state_dict")
public func kiln_model_load_state_dict(
    _ device: OpaquePointer?, _ layers: UnsafePointer<CChar>?, _ sample: UnsafePointer<Int64>?, _ sampleRank: Int,
    _ path: UnsafePointer<CChar>?, _ model: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guarded("kiln_model_load_state_dict") {
        let layers = try string(layers, "layers")
        let url = try existingFile(path)
        let sample = try sampleShape(sample, sampleRank)
        try makeModel(device, model) { handle in
            let loaded = try CheckpointModel.load(from: url, model: layers, inputShape: sample, on: handle.device)
            var configuration = TrainingConfiguration()
            configuration.model = loaded.spec
            let kiln = KilnModel(model: loaded.model, configuration: configuration, sampleShape: sample, on: handle.device)
            return try ModelHandle(device: handle, kiln: kiln, normalization: nil)
        }
    }
}

@_cdecl("kiln_model_create")
public func kiln_model_create(
    _ device: OpaquePointer?, _ layers: UnsafePointer<CChar>?, _ sample: UnsafePointer<Int64>?, _ sampleRank: Int, _ seed: UInt64,
    _ model: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guarded("kiln_model_create") {
        let layers = try string(layers, "layers")
        let sample = try sampleShape(sample, sampleRank)
        try makeModel(device, model) { handle in
            var random = RandomSource(seed: seed)
            var configuration = TrainingConfiguration()
            configuration.model = layers
            configuration.seed = seed
            let built = try ModelSpec(layers).build(inputShape: sample, random: &random, on: handle.device)
            let kiln = KilnModel(model: built, configuration: configuration, sampleShape: sample, on: handle.device)
            return try ModelHandle(device: handle, kiln: kiln, normalization: nil)
        }
    }
}

@_cdecl("kiln_model_load_onnx")
public func kiln_model_load_onnx(
    _ device: OpaquePointer?, _ path: UnsafePointer<CChar>?, _ model: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guarded("kiln_model_load_onnx") {
        let url = try existingFile(path)
        try makeModel(device, model) { handle in
            ModelHandle(device: handle, onnx: try ONNXInference(contentsOf: url, device: handle.device))
        }
    }
}

@_cdecl("kiln_model_destroy")
public func kiln_model_destroy(_ model: OpaquePointer?) -> Int32 {
    guarded("kiln_model_destroy") {
        guard let model else { return }
        // Plans and buffers are released under the device's lock, as they were made.
        let handle = try HandleRegistry.lookup(model, as: ModelHandle.self, "model")
        try handle.deviceHandle.locked { try HandleRegistry.release(model, as: ModelHandle.self, "model") }
    }
}

// MARK: Descriptions

private func count(_ model: OpaquePointer?, _ count: UnsafeMutablePointer<Int>?, _ list: (ModelHandle) -> [CValueDescription]) throws {
    let handle = try HandleRegistry.lookup(model, as: ModelHandle.self, "model")
    try required(count, "count").pointee = list(handle).count
}

private func describe(
    _ model: OpaquePointer?, _ index: Int, _ kind: String, _ list: (ModelHandle) -> [CValueDescription],
    _ name: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ rank: UnsafeMutablePointer<Int>?,
    _ dims: UnsafeMutablePointer<UnsafePointer<Int64>?>?
) throws {
    let descriptions = list(try HandleRegistry.lookup(model, as: ModelHandle.self, "model"))
    guard index >= 0, index < descriptions.count else {
        throw CAPIError(.invalidArgument, "index \(index) is out of range: the model has \(descriptions.count) \(kind)s")
    }
    descriptions[index].write(name: name, rank: rank, dims: dims)
}

@_cdecl("kiln_model_input_count")
public func kiln_model_input_count(_ model: OpaquePointer?, _ result: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded("kiln_model_input_count") { try count(model, result) { $0.inputs } }
}

@_cdecl("kiln_model_output_count")
public func kiln_model_output_count(_ model: OpaquePointer?, _ result: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded("kiln_model_output_count") { try count(model, result) { $0.outputs } }
}

@_cdecl("kiln_model_parameter_count")
public func kiln_model_parameter_count(_ model: OpaquePointer?, _ result: UnsafeMutablePointer<Int>?) -> Int32 {
    guarded("kiln_model_parameter_count") { try count(model, result) { $0.parameters } }
}

@_cdecl("kiln_model_input")
public func kiln_model_input(
    _ model: OpaquePointer?, _ index: Int, _ name: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ rank: UnsafeMutablePointer<Int>?,
    _ dims: UnsafeMutablePointer<UnsafePointer<Int64>?>?
) -> Int32 {
    guarded("kiln_model_input") { try describe(model, index, "input", { $0.inputs }, name, rank, dims) }
}

@_cdecl("kiln_model_output")
public func kiln_model_output(
    _ model: OpaquePointer?, _ index: Int, _ name: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ rank: UnsafeMutablePointer<Int>?,
    _ dims: UnsafeMutablePointer<UnsafePointer<Int64>?>?
) -> Int32 {
    guarded("kiln_model_output") { try describe(model, index, "output", { $0.outputs }, name, rank, dims) }
}

@_cdecl("kiln_model_parameter")
public func kiln_model_parameter(
    _ model: OpaquePointer?, _ index: Int, _ name: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ rank: UnsafeMutablePointer<Int>?,
    _ dims: UnsafeMutablePointer<UnsafePointer<Int64>?>?
) -> Int32 {
    guarded("kiln_model_parameter") { try describe(model, index, "parameter", { $0.parameters }, name, rank, dims) }
}

@_cdecl("kiln_model_normalization")
public func kiln_model_normalization(
    _ model: OpaquePointer?, _ recorded: UnsafeMutablePointer<Int32>?, _ mean: UnsafeMutablePointer<Float>?,
    _ deviation: UnsafeMutablePointer<Float>?
) -> Int32 {
    guarded("kiln_model_normalization") {
        let handle = try HandleRegistry.lookup(model, as: ModelHandle.self, "model")
        let normalization = handle.normalization ?? .unit
        try required(recorded, "recorded").pointee = handle.normalization == nil ? 0 : 1
        try required(mean, "mean").pointee = Float(normalization.mean)
        try required(deviation, "standard_deviation").pointee = Float(normalization.standardDeviation)
    }
}

@_cdecl("kiln_model_set_normalization")
public func kiln_model_set_normalization(_ model: OpaquePointer?, _ mean: Float, _ deviation: Float) -> Int32 {
    guarded("kiln_model_set_normalization") {
        let handle = try HandleRegistry.lookup(model, as: ModelHandle.self, "model")
        guard mean.isFinite, deviation.isFinite, deviation > 0 else {
            throw CAPIError(.invalidArgument, "mean \(mean) and standard deviation \(deviation) must be finite, the deviation positive")
        }
        handle.deviceHandle.locked { handle.normalization = PixelNormalization(mean: Double(mean), standardDeviation: Double(deviation)) }
    }
}

// MARK: Inference

/// The input shapes of a call with one array per model input.
private func inputShapes(_ handle: ModelHandle, _ shapes: UnsafePointer<UnsafePointer<Int64>?>?, _ ranks: UnsafePointer<Int>?) throws
    -> [Shape]
{
    let shapes = try required(shapes, "input_shapes")
    let ranks = try required(ranks, "input_ranks")
    return try handle.inputs.indices.map { try shape(shapes[$0], rank: ranks[$0], "input_shapes[\($0)]") }
}

@_cdecl("kiln_model_output_shape")
public func kiln_model_output_shape(
    _ model: OpaquePointer?, _ shapes: UnsafePointer<UnsafePointer<Int64>?>?, _ ranks: UnsafePointer<Int>?, _ outputIndex: Int,
    _ dims: UnsafeMutablePointer<Int64>?, _ capacity: Int, _ rank: UnsafeMutablePointer<Int>?
) -> Int32 {
    guarded("kiln_model_output_shape") {
        let handle = try HandleRegistry.lookup(model, as: ModelHandle.self, "model")
        let shapes = try inputShapes(handle, shapes, ranks)
        let outputs = try handle.deviceHandle.locked { try handle.outputShapes(for: shapes) }
        guard outputIndex >= 0, outputIndex < outputs.count else {
            throw CAPIError(.invalidArgument, "output_index \(outputIndex) is out of range: the model has \(outputs.count) outputs")
        }
        let output = outputs[outputIndex].dimensions
        try required(rank, "rank").pointee = output.count
        guard capacity >= output.count else {
            throw CAPIError(.bufferTooSmall, "dims holds \(capacity) dimensions; the output has \(output.count)")
        }
        let dims = try required(dims, "dims")
        for (index, size) in output.enumerated() { dims[index] = Int64(size) }
    }
}

/// Copies `values` into the caller's buffer after checking its capacity; writes the count needed either way.
private func copy(
    _ values: [Float], to output: UnsafeMutablePointer<Float>?, capacity: Int, count: UnsafeMutablePointer<Int>?, _ argument: String
) throws {
    count?.pointee = values.count
    guard capacity >= values.count else {
        throw CAPIError(.bufferTooSmall, "\(argument) holds \(capacity) floats; the output has \(values.count)")
    }
    let output = try required(output, argument)
    values.withUnsafeBufferPointer { output.update(from: $0.baseAddress!, count: values.count) }
}

@_cdecl("kiln_model_run")
public func kiln_model_run(
    _ model: OpaquePointer?, _ input: UnsafePointer<Float>?, _ dims: UnsafePointer<Int64>?, _ rank: Int,
    _ output: UnsafeMutablePointer<Float>?,
    _ capacity: Int, _ count: UnsafeMutablePointer<Int>?
) -> Int32 {
    guarded("kiln_model_run") {
        let handle = try HandleRegistry.lookup(model, as: ModelHandle.self, "model")
        guard handle.inputs.count == 1 else {
            throw CAPIError(.invalidArgument, "the model takes \(handle.inputs.count) inputs; use kiln_model_run_all")
        }
        let shape = try shape(dims, rank: rank, "shape")
        let values = Array(UnsafeBufferPointer(start: try required(input, "input"), count: shape.count))
        let result = try handle.deviceHandle.locked { try handle.run([values], shapes: [shape]) }
        try copy(result[0].values, to: output, capacity: capacity, count: count, "output")
    }
}

@_cdecl("kiln_model_run_all")
public func kiln_model_run_all(
    _ model: OpaquePointer?, _ inputs: UnsafePointer<UnsafePointer<Float>?>?, _ shapes: UnsafePointer<UnsafePointer<Int64>?>?,
    _ ranks: UnsafePointer<Int>?, _ outputs: UnsafePointer<UnsafeMutablePointer<Float>?>?, _ capacities: UnsafePointer<Int>?,
    _ counts: UnsafeMutablePointer<Int>?
) -> Int32 {
    guarded("kiln_model_run_all") {
        let handle = try HandleRegistry.lookup(model, as: ModelHandle.self, "model")
        let shapes = try inputShapes(handle, shapes, ranks)
        let inputs = try required(inputs, "inputs")
        let values = try shapes.indices.map {
            Array(UnsafeBufferPointer(start: try required(inputs[$0], "inputs[\($0)]"), count: shapes[$0].count))
        }
        let outputs = try required(outputs, "outputs")
        let capacities = try required(capacities, "capacities")
        let results = try handle.deviceHandle.locked { try handle.run(values, shapes: shapes) }
        // Check every buffer before writing any, so a short one leaves all of them untouched.
        for (index, result) in results.enumerated() {
            counts?[index] = result.values.count
            guard capacities[index] >= result.values.count else {
                throw CAPIError(
                    .bufferTooSmall, "outputs[\(index)] holds \(capacities[index]) floats; the output has \(result.values.count)")
            }
        }
        for (index, result) in results.enumerated() {
            try copy(result.values, to: outputs[index], capacity: capacities[index], count: nil, "outputs[\(index)]")
        }
    }
}

// MARK: Training

@_cdecl("kiln_model_set_optimizer")
public func kiln_model_set_optimizer(_ model: OpaquePointer?, _ optimizer: UnsafePointer<CChar>?) -> Int32 {
    guarded("kiln_model_set_optimizer") {
        let handle = try HandleRegistry.lookup(model, as: ModelHandle.self, "model")
        let name = try string(optimizer, "optimizer")
        guard let kind = OptimizerKind(rawValue: name) else {
            throw CAPIError(
                .invalidArgument, "unknown optimizer '\(name)': use \(OptimizerKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        try handle.deviceHandle.locked { try handle.kilnModel(for: "kiln_model_set_optimizer").setOptimizer(kind) }
    }
}

@_cdecl("kiln_model_train_step")
public func kiln_model_train_step(
    _ model: OpaquePointer?, _ input: UnsafePointer<Float>?, _ dims: UnsafePointer<Int64>?, _ rank: Int, _ labels: UnsafePointer<Int32>?,
    _ labelCount: Int, _ learningRate: Float, _ loss: UnsafeMutablePointer<Float>?
) -> Int32 {
    guarded("kiln_model_train_step") {
        let handle = try HandleRegistry.lookup(model, as: ModelHandle.self, "model")
        let shape = try shape(dims, rank: rank, "shape")
        guard labelCount == shape[0] else { throw CAPIError(.shape, "\(labelCount) labels for a batch of \(shape[0])") }
        guard learningRate.isFinite, learningRate > 0 else {
            throw CAPIError(.invalidArgument, "learning_rate \(learningRate) must be positive")
        }
        let values = Array(UnsafeBufferPointer(start: try required(input, "input"), count: shape.count))
        let targets = Array(UnsafeBufferPointer(start: try required(labels, "labels"), count: labelCount)).map(Float.init)
        let value = try handle.deviceHandle.locked {
            let kiln = try handle.kilnModel(for: "kiln_model_train_step")
            let classes = try handle.outputShapes(for: [shape])[0]
            guard classes.rank == 2, targets.allSatisfy({ $0 >= 0 && Int($0) < classes[1] }) else {
                throw CAPIError(.shape, "labels must be class indices below \(classes.rank == 2 ? classes[1] : 0) for outputs \(classes)")
            }
            return try kiln.train(values, shape: shape, labels: targets, learningRate: Double(learningRate))
        }
        loss?.pointee = value
    }
}

@_cdecl("kiln_model_save_checkpoint")
public func kiln_model_save_checkpoint(_ model: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    guarded("kiln_model_save_checkpoint") {
        let handle = try HandleRegistry.lookup(model, as: ModelHandle.self, "model")
        let url = URL(fileURLWithPath: try string(path, "path"))
        try handle.deviceHandle.locked {
            try handle.kilnModel(for: "kiln_model_save_checkpoint").save(to: url, normalization: handle.normalization)
        }
    }
}
