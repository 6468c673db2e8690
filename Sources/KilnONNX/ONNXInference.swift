// ONNXInference: an imported ONNX model ready to run on a device, compiled into one Plan per set of input
// shapes (the same plan, fusion and buffer reuse as a Kiln model) and replayed for every batch. The loading
// call the CLI and the C API share.
import Foundation
import KilnCore

/// One output of a run: its values, row-major, and its shape.
public struct ONNXOutput: Equatable {
    public var name: String
    public var shape: Shape
    public var values: [Float]
}

/// An ONNX model on a device.
public final class ONNXInference {
    public let model: ONNXModel
    public let device: Device
    private var plans: [PlanKey: (plan: Plan, outputShapes: [Shape])] = [:]

    /// What a plan is built for: the inputs' shapes and the integer inputs' values.
    private struct PlanKey: Hashable {
        var shapes: [Shape]
        var integerInputs: [String: [Int]]
    }

    public init(model: ONNXModel, device: Device) {
        self.model = model
        self.device = device
    }

    /// Reads the ONNX file at `url` for `device`.
    public convenience init(contentsOf url: URL, device: Device) throws {
        self.init(model: try ONNXModel(contentsOf: url), device: device)
    }

    /// The compiled plan for inputs of `shapes` (built on first use), with the outputs' shapes. Its inputs are
    /// the float inputs, in order; `integerInputs` gives the integer inputs' values by name.
    public func plan(for shapes: [Shape], integerInputs: [String: [Int]] = [:]) throws -> (plan: Plan, outputShapes: [Shape]) {
        let key = PlanKey(shapes: shapes, integerInputs: integerInputs)
        if let compiled = plans[key] { return compiled }
        let graph = try ONNXImport.graph(model, inputShapes: shapes, integerInputs: integerInputs, on: device)
        let compiled = (try Plan(inputs: graph.inputs, outputs: graph.outputs, updates: []), graph.outputs.map(\.shape))
        plans[key] = compiled
        return compiled
    }

    /// Runs the model on `inputs` (one array per graph input, row-major; an integer input's values as whole
    /// floats) of `shapes` and returns every output.
    public func run(_ inputs: [[Float]], shapes: [Shape]) throws -> [ONNXOutput] {
        guard inputs.count == model.inputs.count, shapes.count == model.inputs.count else {
            throw ONNXError.inputMismatch(
                "the model takes \(model.inputs.count) inputs (\(model.inputs.map(\.description).joined(separator: ", "))), got \(inputs.count) arrays and \(shapes.count) shapes"
            )
        }
        for (index, (values, shape)) in zip(inputs, shapes).enumerated() where values.count != shape.count {
            throw ONNXError.inputMismatch(
                "input \(model.inputs[index].name) has \(values.count) values; shape \(shape) needs \(shape.count)")
        }
        var integerInputs: [String: [Int]] = [:]
        var floatInputs: [[Float]] = []
        for (info, values) in zip(model.inputs, inputs) {
            if info.isInteger {
                guard values.allSatisfy({ $0 == $0.rounded() && Swift.abs($0) < 16_777_216 }) else {
                    throw ONNXError.inputMismatch("the integer input \(info.name) holds values that are not whole numbers")
                }
                integerInputs[info.name] = values.map { Int($0) }
            } else {
                floatInputs.append(values)
            }
        }
        let (plan, outputShapes) = try plan(for: shapes, integerInputs: integerInputs)
        try plan.run(floatInputs)
        return try model.outputs.indices.map { index in
            ONNXOutput(name: model.outputs[index].name, shape: outputShapes[index], values: try plan.output(index))
        }
    }
}
