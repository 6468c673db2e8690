// The fused `linear` op (matmul + bias + activation in one gemm launch) against the CPU reference.
import Kiln
import KilnTestSupport
import XCTest

final class LinearKernelTests: XCTestCase {
    func testLinearWithEveryActivation() throws {
        var generator = SeededGenerator(seed: 31)
        let sizes = [1, 5, 7, 15, 16, 17, 31, 64, 127]
        let activations: [UnaryFunction?] = [nil, .relu, .leakyRelu(slope: 0.2), .sigmoid, .tanh]
        for index in 0..<25 {
            let (m, n, k) = (generator.pick(sizes), generator.pick(sizes), generator.pick(sizes))
            let (transposeA, transposeB) = (index % 2 == 1, index % 4 >= 2)
            let a: Shape = transposeA ? [k, m] : [m, k]
            let b: Shape = transposeB ? [n, k] : [k, n]
            let op = Op.linear(transposeA: transposeA, transposeB: transposeB, activation: activations[index % activations.count])
            try OpenCLTestDevice.check(OpCase(
                op, [CaseInput(a, generator.values(a.count)), CaseInput(b, generator.values(b.count)), CaseInput([n], generator.values(n))],
                tolerance: .accumulation(terms: k)))
        }
    }
}
