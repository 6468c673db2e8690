// ONNXImport: the operators Kiln imports and the opsets it accepts, and the entry point that builds an
// ONNX graph as Kiln tensors for given input shapes.
import KilnCore

/// Importing ONNX graphs into Kiln's lazy graph.
public enum ONNXImport {
    /// The ai.onnx opset versions Kiln imports. 13 is where Softmax, Squeeze and Dropout took their current
    /// form; 28 is the newest the `onnx` package that generated the tests knows. The supported operators
    /// keep the same float32 semantics throughout (later versions added types and optional attributes,
    /// which the importer checks one by one).
    public static let supportedOpsets = 13...28

    /// Converts one node, reading its inputs from the builder, into its outputs in order (fewer than the
    /// node names when trailing optional outputs are not computed).
    typealias Converter = (ONNXGraphBuilder, ONNXNode) throws -> [Tensor]

    static let converters: [String: Converter] = [
        "Add": { try binary($0, $1, +) },
        "Sub": { try binary($0, $1, -) },
        "Mul": { try binary($0, $1, *) },
        "Div": { try binary($0, $1, /) },
        "Relu": { try unary($0, $1) { try $0.relu() } },
        "Sigmoid": { try unary($0, $1) { try $0.sigmoid() } },
        "Tanh": { try unary($0, $1) { try $0.tanh() } },
        "Neg": { try unary($0, $1) { try -$0 } },
        "Exp": { try unary($0, $1) { try $0.exp() } },
        "Log": { try unary($0, $1) { try $0.log() } },
        "Sqrt": { try unary($0, $1) { try $0.sqrt() } },
        "Abs": { try unary($0, $1) { try $0.abs() } },
        "Softplus": { try unary($0, $1) { try $0.softplus() } },
        "Erf": { try unary($0, $1) { try $0.erf() } },
        "LeakyRelu": leakyRelu,
        "Softmax": { try softmax($0, $1, logarithm: false) },
        "LogSoftmax": { try softmax($0, $1, logarithm: true) },
        "Gemm": gemm,
        "MatMul": matmul,
        "Conv": convolution,
        "ConvTranspose": transposedConvolution,
        "MaxPool": { try pool($0, $1, maximum: true) },
        "AveragePool": { try pool($0, $1, maximum: false) },
        "GlobalAveragePool": globalAveragePool,
        "BatchNormalization": batchNormalization,
        "Flatten": flatten,
        "Reshape": reshape,
        "Transpose": transpose,
        "Concat": concat,
        "Squeeze": squeeze,
        "Unsqueeze": unsqueeze,
        "Identity": identity,
        "Dropout": dropout,
        "Constant": constant,
        "LSTM": lstm,
        "SoftmaxCrossEntropyLoss": softmaxCrossEntropyLoss,
    ]

    /// The operator types Kiln imports, sorted.
    public static var supportedOperators: [String] { converters.keys.sorted() }

    /// Builds `model`'s graph on `device` for inputs of `shapes` (one per `model.inputs`, in order): the float
    /// inputs' data tensors to bind (a Plan's inputs, in order) and the output tensors. An integer input
    /// (`ONNXValueInfo.isInteger`) is part of the structure: its values come in `integerInputs`, by name.
    public static func graph(
        _ model: ONNXModel, inputShapes shapes: [Shape], integerInputs: [String: [Int]] = [:], on device: Device
    ) throws -> (inputs: [Tensor], outputs: [Tensor]) {
        guard shapes.count == model.inputs.count else {
            throw ONNXError.inputMismatch(
                "the model takes \(model.inputs.count) inputs (\(model.inputs.map(\.description).joined(separator: ", "))), got \(shapes.count) shapes"
            )
        }
        var inputs: [Tensor] = []
        var constants: [ONNXArray] = []
        for (info, shape) in zip(model.inputs, shapes) {
            if info.isInteger {
                guard let values = integerInputs[info.name], values.count == shape.count else {
                    throw ONNXError.inputMismatch("the integer input \(info) needs \(shape.count) values for shape \(shape)")
                }
                constants.append(ONNXArray(name: info.name, dimensions: shape.dimensions, floats: values.map(Float.init), integers: values))
            } else {
                inputs.append(try Tensor([Float](repeating: 0, count: shape.count), shape: shape, on: device))
            }
        }
        let outputs = try ONNXGraphBuilder(model: model, device: device).build(inputs: inputs, integerInputs: constants)
        return (inputs, outputs)
    }

    /// `axis` counted from the end when negative, checked against `rank`.
    static func axis(_ axis: Int, rank: Int, _ node: ONNXNode, attribute: String = "axis") throws(ONNXError) -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        guard resolved >= 0, resolved < rank else { throw node.invalid("\(attribute) \(axis) is out of range for rank \(rank)") }
        return resolved
    }
}
