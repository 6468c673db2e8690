// The unary family: elementwise functions of one argument. Each function is described once below (its value and
// derivative for the reference loops, its derivative written in ops, and whether plans may fuse it into a
// product's or convolution's epilogue); the ops `unary` and `unaryGradient` apply any of them.

/// Elementwise functions of one argument.
public enum UnaryFunction: Hashable, Sendable {
    case negate, exp, log, sqrt, abs
    /// `max(x, 0)`; its derivative at 0 is 0.
    case relu
    /// `x` for `x > 0`, else `slope * x`; its derivative at 0 is `slope`.
    case leakyRelu(slope: Double)
    case sigmoid, tanh
    /// `log(1 + exp(x))`, computed as `max(x, 0) + log1p(exp(-|x|))`.
    case softplus

    /// The function's description.
    var definition: any ElementwiseFunction {
        switch self {
        case .negate: Negation()
        case .exp: Exponential()
        case .log: Logarithm()
        case .sqrt: SquareRoot()
        case .abs: AbsoluteValue()
        case .relu: RectifiedLinear()
        case .leakyRelu(let slope): LeakyRectifiedLinear(slope: slope)
        case .sigmoid: Logistic()
        case .tanh: HyperbolicTangent()
        case .softplus: Softplus()
        }
    }

    /// Whether plans fuse the function into the epilogue of a matrix product or convolution (the fused kernels apply
    /// it through the activation code they share).
    public var isFusibleActivation: Bool { definition.isFusibleActivation }
}

/// One elementwise function of one argument, described once.
protocol ElementwiseFunction {
    /// `f(x)`.
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar
    /// `f'(x)`.
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar
    /// `f'(x)` written in ops: the decomposition of `unaryGradient`.
    func derivative(_ x: Tensor) throws -> Tensor
    /// Whether `f'` takes the same value at `f(x)` as at `x`, so the gradient may read the output (ReLU: then the
    /// input is read by nothing else and the activation fuses into the layer before it in training too).
    var derivativeReadsOutput: Bool { get }
    /// Whether the fused kernels' shared epilogue applies the function.
    var isFusibleActivation: Bool { get }
    /// Checks the function's parameters.
    func validate(_ rule: ShapeRule) throws(ShapeError)
}

extension ElementwiseFunction {
    var derivativeReadsOutput: Bool { false }
    var isFusibleActivation: Bool { false }
    func validate(_ rule: ShapeRule) throws(ShapeError) {}
}

/// `-x`.
struct Negation: ElementwiseFunction {
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { -x }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { -1 }
    func derivative(_ x: Tensor) throws -> Tensor { try x.constant(-1) }
}

/// `e^x`.
struct Exponential: ElementwiseFunction {
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { Scalar.exponential(x) }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { Scalar.exponential(x) }
    func derivative(_ x: Tensor) throws -> Tensor { try x.exp() }
}

/// The natural logarithm.
struct Logarithm: ElementwiseFunction {
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { Scalar.logarithm(x) }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { 1 / x }
    func derivative(_ x: Tensor) throws -> Tensor { try 1 / x }
}

/// `√x`.
struct SquareRoot: ElementwiseFunction {
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { x.squareRoot() }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { 0.5 / x.squareRoot() }
    func derivative(_ x: Tensor) throws -> Tensor { try 0.5 / x.sqrt() }
}

/// `|x|`; the design fixes `abs'(0) = 0`.
struct AbsoluteValue: ElementwiseFunction {
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { Swift.abs(x) }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { x > 0 ? 1 : (x < 0 ? -1 : 0) }
    func derivative(_ x: Tensor) throws -> Tensor {
        let zero = try x.constant(0)
        return try x.greater(zero) - zero.greater(x)
    }
}

/// `max(x, 0)`; the design fixes `relu'(0) = 0`.
struct RectifiedLinear: ElementwiseFunction {
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { x > 0 ? x : 0 }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { x > 0 ? 1 : 0 }
    func derivative(_ x: Tensor) throws -> Tensor { try x.greater(x.constant(0)) }
    /// `relu'(x) = [x > 0] = [relu(x) > 0]`.
    var derivativeReadsOutput: Bool { true }
    var isFusibleActivation: Bool { true }
}

/// `x` for `x > 0`, else `slope · x`; the design fixes `leakyRelu'(0) = slope`.
struct LeakyRectifiedLinear: ElementwiseFunction {
    let slope: Double

    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { x > 0 ? x : Scalar(slope) * x }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { x > 0 ? 1 : Scalar(slope) }
    /// `[x > 0] + (1 − [x > 0]) · slope`: exactly 1 or the slope.
    func derivative(_ x: Tensor) throws -> Tensor {
        let positive = try x.greater(x.constant(0))
        return try positive + (1 - positive) * slope
    }
    var isFusibleActivation: Bool { true }
    func validate(_ rule: ShapeRule) throws(ShapeError) {
        try rule.require(slope.isFinite, "slope \(slope) is not finite")
    }
}

/// The logistic function `1 / (1 + e^−x)`.
struct Logistic: ElementwiseFunction {
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { Scalar.sigmoid(x) }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar {
        let s = Scalar.sigmoid(x)
        return s * (1 - s)
    }
    /// `σ(x) · σ(−x)`, which does not cancel for large `x` as `σ · (1 − σ)` would.
    func derivative(_ x: Tensor) throws -> Tensor { try x.sigmoid() * (-x).sigmoid() }
    var isFusibleActivation: Bool { true }
}

/// The hyperbolic tangent.
struct HyperbolicTangent: ElementwiseFunction {
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { Scalar.hyperbolicTangent(x) }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar {
        let t = Scalar.hyperbolicTangent(x)
        return 1 - t * t
    }
    func derivative(_ x: Tensor) throws -> Tensor {
        let t = try x.tanh()
        return try 1 - t * t
    }
    var isFusibleActivation: Bool { true }
}

/// `log(1 + e^x)`, computed as `max(x, 0) + log1p(e^−|x|)` so it neither overflows nor loses small values.
struct Softplus: ElementwiseFunction {
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar {
        Swift.max(x, 0) + Scalar.logarithmOnePlus(Scalar.exponential(-Swift.abs(x)))
    }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { Scalar.sigmoid(x) }
    func derivative(_ x: Tensor) throws -> Tensor { try x.sigmoid() }
}

/// Input `x`: `f(x)` element by element. Every function belongs to the minimal set.
struct Unary: OpDefinition {
    let function: UnaryFunction

    var name: String { "\(function)" }
    var isElementwise: Bool { true }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(1)
        try function.definition.validate(rule)
        return rule.shapes[0]
    }

    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        // Reading the output when the derivative allows leaves the input to its producer alone, so a plan can fuse
        // the activation into the layer before it in training too.
        let x = function.definition.derivativeReadsOutput ? output : inputs[0]
        return [try Tensor.apply(.unaryGradient(function), [x, g])]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let definition = function.definition
        return inputs[0].map { definition.value($0) }
    }
}

/// Inputs `(x, dy)`: `dy · f'(x)`, the gradient of a unary function.
struct UnaryGradient: Decomposable {
    let function: UnaryFunction

    var name: String { "\(function)_grad" }
    var isElementwise: Bool { true }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(2)
        try function.definition.validate(rule)
        try rule.require(rule.shapes[0] == rule.shapes[1], "x and dy differ")
        return rule.shapes[0]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let definition = function.definition
        return zip(inputs[0], inputs[1]).map { x, dy in dy * definition.derivative(x) }
    }

    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        try inputs[1] * function.definition.derivative(inputs[0])
    }
}
