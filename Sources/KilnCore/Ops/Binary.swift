// The binary family: elementwise functions of two arguments with NumPy broadcasting, their values for the reference
// loops and their gradients. All belong to the minimal set.

/// Elementwise functions of two arguments.
public enum BinaryFunction: Hashable, Sendable {
    case add, subtract, multiply, divide
    /// `a` raised to `b`.
    case power
    case maximum, minimum
    /// `1` where `a == b`, else `0`; no gradient.
    case equal
    /// `1` where `a > b`, else `0`; no gradient.
    case greater

    /// `f(a, b)`. `maximum` and `minimum` follow `Swift.max` and `Swift.min`.
    func value<Scalar: ReferenceScalar>(_ a: Scalar, _ b: Scalar) -> Scalar {
        switch self {
        case .add: a + b
        case .subtract: a - b
        case .multiply: a * b
        case .divide: a / b
        case .power: Scalar.power(a, b)
        case .maximum: Swift.max(a, b)
        case .minimum: Swift.min(a, b)
        case .equal: a == b ? 1 : 0
        case .greater: a > b ? 1 : 0
        }
    }

    /// The gradients of `f(a, b)` given the output's gradient, before they are summed back to each operand's shape;
    /// nil for the comparisons, which have none. `negateB`: b's gradient is the negation of the one returned, applied
    /// after the sum (exactly the same values; a broadcast b is negated at its own size, not the output's).
    func gradients(a: Tensor, b: Tensor, output: Tensor, g: Tensor) throws -> (a: Tensor, b: Tensor, negateB: Bool)? {
        switch self {
        case .add: return (g, g, false)
        case .subtract: return (g, g, true)
        case .multiply: return (try g * b, try g * a, false)
        case .divide: return (try g / b, try g * output / b, true)
        case .power:
            // d(a^b)/da = b·a^(b−1); d(a^b)/db = a^b·log(a) (only evaluated when b needs a gradient).
            return (try g * b * a.pow(b - 1), try g * output * a.log(), false)
        case .maximum:
            // Ties send the gradient to `a`.
            let bWins = try b.greater(a)
            return (try g * (1 - bWins), try g * bWins, false)
        case .minimum:
            let aWins = try b.greater(a)
            return (try g * aWins, try g * (1 - aWins), false)
        case .equal, .greater:
            return nil
        }
    }
}

/// Inputs `(a, b)` broadcast against each other (NumPy rules): `f(a, b)`.
struct Binary: OpDefinition {
    let function: BinaryFunction

    var name: String { "\(function)" }
    var isElementwise: Bool { true }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(2)
        guard let shape = Shape.broadcast(rule.shapes[0], rule.shapes[1]) else { throw rule.error("shapes do not broadcast") }
        return shape
    }

    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        let (a, b) = (inputs[0], inputs[1])
        guard let (ga, gb, negateB) = try function.gradients(a: a, b: b, output: output, g: g) else { return [nil, nil] }
        let summedB = try gb.sum(to: b.shape)
        return [try ga.sum(to: a.shape), negateB ? try -summedB : summedB]
    }

    /// `a` and `b` broadcast to the output's shape: along a broadcast axis the stride is 0, so every output
    /// coordinate along it reads the same element. Operands of the output's size (same elements, same order) and
    /// single elements skip the index arithmetic.
    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (a, b) = (inputs[0], inputs[1])
        switch (a.count, b.count) {
        case (output.count, output.count): return zip(a, b).map { function.value($0, $1) }
        case (output.count, 1): return a.map { function.value($0, b[0]) }
        case (1, output.count): return b.map { function.value(a[0], $0) }
        default: break
        }
        let aStrides = shapes[0].broadcastStrides(to: output)
        let bStrides = shapes[1].broadcastStrides(to: output)
        return (0..<output.count).map { index in
            function.value(a[output.offset(ofFlatIndex: index, strides: aStrides)], b[output.offset(ofFlatIndex: index, strides: bStrides)])
        }
    }
}
