// Reference matmul and biasAdd: a hand-computed product, transposed operands stored with their last two
// axes swapped, batched products equal to per-batch products, and bias added along axis 1.

import KilnCore
import KilnReference
import KilnTestSupport
import XCTest

final class ReferenceMatmulTests: XCTestCase {
    private let a = HostTensor([1, 2, 3, 4, 5, 6], [2, 3])
    private let b = HostTensor([7, 8, 9, 10, 11, 12], [3, 2])
    /// [[1, 2, 3], [4, 5, 6]] x [[7, 8], [9, 10], [11, 12]] by hand.
    private let product: [Double] = [58, 64, 139, 154]

    private func transposed(_ x: HostTensor) throws -> HostTensor {
        let rank = x.shape.rank
        var permutation = Array(0..<rank)
        permutation.swapAt(rank - 2, rank - 1)
        return try evaluate(.transpose(permutation: permutation), [x])
    }

    func testProductOfTwoMatrices() throws {
        let y = try evaluate(.matmul(transposeA: false, transposeB: false), [a, b])
        XCTAssertEqual(y.shape, [2, 2])
        XCTAssertEqual(y.values, product)
    }

    func testTransposedOperandsAreStoredSwapped() throws {
        let aT = try transposed(a)
        let bT = try transposed(b)
        XCTAssertEqual(try evaluate(.matmul(transposeA: true, transposeB: false), [aT, b]).values, product)
        XCTAssertEqual(try evaluate(.matmul(transposeA: false, transposeB: true), [a, bT]).values, product)
        XCTAssertEqual(try evaluate(.matmul(transposeA: true, transposeB: true), [aT, bT]).values, product)
    }

    func testBatchedProductEqualsEachBatchAlone() throws {
        var random = SplitMix64(seed: 7)
        let (batch, m, k, n) = (3, 2, 5, 4)
        let a3 = random.tensor([batch, m, k])
        let b3 = random.tensor([batch, k, n])
        for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
            let left = transposeA ? try transposed(a3) : a3
            let right = transposeB ? try transposed(b3) : b3
            let y = try evaluate(.matmul(transposeA: transposeA, transposeB: transposeB), [left, right])
            XCTAssertEqual(y.shape, [batch, m, n])
            for index in 0..<batch {
                let aSlice = HostTensor(Array(a3.values[(index * m * k)..<((index + 1) * m * k)]), [m, k])
                let bSlice = HostTensor(Array(b3.values[(index * k * n)..<((index + 1) * k * n)]), [k, n])
                let expected = try evaluate(.matmul(transposeA: false, transposeB: false), [aSlice, bSlice]).values
                assertClose(
                    Array(y.values[(index * m * n)..<((index + 1) * m * n)]), expected, Tolerance.handComputed,
                    "batch \(index), transposeA \(transposeA), transposeB \(transposeB)")
            }
        }
    }

    func testVectorShapedProducts() throws {
        // [1, K] x [K, 1] is a dot product; [M, 1] x [1, N] an outer product.
        let row = HostTensor([1, 2, 3], [1, 3])
        let column = HostTensor([4, 5, 6], [3, 1])
        XCTAssertEqual(try evaluate(.matmul(transposeA: false, transposeB: false), [row, column]).values, [32])
        XCTAssertEqual(
            try evaluate(.matmul(transposeA: false, transposeB: false), [column, row]).values, [4, 8, 12, 5, 10, 15, 6, 12, 18])
    }

    func testBiasAddAlongAxisOne() throws {
        // x [2, 3, 2]: element [n, c, w] gets bias[c].
        let x = HostTensor([Double](repeating: 0, count: 12), [2, 3, 2])
        let y = try evaluate(.biasAdd, [x, HostTensor([1, 2, 3], [3])])
        XCTAssertEqual(y.values, [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3])
        let matrix = try evaluate(.biasAdd, [HostTensor([10, 20, 30, 40], [2, 2]), HostTensor([1, 2], [2])])
        XCTAssertEqual(matrix.values, [11, 22, 31, 42])
    }
}
