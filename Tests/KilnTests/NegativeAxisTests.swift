// Negative axes, counted from the end as NumPy, PyTorch and ONNX count them, for every op that takes an axis: the node
// holds the same op as with the positive axis (normalised once, in Tensor.apply), the values agree on every device,
// and an axis outside −rank..<rank is an error naming the op, the axis and the valid range.
import Kiln
import KilnTestSupport
import XCTest

final class NegativeAxisTests: XCTestCase {
    /// Each op with a negative axis, and the same op with the positive one, on `x [2, 3, 5]`.
    private func pairs(_ x: Tensor) throws -> [(String, Tensor, Tensor)] {
        [
            ("softmax", try x.softmax(axis: -1), try x.softmax(axis: 2)),
            ("logSoftmax", try x.logSoftmax(axis: -2), try x.logSoftmax(axis: 1)),
            ("sum", try x.sum(axes: [-1, 0]), try x.sum(axes: [0, 2])),
            ("mean, duplicate axes", try x.mean(axes: [-3, 0], keepDimensions: true), try x.mean(axes: [0], keepDimensions: true)),
            ("max", try x.max(axes: [-2]), try x.max(axes: [1])),
            ("argMax", try x.argMax(axis: -1), try x.argMax(axis: 2)),
            ("slice", try x.slice(axis: -1, start: 1, length: 3), try x.slice(axis: 2, start: 1, length: 3)),
            ("padded", try x.padded(axis: -2, before: 1, after: 2), try x.padded(axis: 1, before: 1, after: 2)),
            ("concatenate", try Tensor.concatenate([x, x], axis: -3), try Tensor.concatenate([x, x], axis: 0)),
            ("transposed", try x.transposed([-1, 0, -2]), try x.transposed([2, 0, 1])),
        ]
    }

    func testNegativeAxesMeanTheSameOpsOnEveryDevice() throws {
        var random = SeededGenerator(seed: 3)
        let values = (0..<30).map { _ in Double.random(in: -2...2, using: &random) }
        for device in try availableDevices() {
            let x = try Tensor(values, shape: [2, 3, 5], on: device)
            for (name, negative, positive) in try pairs(x) {
                XCTAssertEqual(negative.node.op, positive.node.op, name)
                XCTAssertEqual(negative.shape, positive.shape, name)
                XCTAssertEqual(try negative.floats(), try positive.floats(), "\(name) on \(device)")
            }
        }
    }

    func testOutOfRangeAxesAreErrors() throws {
        let x = try Tensor.zeros([2, 3], on: try Device.named("cpu"))
        let expected = "is out of range for rank 2 (valid: -2 to 1)"
        let attempts: [(String, () throws -> Tensor)] = [
            ("softmax", { try x.softmax(axis: -3) }), ("logSoftmax", { try x.logSoftmax(axis: 2) }),
            ("sum", { try x.sum(axes: [0, -3]) }), ("argmax", { try x.argMax(axis: 5) }),
            ("slice", { try x.slice(axis: -3, start: 0, length: 1) }), ("concatenate", { try Tensor.concatenate([x, x], axis: 2) }),
            ("transpose", { try x.transposed([0, -3]) }),
        ]
        for (op, attempt) in attempts {
            XCTAssertThrowsError(try attempt(), op) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(op): \(error)")
                XCTAssertTrue("\(error)".hasPrefix("["), "\(op): \(error)")
            }
        }
    }
}
