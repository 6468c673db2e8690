// The fused softmax cross-entropy against its definition in primitive ops, `−Σ logSoftmax · oneHot` per
// row and that expression's gradient, including labels that name no class.

import KilnCore
import KilnReference
import KilnTestSupport
import XCTest

final class ReferenceLossTests: XCTestCase {
    func testFusedCrossEntropyMatchesItsDecomposition() throws {
        var random = SplitMix64(seed: 61)
        let (rows, classes) = (6, 5)
        let logits = HostTensor((0..<(rows * classes)).map { _ in Double.random(in: -40...40, using: &random) }, [rows, classes])
        let labels = HostTensor([2, 0, -1, 4, 2.5, .nan], [rows])
        let dy = HostTensor([0.5, -1, 2, 1, 3, 1], [rows])

        let logSoftmax = try evaluate(.logSoftmax(axis: 1), [logits])
        let oneHot = try evaluate(.oneHot(classes: classes), [labels])
        let picked = try evaluate(.binary(.multiply), [logSoftmax, oneHot])
        let expected = try evaluate(.unary(.negate), [evaluate(.reduce(.sum, axes: [1], keepDimensions: false), [picked])])
        let fused = try evaluate(.softmaxCrossEntropy, [logits, labels])
        assertClose(fused.values, expected.values, .elementwise, "loss per row")
        XCTAssertEqual(fused.values[2], 0, "label −1 names no class")
        XCTAssertEqual(fused.values[5], 0, "a NaN label names no class")

        // d/dlogits of −Σ_k logSoftmax·oneHot scaled by dy: dy·(softmax − oneHot) on valid rows.
        let softmax = try evaluate(.softmax(axis: 1), [logits])
        let gradient = try evaluate(.softmaxCrossEntropyBackward, [logits, labels, dy])
        for n in 0..<rows {
            for k in 0..<classes {
                let index = n * classes + k
                let expectedValue =
                    oneHot.values[n * classes..<(n + 1) * classes].contains(1)
                    ? dy.values[n] * (softmax.values[index] - oneHot.values[index]) : 0
                XCTAssertEqual(gradient.values[index], expectedValue, accuracy: 1e-12, "row \(n) class \(k)")
            }
        }
    }
}
