// Matrix products and bias addition.

extension Tensor {
    /// `op(self) · op(other)` for rank 2 or batched rank 3 operands; a transposed operand is stored
    /// with its last two axes swapped.
    public func matmul(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false) throws -> Tensor {
        try Tensor.apply(.matmul(transposeA: transposeSelf, transposeB: transposeOther), [self, other])
    }

    /// `bias [C]` added along axis 1 of `self [N, C, ...]`.
    public func addingBias(_ bias: Tensor) throws -> Tensor { try Tensor.apply(.biasAdd, [self, bias]) }

    /// A fully connected layer: `self [N, in] · weight [out, in]ᵀ + bias [out]` (PyTorch's layout).
    public func linear(weight: Tensor, bias: Tensor?) throws -> Tensor {
        let product = try matmul(weight, transposeOther: true)
        return try bias.map { try product.addingBias($0) } ?? product
    }
}
