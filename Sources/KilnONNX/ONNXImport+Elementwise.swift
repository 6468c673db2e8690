// Elementwise operators and the softmax family: Add, Sub, Mul, Div (NumPy broadcasting), Relu, LeakyRelu,
// Sigmoid, Tanh, Neg, Exp, Log, Sqrt, Abs, Softplus, Erf (what Kiln's exporter writes for GELU), Softmax and
// LogSoftmax.
import KilnCore

extension ONNXImport {
    static func binary(_ graph: ONNXGraphBuilder, _ node: ONNXNode, _ function: (Tensor, Tensor) throws -> Tensor) throws -> [Tensor] {
        [try function(graph.input(node, 0), graph.input(node, 1))]
    }

    static func unary(_ graph: ONNXGraphBuilder, _ node: ONNXNode, _ function: (Tensor) throws -> Tensor) throws -> [Tensor] {
        [try function(graph.input(node, 0))]
    }

    static func leakyRelu(_ graph: ONNXGraphBuilder, _ node: ONNXNode) throws -> [Tensor] {
        let alpha = try node.float("alpha", default: 0.01)
        return [try graph.input(node, 0).leakyRelu(slope: Double(alpha))]
    }

    /// Softmax and LogSoftmax of opset 13 and later: along one axis (default the last).
    static func softmax(_ graph: ONNXGraphBuilder, _ node: ONNXNode, logarithm: Bool) throws -> [Tensor] {
        let x = try graph.input(node, 0)
        let axis = try axis(node.int("axis", default: -1), rank: x.shape.rank, node)
        return [try logarithm ? x.logSoftmax(axis: axis) : x.softmax(axis: axis)]
    }
}
