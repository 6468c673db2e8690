// The exporter's layer-by-layer translation: each Kiln layer as ONNX nodes and initializers. A residual block is
// its body's nodes, its shortcut's (when it projects) and an Add; names follow its checkpoint names. LSTM weights
// are reordered from Kiln's gate blocks (i, f, g, o) to ONNX's (i, o, f, c), and the two biases packed into
// ONNX's B = [Wb, Rb].
import Foundation
import KilnCore
import KilnNN

/// Nodes and initializers emitted so far.
struct GraphEmitter {
    var nodes: [Onnx_NodeProto] = []
    var initializers: [ONNXArray] = []

    static func node(_ opType: String, _ inputs: [String], _ outputs: [String], name: String, _ attributes: [Onnx_AttributeProto] = [])
        -> Onnx_NodeProto
    {
        var node = Onnx_NodeProto()
        node.opType = opType
        node.name = name
        node.input = inputs
        node.output = outputs
        node.attribute = attributes
        return node
    }

    static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .ints
        attribute.ints = values.map { Int64($0) }
        return attribute
    }

    static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .int
        attribute.i = Int64(value)
        return attribute
    }

    static func float(_ name: String, _ value: Double) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .float
        attribute.f = Float(value)
        return attribute
    }

    /// Appends a node named `name` whose single output is `name` and returns that output.
    mutating func add(_ opType: String, _ inputs: [String], name: String, _ attributes: [Onnx_AttributeProto] = []) -> String {
        nodes.append(Self.node(opType, inputs, [name], name: name, attributes))
        return name
    }

    /// Stores `values` as an initializer named `name` and returns the name.
    mutating func constant(_ name: String, _ dimensions: [Int], _ values: [Float]) -> String {
        initializers.append(ONNXArray(name: name, dimensions: dimensions, floats: values))
        return name
    }

    /// A variable's current values as an initializer under its checkpoint name.
    mutating func constant(_ name: String, _ variable: Variable) throws -> String {
        constant(name, variable.shape.dimensions, try variable.value.floats())
    }

    /// Emits `layer` reading `input`; `name` is the layer's checkpoint prefix (`3.` for the fourth layer of a
    /// Sequential). Returns the output's value name.
    mutating func emit(_ layer: any Layer, name: String, input: String) throws -> String {
        let node = name.isEmpty ? "layer" : String(name.dropLast())
        switch layer {
        case let sequential as Sequential:
            var value = input
            for (index, child) in sequential.layers.enumerated() { value = try emit(child, name: "\(name)\(index).", input: value) }
            return value
        case let dense as Dense:
            let inputs =
                [input, try constant(name + "weight", dense.weight)] + (try dense.bias.map { [try constant(name + "bias", $0)] } ?? [])
            return add("Gemm", inputs, name: node + "/Gemm", [Self.int("transB", 1)])
        case let conv as Conv2D:
            let inputs =
                [input, try constant(name + "weight", conv.weight)] + (try conv.bias.map { [try constant(name + "bias", $0)] } ?? [])
            return add(
                "Conv", inputs, name: node + "/Conv",
                [
                    Self.ints("kernel_shape", Array(conv.weight.shape.dimensions.suffix(2))), Self.ints("strides", conv.stride),
                    Self.ints("pads", conv.padding), Self.ints("dilations", conv.dilation), Self.int("group", conv.groups),
                ])
        case let conv as ConvTranspose2D:
            let inputs =
                [input, try constant(name + "weight", conv.weight)] + (try conv.bias.map { [try constant(name + "bias", $0)] } ?? [])
            return add(
                "ConvTranspose", inputs, name: node + "/ConvTranspose",
                [
                    Self.ints("kernel_shape", Array(conv.weight.shape.dimensions.suffix(2))), Self.ints("strides", conv.stride),
                    Self.ints("pads", conv.padding), Self.ints("output_padding", conv.outputPadding), Self.ints("dilations", conv.dilation),
                    Self.int("group", conv.groups),
                ])
        case let pool as MaxPool2D:
            return add(
                "MaxPool", [input], name: node + "/MaxPool",
                [
                    Self.ints("kernel_shape", pool.kernel), Self.ints("strides", pool.stride), Self.ints("pads", pool.padding),
                    Self.ints("dilations", pool.dilation), Self.int("ceil_mode", pool.ceilMode ? 1 : 0),
                ])
        case let pool as AvgPool2D:
            // AveragePool takes dilations from opset 19 on; the exporter writes opset 17.
            guard pool.dilation.allSatisfy({ $0 == 1 }) else {
                throw ONNXError.unsupportedLayer(
                    "layer \(name.isEmpty ? "" : "'\(String(name.dropLast()))' ")is average pooling with dilation \(pool.dilation), "
                        + "which ONNX's AveragePool has only from opset 19; Kiln exports opset 17")
            }
            return add(
                "AveragePool", [input], name: node + "/AveragePool",
                [
                    Self.ints("kernel_shape", pool.kernel), Self.ints("strides", pool.stride), Self.ints("pads", pool.padding),
                    Self.int("count_include_pad", pool.countIncludePadding ? 1 : 0), Self.int("ceil_mode", pool.ceilMode ? 1 : 0),
                ])
        case is GlobalAvgPool2D:
            return add("GlobalAveragePool", [input], name: node + "/GlobalAveragePool")
        case is Flatten:
            return add("Flatten", [input], name: node + "/Flatten", [Self.int("axis", 1)])
        case is Dropout:
            return input  // The identity in evaluation.
        case let norm as BatchNorm:
            let inputs = [
                input, try constant(name + "weight", norm.weight), try constant(name + "bias", norm.bias),
                try constant(name + "running_mean", norm.runningMean), try constant(name + "running_var", norm.runningVariance),
            ]
            // ONNX's momentum weighs the old running value; PyTorch's and Kiln's weigh the new batch statistic.
            return add(
                "BatchNormalization", inputs, name: node + "/BatchNormalization",
                [
                    Self.float("epsilon", norm.epsilon), Self.float("momentum", 1 - norm.momentum),
                ])
        case let activation as Activation:
            switch activation.function {
            case .relu: return emit(.relu, node: node, input: input)
            case .leakyRelu(let slope): return emit(.leakyRelu(slope: slope), node: node, input: input)
            case .sigmoid: return emit(.sigmoid, node: node, input: input)
            case .tanh: return emit(.tanh, node: node, input: input)
            case .softmax(let axis): return add("Softmax", [input], name: node + "/Softmax", [Self.int("axis", axis)])
            case .elementwise(let function): return emit(function, node: node, input: input)
            }
        case let residual as Residual:
            let body = try emit(residual.body, name: name + "body.", input: input)
            let shortcut = try residual.shortcut.map { try emit($0, name: name + "shortcut.", input: input) } ?? input
            return add("Add", [body, shortcut], name: node + "/Add")
        case let lstm as LSTM:
            return try emitLSTM(lstm, name: name, node: node, input: input)
        default:
            throw ONNXError.unsupportedLayer(
                "layer \(name.isEmpty ? "" : "'\(String(name.dropLast()))' ")of type \(type(of: layer)) has no ONNX form in Kiln's exporter"
            )
        }
    }

    /// ONNX's gate block k (i, o, f, c) is Kiln's block `kilnBlockForONNXGate[k]` (Kiln orders i, f, g, o; c is g).
    static let kilnBlockForONNXGate = [0, 3, 1, 2]

    /// An LSTM layer over `[T, N, I]`: ONNX's LSTM (Y `[T, 1, N, H]`) and a Squeeze of the direction axis.
    mutating func emitLSTM(_ lstm: LSTM, name: String, node: String, input: String) throws -> String {
        let hidden = lstm.hiddenSize
        func reordered(_ variable: Variable) throws -> [Float] {
            let values = try variable.value.floats()
            let block = values.count / 4
            return Self.kilnBlockForONNXGate.flatMap { values[$0 * block..<($0 + 1) * block] }
        }
        let w = constant(name + "weight_ih_l0", [1] + lstm.weightIH.shape.dimensions, try reordered(lstm.weightIH))
        let r = constant(name + "weight_hh_l0", [1] + lstm.weightHH.shape.dimensions, try reordered(lstm.weightHH))
        let b = constant(name + "bias_l0", [1, 8 * hidden], try reordered(lstm.biasIH) + reordered(lstm.biasHH))
        let sequence = add("LSTM", [input, w, r, b], name: node + "/LSTM", [Self.int("hidden_size", hidden)])
        let axes = ONNXArray(name: node + "/direction_axis", dimensions: [1], floats: [1], integers: [1])
        initializers.append(axes)
        return add("Squeeze", [sequence, axes.name], name: node + "/Squeeze")
    }
}
