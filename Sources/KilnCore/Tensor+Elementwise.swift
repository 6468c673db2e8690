// Elementwise tensor operations: arithmetic with broadcasting and scalars, activations, comparisons.

extension Tensor {
    /// A one-element tensor of `value` on this tensor's device, for scalar operands.
    func constant(_ value: Double) throws -> Tensor { try Tensor.full(value, shape: [], on: device) }

    func unary(_ function: UnaryFunction) throws -> Tensor { try Tensor.apply(.unary(function), [self]) }
    func binary(_ function: BinaryFunction, _ other: Tensor) throws -> Tensor { try Tensor.apply(.binary(function), [self, other]) }

    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.add, b) }
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.subtract, b) }
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.multiply, b) }
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.divide, b) }
    public static func + (a: Tensor, b: Double) throws -> Tensor { try a.binary(.add, a.constant(b)) }
    public static func - (a: Tensor, b: Double) throws -> Tensor { try a.binary(.subtract, a.constant(b)) }
    public static func * (a: Tensor, b: Double) throws -> Tensor { try a.binary(.multiply, a.constant(b)) }
    public static func / (a: Tensor, b: Double) throws -> Tensor { try a.binary(.divide, a.constant(b)) }
    public static func + (a: Double, b: Tensor) throws -> Tensor { try b.constant(a).binary(.add, b) }
    public static func - (a: Double, b: Tensor) throws -> Tensor { try b.constant(a).binary(.subtract, b) }
    public static func * (a: Double, b: Tensor) throws -> Tensor { try b.constant(a).binary(.multiply, b) }
    public static func / (a: Double, b: Tensor) throws -> Tensor { try b.constant(a).binary(.divide, b) }
    public static prefix func - (x: Tensor) throws -> Tensor { try x.unary(.negate) }

    /// `self` raised to `exponent`, elementwise with broadcasting.
    public func pow(_ exponent: Tensor) throws -> Tensor { try binary(.power, exponent) }
    /// `self` raised to a scalar `exponent`.
    public func pow(_ exponent: Double) throws -> Tensor { try binary(.power, constant(exponent)) }
    public func maximum(_ other: Tensor) throws -> Tensor { try binary(.maximum, other) }
    public func minimum(_ other: Tensor) throws -> Tensor { try binary(.minimum, other) }
    /// `1` where equal, else `0`.
    public func equal(_ other: Tensor) throws -> Tensor { try binary(.equal, other) }
    /// `1` where `self > other`, else `0`.
    public func greater(_ other: Tensor) throws -> Tensor { try binary(.greater, other) }

    public func exp() throws -> Tensor { try unary(.exp) }
    public func log() throws -> Tensor { try unary(.log) }
    public func sqrt() throws -> Tensor { try unary(.sqrt) }
    public func abs() throws -> Tensor { try unary(.abs) }
    public func relu() throws -> Tensor { try unary(.relu) }
    public func leakyRelu(slope: Double = 0.01) throws -> Tensor { try unary(.leakyRelu(slope: slope)) }
    public func sigmoid() throws -> Tensor { try unary(.sigmoid) }
    public func tanh() throws -> Tensor { try unary(.tanh) }
    /// `log(1 + exp(x))`, stable for large `|x|`.
    public func softplus() throws -> Tensor { try unary(.softplus) }
    /// The error function.
    public func erf() throws -> Tensor { try unary(.erf) }
    /// GELU, `x · Φ(x)`; `approximate` takes PyTorch's tanh approximation instead of the error function.
    public func gelu(approximate: Bool = false) throws -> Tensor { try unary(approximate ? .geluTanh : .gelu) }
    /// SiLU (swish), `x · σ(x)`.
    public func silu() throws -> Tensor { try unary(.silu) }

    /// Zeros a fraction `probability` of the elements and scales the rest by `1 / (1 - probability)`.
    /// The mask depends only on `seed` and the element index, so every backend draws the same one.
    public func dropout(probability: Double, seed: UInt64) throws -> Tensor {
        try self * Tensor.apply(.dropoutMask(probability: probability, seed: seed, shape: shape), [], on: device)
    }

    /// Rows of zeros with a one at each label's class; `self` holds class indices as floats.
    public func oneHot(classes: Int) throws -> Tensor { try Tensor.apply(.oneHot(classes: classes), [self]) }
}
