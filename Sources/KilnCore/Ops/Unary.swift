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
    /// The error function `2/√π ∫₀ˣ e^(−t²) dt`.
    case erf
    /// GELU, `x · Φ(x) = x/2 · (1 + erf(x/√2))` (PyTorch's `GELU()`).
    case gelu
    /// GELU's tanh approximation, `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))` (PyTorch's `GELU(approximate="tanh")`).
    case geluTanh
    /// SiLU (swish), `x · σ(x)`.
    case silu

    /// One value of every function, in a fixed order (kernel codes follow it, so new functions go at the end); leaky
    /// ReLU with slope 0.1.
    public static let all: [UnaryFunction] = [
        .negate, .exp, .log, .sqrt, .abs, .relu, .leakyRelu(slope: 0.1), .sigmoid, .tanh, .softplus, .erf, .gelu, .geluTanh, .silu,
    ]

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
        case .erf: ErrorFunction()
        case .gelu: GaussianErrorLinear()
        case .geluTanh: GaussianErrorLinearTanh()
        case .silu: SigmoidLinear()
        }
    }

    /// The function's identifier in snake case (`leaky_relu`, `gelu_tanh`): kernels name its code after it
    /// (`KILN_UNARY_GELU_TANH`), and model strings name an activation by it without the underscores (`gelutanh`).
    public var identifier: String { definition.identifier }

    /// Whether the function is an activation that plans fuse into the epilogue of a matrix product or convolution
    /// (the fused kernels apply it through the code they share with the elementwise kernels).
    public var isFusibleActivation: Bool { definition.isFusibleActivation }

    /// The activation a model string names `token` (its identifier without underscores, e.g. `gelutanh`), if any.
    public static func activation(named token: String) -> UnaryFunction? {
        all.first { $0.isFusibleActivation && $0.identifier.filter { $0 != "_" } == token }
    }
}

/// One elementwise function of one argument, described once.
protocol ElementwiseFunction {
    /// The identifier in snake case (see `UnaryFunction.identifier`).
    var identifier: String { get }
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
    var identifier: String { "negate" }
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { -x }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { -1 }
    func derivative(_ x: Tensor) throws -> Tensor { try x.constant(-1) }
}

/// `e^x`.
struct Exponential: ElementwiseFunction {
    var identifier: String { "exp" }
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { Scalar.exponential(x) }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { Scalar.exponential(x) }
    func derivative(_ x: Tensor) throws -> Tensor { try x.exp() }
}

/// The natural logarithm.
struct Logarithm: ElementwiseFunction {
    var identifier: String { "log" }
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { Scalar.logarithm(x) }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { 1 / x }
    func derivative(_ x: Tensor) throws -> Tensor { try 1 / x }
}

/// `√x`.
struct SquareRoot: ElementwiseFunction {
    var identifier: String { "sqrt" }
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { x.squareRoot() }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { 0.5 / x.squareRoot() }
    func derivative(_ x: Tensor) throws -> Tensor { try 0.5 / x.sqrt() }
}

/// `|x|`; the design fixes `abs'(0) = 0`.
struct AbsoluteValue: ElementwiseFunction {
    var identifier: String { "abs" }
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { Swift.abs(x) }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { x > 0 ? 1 : (x < 0 ? -1 : 0) }
    func derivative(_ x: Tensor) throws -> Tensor {
        let zero = try x.constant(0)
        return try x.greater(zero) - zero.greater(x)
    }
}

/// `max(x, 0)`; the design fixes `relu'(0) = 0`.
struct RectifiedLinear: ElementwiseFunction {
    var identifier: String { "relu" }
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

    var identifier: String { "leaky_relu" }
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
    var identifier: String { "sigmoid" }
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
    var identifier: String { "tanh" }
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
    var identifier: String { "softplus" }
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar {
        Swift.max(x, 0) + Scalar.logarithmOnePlus(Scalar.exponential(-Swift.abs(x)))
    }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { Scalar.sigmoid(x) }
    func derivative(_ x: Tensor) throws -> Tensor { try x.sigmoid() }
}

