// ONNXNode: one node of an ONNX graph as the importer reads it. Attributes are read through typed
// accessors that record which were understood, so any attribute left over is reported by name instead of
// being silently ignored.
import Foundation

/// A NodeProto with typed attribute access and errors that name the node and its operator.
final class ONNXNode {
    let proto: Onnx_NodeProto
    private var read: Set<String> = []

    init(_ proto: Onnx_NodeProto) { self.proto = proto }

    var opType: String { proto.opType }
    /// The node's name, or its first named output's when it has none (exporters often leave names out).
    var name: String { proto.name.isEmpty ? (proto.output.first { !$0.isEmpty } ?? "?") : proto.name }
    /// Input names; an empty name is an omitted optional input.
    var inputs: [String] { proto.input }
    var outputs: [String] { proto.output }

    func has(_ attribute: String) -> Bool { proto.attribute.contains { $0.name == attribute } }

    private func attribute(_ name: String, _ type: Onnx_AttributeProto.AttributeType) throws(ONNXError) -> Onnx_AttributeProto? {
        read.insert(name)
        guard let found = proto.attribute.first(where: { $0.name == name }) else { return nil }
        // Some writers leave `type` unset; accept those when the expected field is present.
        guard found.type == type || found.type == .undefined else {
            throw unsupported(name, "expected an attribute of type \(type), got \(found.type)")
        }
        return found
    }

    func int(_ name: String) throws(ONNXError) -> Int? { try attribute(name, .int).map { Int($0.i) } }
    func int(_ name: String, default value: Int) throws(ONNXError) -> Int { try int(name) ?? value }
    func float(_ name: String) throws(ONNXError) -> Float? { try attribute(name, .float).map(\.f) }
    func float(_ name: String, default value: Float) throws(ONNXError) -> Float { try float(name) ?? value }
    func ints(_ name: String) throws(ONNXError) -> [Int]? { try attribute(name, .ints).map { $0.ints.map { Int($0) } } }
    func floats(_ name: String) throws(ONNXError) -> [Float]? { try attribute(name, .floats).map(\.floats) }
    func string(_ name: String) throws(ONNXError) -> String? { try attribute(name, .string).map { String(decoding: $0.s, as: UTF8.self) } }
    func strings(_ name: String) throws(ONNXError) -> [String]? {
        try attribute(name, .strings).map { $0.strings.map { String(decoding: $0, as: UTF8.self) } }
    }
    func tensor(_ name: String) throws(ONNXError) -> Onnx_TensorProto? { try attribute(name, .tensor).map(\.t) }

    /// Throws for the first attribute no accessor asked for: the importer does not know what it means.
    func rejectUnreadAttributes() throws(ONNXError) {
        if let unread = proto.attribute.first(where: { !read.contains($0.name) }) {
            throw unsupported(unread.name, "Kiln's \(opType) does not implement it")
        }
    }

    func unsupported(_ attribute: String, _ reason: String) -> ONNXError {
        .unsupportedAttribute(node: name, opType: opType, attribute: attribute, reason: reason)
    }

    func invalid(_ reason: String) -> ONNXError { .invalidNode(node: name, opType: opType, reason: reason) }
}
