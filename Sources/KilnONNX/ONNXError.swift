// ONNXError: what can go wrong reading, importing or exporting an ONNX model, with the file, node,
// operator type and attribute named so a user can see what to change.

/// An ONNX file Kiln cannot read, a graph it cannot import, or a model it cannot export.
public enum ONNXError: Error, CustomStringConvertible, Equatable {
    /// The file is missing, unreadable or not an ONNX `ModelProto`.
    case unreadable(file: String, reason: String)
    /// The model is well-formed protobuf but not a graph Kiln can run (a missing input, an unknown opset...).
    case invalidModel(String)
    /// The model imports the default domain at a version outside `ONNXImport.supportedOpsets`.
    case unsupportedOpset(domain: String, version: Int)
    /// A node whose operator Kiln does not import.
    case unsupportedOperator(node: String, opType: String)
    /// A node with an attribute (or attribute value, input or output) Kiln does not support.
    case unsupportedAttribute(node: String, opType: String, attribute: String, reason: String)
    /// A node whose inputs Kiln rejected (shapes that do not fit, a constant input that is not constant...).
    case invalidNode(node: String, opType: String, reason: String)
    /// The caller's inputs do not match the graph's inputs.
    case inputMismatch(String)
    /// A Kiln layer the exporter has no ONNX form for.
    case unsupportedLayer(String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason): "\(file): not a readable ONNX model: \(reason)"
        case .invalidModel(let reason): "ONNX model: \(reason)"
        case .unsupportedOpset(let domain, let version):
            "ONNX model imports opset \(version) of domain '\(domain.isEmpty ? "ai.onnx" : domain)'; Kiln imports ai.onnx opsets "
                + "\(ONNXImport.supportedOpsets.lowerBound) to \(ONNXImport.supportedOpsets.upperBound) "
                + "(convert older models with onnx.version_converter)"
        case .unsupportedOperator(let node, let opType):
            "ONNX node '\(node)': operator \(opType) is not supported (Kiln imports \(ONNXImport.supportedOperators.joined(separator: ", ")))"
        case .unsupportedAttribute(let node, let opType, let attribute, let reason):
            "ONNX node '\(node)' (\(opType)): attribute '\(attribute)' is not supported: \(reason)"
        case .invalidNode(let node, let opType, let reason): "ONNX node '\(node)' (\(opType)): \(reason)"
        case .inputMismatch(let reason): "ONNX model inputs: \(reason)"
        case .unsupportedLayer(let reason): "ONNX export: \(reason)"
        }
    }
}
