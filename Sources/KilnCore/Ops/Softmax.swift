// Softmax and log-softmax along one axis, computed with the maximum subtracted; each decomposes into a maximum,
// an exponential and a sum.

/// Input `x`: softmax (or, when `logarithmic`, log-softmax) along `axis`.
struct Softmax: Decomposable {
    let axis: Int
    let logarithmic: Bool

    var name: String { logarithmic ? "log_softmax" : "softmax" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(1)
        try rule.axis(axis, rank: rule.shapes[0].rank)
        try rule.require(rule.shapes[0][axis] > 0, "softmax over an empty axis")
        return rule.shapes[0]
    }

    func gradients(inputs: [Tensor], output y: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        if logarithmic { return [try g - y.exp() * g.sum(axes: [axis], keepDimensions: true)] }
        return [try y * (g - (g * y).sum(axes: [axis], keepDimensions: true))]
    }

    /// Each row's maximum is subtracted before exponentiating, so that large inputs do not overflow.
    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let x = inputs[0]
        let (outer, size, inner) = shapes[0].split(at: axis)
        var result = [Scalar](repeating: 0, count: x.count)
        for o in 0..<outer {
            for i in 0..<inner {
                // The row along the axis: element j sits at (o * size + j) * inner + i.
                let row = (0..<size).map { j in (o * size + j) * inner + i }
                let maximum = row.map { x[$0] }.max() ?? 0
                let sum = row.map { Scalar.exponential(x[$0] - maximum) }.reduce(0, +)
                for position in row {
                    let shifted = x[position] - maximum
                    result[position] = logarithmic ? shifted - Scalar.logarithm(sum) : Scalar.exponential(shifted) / sum
                }
            }
        }
        return result
    }

    /// `e / Σ e` or `(x − m) − log Σ e`, with `m` the row's maximum and `e = exp(x − m)`.
    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let shifted = try inputs[0] - inputs[0].max(axes: [axis], keepDimensions: true)
        let exponentials = try shifted.exp()
        let sum = try exponentials.sum(axes: [axis], keepDimensions: true)
        return try logarithmic ? shifted - sum.log() : exponentials / sum
    }
}
