// SeededInput: one input of an op case as a shape and a rule for its values, drawn from the case's seed,
// so every device and every run sees the same numbers. Also the seeded draws the catalog and tests share.
import KilnCore

/// An input of a case: its shape and how its values are drawn.
public struct SeededInput: Sendable, CustomStringConvertible {
    /// How the values of an input are chosen.
    public enum Values: Sendable {
        /// Uniform in the range.
        case uniform(ClosedRange<Double>)
        /// Uniform in the range, with one element in eight exactly 0 (to pin the kinks of relu and abs).
        case uniformWithZeros(ClosedRange<Double>)
        /// Uniform in the (positive) range with a random sign: divisors away from zero.
        case awayFromZero(ClosedRange<Double>)
        /// Each element one of a few values, so that ties occur (max, comparisons, pooling windows).
        case levels([Double])
        /// Class indices as floats for `classes` classes; one label in `invalidEvery` (0: none) is invalid:
        /// −1, `classes`, `classes + 3`, 0.5 (for one class: −0.5) or NaN.
        case labels(classes: Int, invalidEvery: Int)
        /// These values, in order.
        case fixed([Double])
        /// The reference backend's output (in Double) of `op` on the case's earlier inputs at `inputs`: an
        /// input that is another op's result in a training step (an LSTM's saved state, for example).
        case referenceOutput(Op, inputs: [Int])
    }

    public var shape: Shape
    public var values: Values

    public init(_ shape: Shape, _ values: Values = .uniform(-1...1)) {
        self.shape = shape
        self.values = values
    }

    public var description: String { "\(shape)" }

    /// Draws the values (`earlier` are the case's inputs before this one), rounded to Float32.
    public func draw(using random: inout RandomSource, earlier: [HostTensor] = []) throws -> HostTensor {
        let count = shape.count
        let drawn: [Double]
        switch values {
        case .uniform(let range):
            drawn = random.values(count, in: range)
        case .uniformWithZeros(let range):
            drawn = (0..<count).map { _ in
                let value = Double.random(in: range, using: &random)
                return Int.random(in: 0..<8, using: &random) == 0 ? 0 : value
            }
        case .awayFromZero(let range):
            drawn = (0..<count).map { _ in
                let magnitude = Double.random(in: range, using: &random)
                return Bool.random(using: &random) ? magnitude : -magnitude
            }
        case .levels(let levels):
            drawn = (0..<count).map { _ in random.pick(levels) }
        case .labels(let classes, let invalidEvery):
            let invalid = [-1, Double(classes), Double(classes + 3), classes > 1 ? 0.5 : -0.5, .nan]
            drawn = (0..<count).map { _ in
                if invalidEvery > 0, Int.random(in: 0..<invalidEvery, using: &random) == 0 { return random.pick(invalid) }
                return Double(Int.random(in: 0..<classes, using: &random))
            }
        case .fixed(let values):
            guard values.count == count else {
                throw CheckError.badCase("fixed input of shape \(shape) has \(values.count) values")
            }
            drawn = values
        case .referenceOutput(let op, let indices):
            guard let last = indices.max(), last < earlier.count else {
                throw CheckError.badCase("input \(earlier.count) reads inputs \(indices) of the case")
            }
            let output = try ReferenceRun.execute(op, indices.map { earlier[$0] })
            guard output.shape == shape else {
                throw CheckError.badCase("\(op.name) gives \(output.shape), the input is declared \(shape)")
            }
            drawn = output.values
        }
        return HostTensor(drawn, shape).roundedToFloat
    }
}

extension RandomSource {
    /// `count` uniform values in `range`.
    public mutating func values(_ count: Int, in range: ClosedRange<Double> = -1...1) -> [Double] {
        (0..<count).map { _ in Double.random(in: range, using: &self) }
    }

    /// A random element of `choices` (which must not be empty).
    public mutating func pick<T>(_ choices: [T]) -> T { choices[Int.random(in: 0..<choices.count, using: &self)] }
}
