// Ops without inputs: data leaves, constant fills and dropout masks (with the counter-based hash every backend
// draws masks from). All three belong to the minimal set.

/// A leaf whose values the user wrote; the executor never runs it.
struct DataLeaf: OpDefinition {
    var name: String { "data" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        throw rule.error("a data leaf has no shape rule")
    }

    func gradients(inputs: [Tensor], output: Tensor, gradient: Tensor) throws -> [Tensor?] { [] }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        throw TensorError.notExecutable(op: name)
    }
}

/// `shape` filled with `value`.
struct Fill: OpDefinition {
    let value: Double
    let shape: Shape

    var name: String { "fill" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(0)
        try rule.require(shape.dimensions.allSatisfy { $0 > 0 }, "zero-sized dimension in \(shape)")
        return shape
    }

    func gradients(inputs: [Tensor], output: Tensor, gradient: Tensor) throws -> [Tensor?] { [] }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        [Scalar](repeating: Scalar(value), count: output.count)
    }
}

/// A dropout mask: element `i` is `0` when `DropoutHash.bits(seed:index: i)` is below the probability's threshold,
/// else `1 / (1 - probability)`, so the kept elements keep their expected value.
struct DropoutMask: OpDefinition {
    let probability: Double
    let seed: UInt64
    let shape: Shape

    var name: String { "dropout_mask" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(0)
        try rule.require(probability >= 0 && probability < 1, "probability \(probability) is outside [0, 1)")
        try rule.require(shape.dimensions.allSatisfy { $0 > 0 }, "zero-sized dimension in \(shape)")
        return shape
    }

    func gradients(inputs: [Tensor], output: Tensor, gradient: Tensor) throws -> [Tensor?] { [] }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let kept = Scalar(1 / (1 - probability))
        let threshold = DropoutHash.threshold(probability: probability)
        return (0..<output.count).map { index in
            DropoutHash.bits(seed: seed, index: index) < threshold ? 0 : kept
        }
    }
}

/// The counter-based random numbers behind `Op.dropoutMask`: a SplitMix64 finaliser of
/// `seed ^ (index * golden ratio)`, whose top 24 bits are compared with an integer threshold, so every
/// backend draws exactly the same mask (no float comparison near `p`).
public enum DropoutHash {
    /// 24 random bits for element `index`.
    @inlinable
    public static func bits(seed: UInt64, index: Int) -> UInt32 {
        var z = seed ^ (UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z = z ^ (z >> 31)
        return UInt32(truncatingIfNeeded: z >> 40)
    }

    /// Elements whose bits are below this are dropped: `ceil(probability · 2²⁴)`.
    @inlinable
    public static func threshold(probability: Double) -> UInt32 {
        UInt32((probability * 16_777_216).rounded(.up))
    }

    /// A uniform number in `[0, 1)` with 24 random bits (for statistics; masks compare `bits` with `threshold`).
    @inlinable
    public static func uniform(seed: UInt64, index: Int) -> Double {
        Double(bits(seed: seed, index: index)) / 16_777_216.0
    }
}
