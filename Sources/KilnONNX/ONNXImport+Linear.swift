// Matrix products: Gemm (with transA, transB, alpha and beta; a bias of one row becomes a bias add, which
// plans fuse with the product and a following activation) and MatMul (NumPy's matmul: 1-D operands,
// broadcast batch axes).
import KilnCore

extension ONNXImport {
    /// `alpha · op(A) · op(B) + beta · C`.
    static func gemm(_ graph: ONNXGraphBuilder, _ node: ONNXNode) throws -> [Tensor] {
        let (a, b) = (try graph.input(node, 0), try graph.input(node, 1))
        let transposeA = try node.int("transA", default: 0) != 0
        let transposeB = try node.int("transB", default: 0) != 0
        let alpha = try node.float("alpha", default: 1)
        let beta = try node.float("beta", default: 1)
        guard a.shape.rank == 2, b.shape.rank == 2 else { throw node.invalid("A \(a.shape) and B \(b.shape) must be matrices") }
        var y = try a.matmul(b, transposeSelf: transposeA, transposeOther: transposeB)
        if alpha != 1 { y = try y * Double(alpha) }
        guard var c = try graph.optionalInput(node, 2) else { return [y] }
        if beta != 1 { c = try graph.fold(c * Double(beta)) }
        let columns = y.shape[1]
        if c.shape == [columns] || c.shape == [1, columns] {
            return [try y.addingBias(c.reshaped([columns]))]
        }
        return [try y + c]
    }

    /// NumPy's matmul: a 1-D operand gains an axis that the result drops; batch axes broadcast.
    static func matmul(_ graph: ONNXGraphBuilder, _ node: ONNXNode) throws -> [Tensor] {
        var (a, b) = (try graph.input(node, 0), try graph.input(node, 1))
        guard a.shape.rank >= 1, b.shape.rank >= 1 else {
            throw node.invalid("MatMul needs operands of rank 1 or more, got \(a.shape) and \(b.shape)")
        }
        let vectorA = a.shape.rank == 1
        let vectorB = b.shape.rank == 1
        if vectorA { a = try a.reshaped([1, a.shape[0]]) }
        if vectorB { b = try b.reshaped([b.shape[0], 1]) }
        let (m, k) = (a.shape[a.shape.rank - 2], a.shape[a.shape.rank - 1])
        let n = b.shape[b.shape.rank - 1]
        guard b.shape[b.shape.rank - 2] == k else { throw node.invalid("inner dimensions of \(a.shape) and \(b.shape) differ") }
        let batchA = Array(a.shape.dimensions.dropLast(2))
        let batchB = Array(b.shape.dimensions.dropLast(2))
        var y: Tensor
        if batchB.isEmpty {
            // Rows of every batch entry at once: [B·M, K] · [K, N].
            y = try a.reshaped([batchA.reduce(1, *) * m, k]).matmul(b).reshaped(Shape(batchA + [m, n]))
        } else {
            guard let batch = Shape.broadcast(Shape(batchA), Shape(batchB))?.dimensions else {
                throw node.invalid("batch axes of \(a.shape) and \(b.shape) do not broadcast")
            }
            let count = batch.reduce(1, *)
            let left = try a.broadcast(to: Shape(batch + [m, k])).reshaped([count, m, k])
            let right = try b.broadcast(to: Shape(batch + [k, n])).reshaped([count, k, n])
            y = try left.matmul(right).reshaped(Shape(batch + [m, n]))
        }
        var dimensions = y.shape.dimensions
        if vectorB { dimensions.removeLast() }
        if vectorA { dimensions.remove(at: dimensions.count - (vectorB ? 1 : 2)) }
        return [try y.reshaped(Shape(dimensions))]
    }
}
