// The matrix-product family: matmul (minimal), bias addition along the channel axis, and linear, the fused
// matmul + bias + activation that plans create (both decomposed into the ops they fuse).

/// Inputs `(a, b)`, rank 2 (`[M, K] x [K, N]`) or rank 3 with equal batch (`[B, M, K] x [B, K, N]`); a transposed
/// operand is stored with its last two axes swapped.
struct Matmul: OpDefinition {
    let transposeA: Bool
    let transposeB: Bool

    var name: String { "matmul" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(2)
        let (a, b) = (rule.shapes[0], rule.shapes[1])
        try rule.require(a.rank == b.rank && (a.rank == 2 || a.rank == 3), "operands must both be rank 2 or both rank 3")
        let m = transposeA ? a[a.rank - 1] : a[a.rank - 2]
        let k = transposeA ? a[a.rank - 2] : a[a.rank - 1]
        let kB = transposeB ? b[b.rank - 1] : b[b.rank - 2]
        let n = transposeB ? b[b.rank - 2] : b[b.rank - 1]
        try rule.require(k == kB, "inner dimensions \(k) and \(kB) differ")
        if a.rank == 3 {
            try rule.require(a[0] == b[0], "batch sizes \(a[0]) and \(b[0]) differ")
            return [a[0], m, n]
        }
        return [m, n]
    }

    /// With C = op(A)·op(B): dop(A) = G·op(B)ᵀ and dop(B) = op(A)ᵀ·G, written back in each operand's stored layout.
    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        let (a, b) = (inputs[0], inputs[1])
        switch (transposeA, transposeB) {
        case (false, false):
            return [try g.matmul(b, transposeOther: true), try a.matmul(g, transposeSelf: true)]
        case (false, true):
            return [try g.matmul(b), try g.matmul(a, transposeSelf: true)]
        case (true, false):
            return [try b.matmul(g, transposeOther: true), try a.matmul(g)]
        case (true, true):
            return [try b.matmul(g, transposeSelf: true, transposeOther: true), try g.matmul(a, transposeSelf: true, transposeOther: true)]
        }
    }

    /// `C[b, i, j] = sum over p of A[b, i, p] * B[b, p, j]`. A transposed operand is stored with its last two axes
    /// swapped: `A` as `[B, K, M]`, `B` as `[B, N, K]`. Rank 2 is one batch.
    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (a, b, aShape) = (inputs[0], inputs[1], shapes[0])
        let batch = output.rank == 3 ? output[0] : 1
        let m = output[output.rank - 2]
        let n = output[output.rank - 1]
        let k = transposeA ? aShape[aShape.rank - 2] : aShape[aShape.rank - 1]
        var result = [Scalar](repeating: 0, count: batch * m * n)
        for batchIndex in 0..<batch {
            let aBase = batchIndex * m * k
            let bBase = batchIndex * k * n
            for i in 0..<m {
                for j in 0..<n {
                    var sum: Scalar = 0
                    for p in 0..<k {
                        // A[i, p] is stored at [p, i] of a [K, M] matrix when transposed.
                        let aValue = a[aBase + (transposeA ? p * m + i : i * k + p)]
                        // B[p, j] is stored at [j, p] of an [N, K] matrix when transposed.
                        let bValue = b[bBase + (transposeB ? j * k + p : p * n + j)]
                        sum += aValue * bValue
                    }
                    result[(batchIndex * m + i) * n + j] = sum
                }
            }
        }
        return result
    }
}

/// Inputs `(x [N, C, ...], b [C])`: `b` added along axis 1.
struct BiasAdd: Decomposable {
    var name: String { "bias_add" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(2)
        let x = rule.shapes[0]
        try rule.require(x.rank >= 2, "x must have a channel axis 1")
        try rule.require(rule.shapes[1] == [x[1]], "bias must be [\(x[1])]")
        return x
    }

    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        [g, try g.sum(axes: (0..<g.shape.rank).filter { $0 != 1 })]
    }

    /// `x[n, c, ...] + bias[c]`.
    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (x, bias) = (inputs[0], inputs[1])
        let (_, channels, inner) = shapes[0].split(at: 1)
        // Element `index` lies in channel (index / inner) % channels.
        return x.indices.map { index in x[index] + bias[(index / inner) % channels] }
    }

    /// `x + b` with `b` reshaped to `[C, 1, ...]`, broadcast over the batch and the trailing axes.
    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let (x, bias) = (inputs[0], inputs[1])
        return try x + bias.reshaped(Shape([x.shape[1]] + [Int](repeating: 1, count: x.shape.rank - 2)))
    }
}

