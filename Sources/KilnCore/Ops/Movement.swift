// The movement family: reshape, broadcast, transpose, slice, pad and concatenate. They copy elements without
// arithmetic (slice, pad and concatenate view a tensor as [outer, axis, inner]), their gradients are movements
// too, and all belong to the minimal set (a reshape never reaches a backend: it shares its input's storage).

/// Input `x`: the same elements in `shape`.
struct Reshape: OpDefinition {
    let shape: Shape

    var name: String { "reshape" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(1)
        try rule.require(shape.dimensions.allSatisfy { $0 > 0 }, "zero-sized or negative dimension in \(shape)")
        try rule.require(shape.count == rule.shapes[0].count, "cannot reshape \(rule.shapes[0].count) elements to \(shape)")
        return shape
    }

    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        [try g.reshaped(inputs[0].shape)]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] { inputs[0] }
}

/// Input `x`: copied into `shape`; along a broadcast axis every output element reads the same input element.
struct Broadcast: OpDefinition {
    let shape: Shape

    var name: String { "broadcast" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(1)
        try rule.require(rule.shapes[0].broadcasts(to: shape), "does not broadcast to \(shape)")
        return shape
    }

    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        [try g.sum(to: inputs[0].shape)]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let strides = shapes[0].broadcastStrides(to: shape)
        return (0..<shape.count).map { index in inputs[0][shape.offset(ofFlatIndex: index, strides: strides)] }
    }
}

/// Input `x`: axes permuted, `output.dims[i] = x.dims[permutation[i]]`.
struct Transpose: OpDefinition {
    let permutation: [Int]

    var name: String { "transpose" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(1)
        let x = rule.shapes[0]
        try rule.require(permutation.sorted() == Array(0..<x.rank), "permutation \(permutation) is not a permutation of the axes")
        return Shape(permutation.map { x[$0] })
    }

    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        var inverse = permutation
        for (index, axis) in permutation.enumerated() { inverse[axis] = index }
        return [try g.transposed(inverse)]
    }

    /// `output[i0, i1, ...]` is `x` at the coordinates where axis `permutation[k]` has coordinate `ik`.
    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        // Walking output axis k moves along input axis permutation[k].
        let inputStrides = shapes[0].strides
        let strides = permutation.map { inputStrides[$0] }
        return (0..<output.count).map { index in inputs[0][output.offset(ofFlatIndex: index, strides: strides)] }
    }
}

/// Input `x`: elements `start ..< start + length` along `axis`.
struct Slice: OpDefinition {
    let axis: Int, start: Int, length: Int

    var name: String { "slice" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(1)
        let x = rule.shapes[0]
        try rule.axis(axis, rank: x.rank)
        try rule.require(
            start >= 0 && length > 0 && start + length <= x[axis],
            "range \(start)..<\(start + length) is outside axis \(axis) of size \(x[axis])")
        var dims = x.dimensions
        dims[axis] = length
        return Shape(dims)
    }

    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        [try g.padded(axis: axis, before: start, after: inputs[0].shape[axis] - start - length)]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (outer, size, inner) = shapes[0].split(at: axis)
        var result: [Scalar] = []
        result.reserveCapacity(outer * length * inner)
        for o in 0..<outer {
            for j in start..<(start + length) {
                for i in 0..<inner {
                    result.append(inputs[0][(o * size + j) * inner + i])
                }
            }
        }
        return result
    }
}

/// Input `x`: zero-padded along `axis` by `before` and `after` elements (the gradient of `slice`).
struct Pad: OpDefinition {
    let axis: Int, before: Int, after: Int

    var name: String { "pad" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(1)
        let x = rule.shapes[0]
        try rule.axis(axis, rank: x.rank)
        try rule.require(before >= 0 && after >= 0, "negative padding \(before), \(after)")
        var dims = x.dimensions
        dims[axis] += before + after
        return Shape(dims)
    }

    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        [try g.slice(axis: axis, start: before, length: inputs[0].shape[axis])]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (outer, size, inner) = shapes[0].split(at: axis)
        let paddedSize = before + size + after
        var result = [Scalar](repeating: 0, count: outer * paddedSize * inner)
        for o in 0..<outer {
            for j in 0..<size {
                for i in 0..<inner {
                    // Input position j along the axis lands at before + j in the output.
                    result[(o * paddedSize + before + j) * inner + i] = inputs[0][(o * size + j) * inner + i]
                }
            }
        }
        return result
    }
}

/// Inputs `x0, x1, ...`: joined along `axis`.
struct Concatenate: OpDefinition {
    let axis: Int

    var name: String { "concatenate" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        let inputs = rule.shapes
        try rule.require(!inputs.isEmpty, "needs at least one input")
        try rule.axis(axis, rank: inputs[0].rank)
        var dims = inputs[0].dimensions
        for shape in inputs.dropFirst() {
            var other = shape.dimensions
            try rule.require(other.count == dims.count, "ranks differ")
            other[axis] = dims[axis]
            try rule.require(other == dims, "shapes differ outside axis \(axis)")
            dims[axis] += shape[axis]
        }
        return Shape(dims)
    }

    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        var start = 0
        return try inputs.map { input in
            defer { start += input.shape[axis] }
            return try g.slice(axis: axis, start: start, length: input.shape[axis])
        }
    }

    /// For each outer index, each input's block of `size * inner` elements in turn.
    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (outer, _, _) = output.split(at: axis)
        var result: [Scalar] = []
        result.reserveCapacity(output.count)
        for o in 0..<outer {
            for (x, shape) in zip(inputs, shapes) {
                let (_, size, inner) = shape.split(at: axis)
                let block = size * inner
                result.append(contentsOf: x[(o * block)..<((o + 1) * block)])
            }
        }
        return result
    }
}
