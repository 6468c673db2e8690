// The exporter's elementwise functions: each of Kiln's unary functions as ONNX nodes of opset 17. Most have an
// operator of their own; GELU (an operator only from opset 20) is written out with Erf or Tanh, and SiLU as
// x · Sigmoid(x), in the form PyTorch's exporter writes them.
import KilnCore

extension GraphEmitter {
    /// Emits `function` applied to `input`; `node` names the nodes. Returns the output's value name.
    mutating func emit(_ function: UnaryFunction, node: String, input: String) -> String {
        switch function {
        case .negate: return add("Neg", [input], name: node + "/Neg")
        case .exp: return add("Exp", [input], name: node + "/Exp")
        case .log: return add("Log", [input], name: node + "/Log")
        case .sqrt: return add("Sqrt", [input], name: node + "/Sqrt")
        case .abs: return add("Abs", [input], name: node + "/Abs")
        case .relu: return add("Relu", [input], name: node + "/Relu")
        case .leakyRelu(let slope): return add("LeakyRelu", [input], name: node + "/LeakyRelu", [Self.float("alpha", slope)])
        case .sigmoid: return add("Sigmoid", [input], name: node + "/Sigmoid")
        case .tanh: return add("Tanh", [input], name: node + "/Tanh")
        case .softplus: return add("Softplus", [input], name: node + "/Softplus")
        case .erf: return add("Erf", [input], name: node + "/Erf")
        case .gelu:
            // x/2 · (1 + erf(x/√2))
            let node = node + "/Gelu"
            let scaled = add("Mul", [input, scalar(node + "/inverse_sqrt2", 1 / 2.0.squareRoot())], name: node + "/Scale")
            return halfTimesOnePlus(add("Erf", [scaled], name: node + "/Erf"), times: input, node: node)
        case .geluTanh:
            // x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))
            let node = node + "/GeluTanh"
            let square = add("Mul", [input, input], name: node + "/Square")
            let cube = add("Mul", [square, input], name: node + "/Cube")
            let cubic = add("Mul", [cube, scalar(node + "/cubic_coefficient", 0.044715)], name: node + "/Cubic")
            let inner = add("Add", [input, cubic], name: node + "/Inner")
            let scaled = add("Mul", [inner, scalar(node + "/sqrt_2_over_pi", (2 / Double.pi).squareRoot())], name: node + "/Scale")
            return halfTimesOnePlus(add("Tanh", [scaled], name: node + "/Tanh"), times: input, node: node)
        case .silu:
            let node = node + "/Silu"
            return add("Mul", [input, add("Sigmoid", [input], name: node + "/Sigmoid")], name: node + "/Mul")
        }
    }

    /// `x/2 · (1 + value)`, GELU's last steps.
    private mutating func halfTimesOnePlus(_ value: String, times x: String, node: String) -> String {
        let onePlus = add("Add", [value, scalar(node + "/one", 1)], name: node + "/OnePlus")
        let product = add("Mul", [x, onePlus], name: node + "/Product")
        return add("Mul", [product, scalar(node + "/half", 0.5)], name: node + "/Half")
    }

    /// A float scalar initializer named `name`.
    private mutating func scalar(_ name: String, _ value: Double) -> String {
        constant(name, [], [Float(value)])
    }
}
