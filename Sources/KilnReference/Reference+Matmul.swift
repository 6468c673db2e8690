// Reference matrix products: rank 2 and batched rank 3, either operand transposed, and bias addition
// along the channel axis.

import KilnCore

extension ReferenceBackend {
    /// `C[b, i, j] = sum over p of A[b, i, p] * B[b, p, j]`. A transposed operand is stored with its last
    /// two axes swapped: `A` as `[B, K, M]`, `B` as `[B, N, K]`. Rank 2 is one batch.
    func matmul(
        _ a: [Scalar], _ aShape: Shape, _ b: [Scalar], _ bShape: Shape, transposeA: Bool, transposeB: Bool, outputShape: Shape
    ) -> [Scalar] {
        let batch = outputShape.rank == 3 ? outputShape[0] : 1
        let m = outputShape[outputShape.rank - 2]
        let n = outputShape[outputShape.rank - 1]
        let k = transposeA ? aShape[aShape.rank - 2] : aShape[aShape.rank - 1]
        var output = [Scalar](repeating: 0, count: batch * m * n)
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
                    output[(batchIndex * m + i) * n + j] = sum
                }
            }
        }
        return output
    }

    /// `x[n, c, ...] + bias[c]`.
    func biasAdd(_ x: [Scalar], _ xShape: Shape, bias: [Scalar]) -> [Scalar] {
        let (_, channels, inner) = split(xShape, at: 1)
        // Element `index` lies in channel (index / inner) % channels.
        return x.indices.map { index in x[index] + bias[(index / inner) % channels] }
    }
}