/// The error function `2/√π ∫₀ˣ e^(−t²) dt`; `erf'(x) = 2/√π · e^(−x²)`.
struct ErrorFunction: ElementwiseFunction {
    var identifier: String { "erf" }
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { Scalar.errorFunction(x) }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { Scalar(2 / Double.pi.squareRoot()) * Scalar.exponential(-x * x) }
    func derivative(_ x: Tensor) throws -> Tensor { try (-(x * x)).exp() * (2 / Double.pi.squareRoot()) }
}

/// GELU, `x · Φ(x)` with `Φ(x) = (1 + erf(x/√2)) / 2` the standard normal distribution function;
/// `gelu'(x) = Φ(x) + x · φ(x)` with the density `φ(x) = e^(−x²/2) / √(2π)`.
struct GaussianErrorLinear: ElementwiseFunction {
    var identifier: String { "gelu" }
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { x * Self.distribution(x) }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar {
        Self.distribution(x) + x * Scalar.exponential(-x * x / 2) * Scalar(1 / (2 * Double.pi).squareRoot())
    }
    func derivative(_ x: Tensor) throws -> Tensor {
        let distribution = try ((x * (1 / 2.0.squareRoot())).erf() + 1) * 0.5
        return try distribution + x * (x * x * -0.5).exp() * (1 / (2 * Double.pi).squareRoot())
    }
    var isFusibleActivation: Bool { true }

    /// `Φ(x) = (1 + erf(x/√2)) / 2`.
    static func distribution<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar {
        (1 + Scalar.errorFunction(x * Scalar(1 / 2.0.squareRoot()))) / 2
    }
}

/// GELU's tanh approximation, `x/2 · (1 + tanh(u))` with `u = √(2/π) · (x + 0.044715 x³)`; its derivative is
/// `(1 + tanh u)/2 + x/2 · sech² u · √(2/π) · (1 + 3 · 0.044715 x²)`, with `sech² u = 4e / (1 + e)²`, `e = e^(−2|u|)`
/// (`1 − tanh² u` cancels in Float once `|u|` passes about 9, where the term is still about 1e-6 for x near −5).
struct GaussianErrorLinearTanh: ElementwiseFunction {
    /// `√(2/π)` and the cubic term's coefficient.
    static let scale = (2 / Double.pi).squareRoot()
    static let cubic = 0.044715

    var identifier: String { "gelu_tanh" }
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar {
        x / 2 * (1 + Scalar.hyperbolicTangent(Self.argument(x)))
    }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar {
        let u = Self.argument(x)
        let e = Scalar.exponential(-2 * Swift.abs(u))
        let sechSquared: Scalar = 4 * e / ((1 + e) * (1 + e))
        let slope: Scalar = Scalar(Self.scale) * (1 + 3 * Scalar(Self.cubic) * x * x)
        return (1 + Scalar.hyperbolicTangent(u)) / 2 + x / 2 * sechSquared * slope
    }
    func derivative(_ x: Tensor) throws -> Tensor {
        let u = try (x + x * x * x * Self.cubic) * Self.scale
        let e = try (u.abs() * -2).exp()
        let sechSquared = try e * 4 / ((e + 1) * (e + 1))
        let slope = try (x * x * (3 * Self.cubic) + 1) * Self.scale
        return try (u.tanh() + 1) * 0.5 + x * 0.5 * sechSquared * slope
    }

    /// `u = √(2/π) · (x + 0.044715 x³)`.
    static func argument<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar {
        let cube: Scalar = x * x * x
        return Scalar(scale) * (x + Scalar(cubic) * cube)
    }
    var isFusibleActivation: Bool { true }
}

/// SiLU (swish), `x · σ(x)`; `silu'(x) = σ(x) · (1 + x · σ(−x))`, written with `σ(−x)` for `1 − σ(x)`, which would
/// cancel for large `x`.
struct SigmoidLinear: ElementwiseFunction {
    var identifier: String { "silu" }
    func value<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { x * Scalar.sigmoid(x) }
    func derivative<Scalar: ReferenceScalar>(_ x: Scalar) -> Scalar { Scalar.sigmoid(x) * (1 + x * Scalar.sigmoid(-x)) }
    func derivative(_ x: Tensor) throws -> Tensor { try x.sigmoid() * (x * (-x).sigmoid() + 1) }
    var isFusibleActivation: Bool { true }
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