/// Inputs `(a, b, bias [N])`, rank 2: `activation(op(a) · op(b) + bias)`, the fused form of matmul, bias add and an
/// optional activation that plans create.
struct Linear: Decomposable {
    let transposeA: Bool
    let transposeB: Bool
    let activation: UnaryFunction?

    var name: String { "linear" }
    var product: Matmul { Matmul(transposeA: transposeA, transposeB: transposeB) }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(3)
        try rule.require(rule.shapes[0].rank == 2, "operands must be rank 2")
        if let activation { try rule.require(activation.isFusibleActivation, "\(activation) cannot be fused") }
        let productShape = try rule.renamed { () throws(ShapeError) in
            try product.outputShape(ShapeRule(op: "matmul", shapes: [rule.shapes[0], rule.shapes[1]]))
        }
        try rule.require(rule.shapes[2] == [productShape[1]], "bias must be [\(productShape[1])]")
        return productShape
    }

    /// The decomposition's gradients: through the activation, then the bias add and the matmul.
    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        let preactivation = try inputs[0].matmul(inputs[1], transposeSelf: transposeA, transposeOther: transposeB).addingBias(inputs[2])
        let gPre = try activation.map { try Tensor.apply(.unaryGradient($0), [preactivation, g]) } ?? g
        return try product.gradients(inputs: [inputs[0], inputs[1]], output: output, gradient: gPre) + [gPre.sum(axes: [0])]
    }

    /// The fused op is defined by its decomposition.
    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let productValues = try product.evaluate([inputs[0], inputs[1]], [shapes[0], shapes[1]], output: output)
        let biased = try BiasAdd().evaluate([productValues, inputs[2]], [output, shapes[2]], output: output)
        return try activation.map { try Unary(function: $0).evaluate([biased], [output], output: output) } ?? biased
    }

    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let biased = try inputs[0].matmul(inputs[1], transposeSelf: transposeA, transposeOther: transposeB).addingBias(inputs[2])
        return try activation.map { try Tensor.apply(.unary($0), [biased]) } ?? biased
    }
}

/// Inputs `(a, b, x)`, rank 2: `op(a) · op(b) ⊙ activation'(x)`, the fused form of a matmul and the activation's
/// gradient that reads it (`unaryGradient(activation)` with inputs `(x, op(a) · op(b))`), which plans create.
struct LinearGradient: Decomposable {
    let transposeA: Bool
    let transposeB: Bool
    let activation: UnaryFunction

    var name: String { "matmul_\(activation)_grad" }
    var product: Matmul { Matmul(transposeA: transposeA, transposeB: transposeB) }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.arity(3)
        try rule.require(rule.shapes[0].rank == 2, "operands must be rank 2")
        try rule.require(activation.isFusibleActivation, "\(activation) cannot be fused")
        let productShape = try rule.renamed { () throws(ShapeError) in
            try product.outputShape(ShapeRule(op: "matmul", shapes: [rule.shapes[0], rule.shapes[1]]))
        }
        try rule.require(rule.shapes[2] == productShape, "x must be \(productShape), the product's shape")
        return productShape
    }

    /// The fused op is defined by its decomposition.
    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let productValues = try product.evaluate([inputs[0], inputs[1]], [shapes[0], shapes[1]], output: output)
        return try UnaryGradient(function: activation).evaluate([inputs[2], productValues], [output, output], output: output)
    }

    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let productTensor = try inputs[0].matmul(inputs[1], transposeSelf: transposeA, transposeOther: transposeB)
        return try Tensor.apply(.unaryGradient(activation), [inputs[2], productTensor])
    }
}
