// The reduce family: sum, mean and max over axes (minimal), and argmax along one axis (decomposed into reductions
// and comparisons).

/// Reductions over axes.
public enum Reduction: Hashable, Sendable {
    case sum, mean, max
}

/// Input `x`: reduced over the sorted, distinct `axes`, which are kept with size 1 when `keepDimensions`. The maximum
/// skips NaN (`Swift.max(m, NaN)` keeps `m`; the OpenCL kernels compare the same way), so a row of NaN gives −∞.
struct Reduce: OpDefinition {
    let reduction: Reduction
    let axes: [Int]
    let keepDimensions: Bool

    var name: String { "reduce_\(reduction)" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(1)
        let x = rule.shapes[0]
        try rule.require(axes == Array(Set(axes)).sorted(), "axes \(axes) must be sorted and distinct")
        for axis in axes { try rule.axis(axis, rank: x.rank) }
        try rule.require(axes.allSatisfy { x[$0] > 0 }, "reducing an empty axis")
        var dims: [Int] = []
        for (axis, size) in x.dimensions.enumerated() {
            if !axes.contains(axis) { dims.append(size) } else if keepDimensions { dims.append(1) }
        }
        return Shape(dims)
    }

    func gradients(inputs: [Tensor], output y: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        let x = inputs[0]
        var kept = x.shape.dimensions
        for axis in axes { kept[axis] = 1 }
        let gKept = try g.reshaped(Shape(kept))
        switch reduction {
        case .sum:
            return [try gKept.broadcast(to: x.shape)]
        case .mean:
            let count = axes.reduce(1) { $0 * x.shape[$1] }
            return [try (gKept / Double(count)).broadcast(to: x.shape)]
        case .max:
            // Ties share the gradient equally, as in PyTorch's amax.
            let isMax = try x.equal(y.reshaped(Shape(kept)))
            let ties = try isMax.sum(axes: axes, keepDimensions: true)
            return [try isMax * (gKept / ties)]
        }
    }

    /// The output's elements are in the same order whether or not the reduced axes are kept with size 1, so both
    /// layouts share this loop.
    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (x, xShape) = (inputs[0], shapes[0])
        // The output as a shape of the same rank, with size 1 along each reduced axis.
        var keptDimensions = xShape.dimensions
        for axis in axes { keptDimensions[axis] = 1 }
        let keptShape = Shape(keptDimensions)
        // Reading x's coordinates with these strides gives the output offset: reduced axes contribute 0.
        var strides = keptShape.strides
        for axis in axes { strides[axis] = 0 }

        let reducedCount = axes.map { xShape[$0] }.reduce(1, *)
        let start: Scalar = reduction == .max ? -.infinity : 0
        var result = [Scalar](repeating: start, count: keptShape.count)
        for index in 0..<x.count {
            let target = xShape.offset(ofFlatIndex: index, strides: strides)
            switch reduction {
            case .sum, .mean: result[target] += x[index]
            case .max: result[target] = Swift.max(result[target], x[index])
            }
        }
        if reduction == .mean {
            result = result.map { $0 / Scalar(reducedCount) }
        }
        return result
    }
}

/// Input `x`: the index (as a float) of the first maximum along `axis` (negative counts from the end), which is
/// removed from the shape. NaN counts as larger than every number, so a row holding NaN gives the index of its first
/// NaN (NumPy's and PyTorch's rule). No gradient.
struct ArgMax: Decomposable {
    let axis: Int

    var name: String { "argmax" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(1)
        let x = rule.shapes[0]
        try rule.require(axis >= -x.rank && axis < x.rank, "axis \(axis) is out of range for rank \(x.rank)")
        var dims = x.dimensions
        dims.remove(at: x.normalized(axis: axis))
        return Shape(dims)
    }

    func gradients(inputs: [Tensor], output: Tensor, gradient: Tensor) throws -> [Tensor?] { [nil] }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let x = inputs[0]
        let (outer, size, inner) = shapes[0].split(at: shapes[0].normalized(axis: axis))
        var result = [Scalar](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                // The row along the axis: element j sits at (o * size + j) * inner + i.
                var best = 0
                for j in 1..<size {
                    let (value, current) = (x[(o * size + j) * inner + i], x[(o * size + best) * inner + i])
                    if current.isNaN { break }
                    if value.isNaN || value > current { best = j }
                }
                result[o * inner + i] = Scalar(best)
            }
        }
        return result
    }

    /// Each element scores 2 when NaN, 1 when it equals the row's maximum (which skips NaN), else 0; the winners hold
    /// the row's best score, and the result is the smallest winner's position, a maximum of negated positions.
    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let x = inputs[0]
        let axis = x.shape.normalized(axis: axis)
        let size = x.shape[axis]
        let isNaN = try 1 - x.equal(x)
        let score = try isNaN * 2 + x.equal(x.max(axes: [axis], keepDimensions: true))
        let winners = try score.equal(score.max(axes: [axis], keepDimensions: true))
        let positions = try Tensor.positions(size, axis: axis, rank: x.shape.rank, on: x.device)
        let candidates = try winners * positions + (1 - winners) * Double(size)
        return try -(-candidates).max(axes: [axis])
    }
}

extension Tensor {
    /// A constant `0, 1, ..., count − 1` along `axis` of a tensor of `rank` with every other axis of size 1, for
    /// broadcasting against a tensor with `count` elements along that axis.
    static func positions(_ count: Int, axis: Int, rank: Int, on device: Device) throws -> Tensor {
        var dims = [Int](repeating: 1, count: rank)
        dims[axis] = count
        return try Tensor((0..<count).map(Double.init), shape: Shape(dims), on: device)
    }
}
