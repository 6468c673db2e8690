// LossKernelTests: Kernels/loss.cl (fused softmax cross-entropy, forward and backward) against the CPU
// reference, over awkward row and class counts, with invalid labels (out of range, fractional, NaN).
import KilnCore
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

final class LossKernelTests: XCTestCase {
    /// Labels for `rows` rows of `classes`: mostly valid class indices, some invalid ones.
    private func labels(rows: Int, classes: Int, using generator: inout SeededGenerator) -> [Double] {
        (0..<rows).map { _ in
            switch Int.random(in: 0..<10, using: &generator) {
            case 0: generator.pick([-1, Double(classes), 0.5, .nan])
            default: Double(Int.random(in: 0..<classes, using: &generator))
            }
        }
    }

    func testForwardAndBackwardMatchTheReference() throws {
        var generator = SeededGenerator(seed: 32)
        let shapes: [(Int, Int)] = [(1, 1), (1, 10), (7, 3), (64, 10), (65, 13), (3, 257), (128, 96)]
        for (rows, classes) in shapes {
            // Logits wide enough that an unshifted exp would overflow float32.
            let logits = CaseInput([rows, classes], generator.values(rows * classes, in: -90...90))
            let labels = CaseInput([rows], labels(rows: rows, classes: classes, using: &generator))
            let dy = CaseInput([rows], generator.values(rows, in: -2...2))
            let tolerance = Tolerance.accumulation(terms: classes)
            try OpenCLTestDevice.check(OpCase(.softmaxCrossEntropy, [logits, labels], tolerance: tolerance))
            try OpenCLTestDevice.check(OpCase(.softmaxCrossEntropyBackward, [logits, labels, dy], tolerance: tolerance))
        }
    }
}
