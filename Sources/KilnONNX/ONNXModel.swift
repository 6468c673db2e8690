// ONNXModel: an ONNX file read with swift-protobuf, its opset checked, and its inputs, outputs and
// initializers described for callers (the CLI, the C API) before anything runs.
import Foundation
import KilnCore
import KilnFiles
import SwiftProtobuf

/// A graph input or output: its name and dimensions, nil where the model leaves a dimension free
/// (a symbolic batch size, say).
public struct ONNXValueInfo: Equatable, CustomStringConvertible {
    public var name: String
    public var dimensions: [Int?]
    /// An integer or boolean input (a shape, axes or a mode, as ONNX's node tests pass Reshape's shape) names
    /// part of the graph's structure: its values are read when a plan is built, and each new value builds a new plan.
    public var isInteger = false

    public var description: String {
        "\(name) [" + dimensions.map { $0.map(String.init) ?? "?" }.joined(separator: ", ") + "]"
    }

    /// Whether `shape` fits these dimensions (same rank, equal where fixed).
    public func accepts(_ shape: Shape) -> Bool {
        shape.rank == dimensions.count && zip(shape.dimensions, dimensions).allSatisfy { $1 == nil || $0 == $1 }
    }
}

/// A parsed ONNX model.
public struct ONNXModel {
    public let proto: Onnx_ModelProto
    /// The version of the default (ai.onnx) operator set the model imports.
    public let opsetVersion: Int
    /// Graph inputs the caller provides (initializers that older exporters also list as inputs excluded).
    public let inputs: [ONNXValueInfo]
    public let outputs: [ONNXValueInfo]
    /// The weights stored in the file, by name.
    public let initializers: [ONNXArray]

    /// Reads and checks the model in `url`.
    public init(contentsOf url: URL) throws {
        // The one reader: a folder or a pipe is named as such (FileError), not "NSCocoaErrorDomain error 256".
        try self.init(serializedData: try FileContents.read(url), file: url.path)
    }

    /// Parses and checks a serialized `ModelProto`; `file` names it in errors.
    public init(serializedData data: Data, file: String = "<memory>") throws {
        let proto: Onnx_ModelProto
        do { proto = try Onnx_ModelProto(serializedBytes: data) } catch {
            throw ONNXError.unreadable(file: file, reason: "protobuf decoding failed (\(error))")
        }
        try self.init(proto: proto, file: file)
    }

    /// Checks `proto`: a graph with at least one output, and a supported ai.onnx opset.
    public init(proto: Onnx_ModelProto, file: String = "<memory>") throws {
        guard proto.hasGraph, !proto.graph.output.isEmpty else {
            throw ONNXError.unreadable(file: file, reason: "no graph with outputs (is this an ONNX model file?)")
        }
        var version: Int?
        for opset in proto.opsetImport {
            let domain = opset.domain
            if domain.isEmpty || domain == "ai.onnx" {
                guard ONNXImport.supportedOpsets.contains(Int(opset.version)) else {
                    throw ONNXError.unsupportedOpset(domain: domain, version: Int(opset.version))
                }
                version = Int(opset.version)
            }
        }
        guard let version else { throw ONNXError.invalidModel("\(file) imports no ai.onnx operator set") }
        self.proto = proto
        self.opsetVersion = version
        initializers = try proto.graph.initializer.map { try ONNXArray($0) }
        let stored = Set(initializers.map(\.name))
        inputs = try proto.graph.input.filter { !stored.contains($0.name) }.map { try ONNXModel.describe($0, isInput: true) }
        outputs = try proto.graph.output.map { try ONNXModel.describe($0, isInput: false) }
    }

    /// Name and dimensions of a graph input or output, which must be a float tensor. An output may leave
    /// its type out (its dimensions are then `[]`); an input needs its shape, whose rank the caller must know.
    static func describe(_ info: Onnx_ValueInfoProto, isInput: Bool) throws(ONNXError) -> ONNXValueInfo {
        if info.type.value == nil, !isInput { return ONNXValueInfo(name: info.name, dimensions: []) }
        guard case .tensorType(let tensor)? = info.type.value else {
            throw ONNXError.invalidModel("graph value '\(info.name)' is not a tensor (sequences, maps and optionals are not supported)")
        }
        if isInput, !tensor.hasShape { throw ONNXError.invalidModel("graph input '\(info.name)' has no shape") }
        let floating: [Onnx_TensorProto.DataType] = [.float, .double]
        let integer: [Onnx_TensorProto.DataType] = [.int64, .int32, .bool]
        let type = Onnx_TensorProto.DataType(rawValue: Int(tensor.elemType))
        let isInteger = isInput && type.map(integer.contains) == true
        guard let type, floating.contains(type) || isInteger else {
            throw ONNXError.invalidModel(
                "graph value '\(info.name)' has element type \(ONNXArray.typeName(tensor.elemType)); Kiln computes in float32: inputs and outputs "
                    + "are FLOAT (or DOUBLE), and an input may be INT64, INT32 or BOOL when it names a shape, axes or a mode")
        }
        let dimensions: [Int?] =
            tensor.hasShape
            ? tensor.shape.dim.map { dimension in
                if case .dimValue(let value)? = dimension.value, value > 0 { return Int(value) }
                return nil
            } : []
        return ONNXValueInfo(name: info.name, dimensions: dimensions, isInteger: isInteger)
    }
}
