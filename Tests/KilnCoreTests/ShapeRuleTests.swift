// Shape rules: output shapes of valid inputs, and a typed error naming the op and the shapes for each
// kind of bad input the issue lists.
import KilnCore
import XCTest

final class ShapeRuleTests: XCTestCase {
    /// Asserts that `op` rejects `shapes` with a ShapeError whose message starts with `[name]`,
    /// prints the shapes, and mentions `fragment`.
    func assertRejects(
        _ op: Op, _ shapes: [Shape], mentioning fragment: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        do {
            let shape = try op.outputShape(for: shapes)
            XCTFail("\(op.name) accepted \(shapes) giving \(shape)", file: file, line: line)
        } catch {
            let message = error.description
            XCTAssertTrue(message.hasPrefix("[\(op.name)]"), message, file: file, line: line)
            XCTAssertTrue(message.contains(fragment), "'\(message)' does not mention '\(fragment)'", file: file, line: line)
            for shape in shapes { XCTAssertTrue(message.contains(shape.description), message, file: file, line: line) }
        }
    }

    func testValidShapes() throws {
        XCTAssertEqual(try Op.binary(.add).outputShape(for: [[2, 1, 4], [3, 1]]), [2, 3, 4])
        XCTAssertEqual(try Op.binary(.multiply).outputShape(for: [[5], []]), [5])
        XCTAssertEqual(try Op.matmul(transposeA: true, transposeB: false).outputShape(for: [[7, 3], [7, 5]]), [3, 5])
        XCTAssertEqual(try Op.matmul(transposeA: false, transposeB: true).outputShape(for: [[2, 3, 7], [2, 5, 7]]), [2, 3, 5])
        XCTAssertEqual(try Op.reduce(.sum, axes: [0, 2], keepDimensions: false).outputShape(for: [[2, 3, 4]]), [3])
        XCTAssertEqual(try Op.reduce(.max, axes: [1], keepDimensions: true).outputShape(for: [[2, 3, 4]]), [2, 1, 4])
        let conv = Convolution2D(stride: [2, 1], padding: [1, 0, 2, 1], dilation: [1, 2], groups: 2)
        // H: (9 + 1 + 2 - 3) / 2 + 1 = 5; W: (8 + 0 + 1 - 5) / 1 + 1 = 5.
        XCTAssertEqual(try Op.conv2d(conv).outputShape(for: [[1, 4, 9, 8], [6, 2, 3, 3], [6]]), [1, 6, 5, 5])
        let pool = Pooling2D(kernel: [2, 2])
        XCTAssertEqual(try Op.maxPool2d(pool).outputShape(for: [[1, 1, 6, 6]]), [1, 1, 3, 3])
        XCTAssertEqual(try Op.lstmCell.outputShape(for: [[3, 20], [3, 5]]), [3, 10])
        XCTAssertEqual(try Op.lstmCellBackward.outputShape(for: [[3, 20], [3, 5], [3, 10], [3, 10]]), [3, 25])
        // T = 4, N = 3, I = 7, H = 5: 6T + 2 blocks of [N, H]; backward T·N·4H + 2·N·H = 240 + 30.
        XCTAssertEqual(try Op.lstmSequence.outputShape(for: [[4, 3, 7], [3, 5], [3, 5], [20, 7], [20, 5], [20]]), [26, 3, 5])
        XCTAssertEqual(try Op.lstmSequenceBackward.outputShape(for: [[20, 5], [26, 3, 5], [26, 3, 5]]), [270])
        XCTAssertEqual(try Op.transpose(permutation: [2, 0, 1]).outputShape(for: [[2, 3, 4]]), [4, 2, 3])
        XCTAssertEqual(try Op.concatenate(axis: 1).outputShape(for: [[2, 3], [2, 1], [2, 4]]), [2, 8])
        XCTAssertEqual(try Op.argMax(axis: 1).outputShape(for: [[2, 3, 4]]), [2, 4])
        XCTAssertEqual(try Op.argMax(axis: -1).outputShape(for: [[2, 3, 4]]), [2, 3])
        XCTAssertEqual(try Op.argMax(axis: 0).outputShape(for: [[5]]), [])
    }

    func testMismatchedShapes() {
        assertRejects(.matmul(transposeA: false, transposeB: false), [[2, 3], [4, 5]], mentioning: "inner dimensions")
        assertRejects(.matmul(transposeA: false, transposeB: false), [[2, 2, 3], [3, 3, 5]], mentioning: "batch")
        assertRejects(.binary(.add), [[2, 3], [4]], mentioning: "broadcast")
        assertRejects(.conv2d(Convolution2D()), [[1, 3, 8, 8], [4, 2, 3, 3]], mentioning: "channels")
        assertRejects(.conv2d(Convolution2D(groups: 3)), [[1, 6, 8, 8], [4, 2, 3, 3]], mentioning: "groups")
        assertRejects(.conv2d(Convolution2D()), [[1, 3, 8, 8], [4, 3, 3, 3], [3]], mentioning: "bias")
        assertRejects(.biasAdd, [[2, 3], [4]], mentioning: "bias")
        assertRejects(.lstmCell, [[2, 12], [2, 4]], mentioning: "4H")
        assertRejects(.lstmSequence, [[4, 3, 7], [3, 5], [3, 5], [20, 6], [20, 5], [20]], mentioning: "weightIH")
        assertRejects(.lstmSequence, [[4, 3, 7], [2, 5], [2, 5], [20, 7], [20, 5], [20]], mentioning: "N = 3")
        assertRejects(.lstmSequence, [[4, 3, 7], [3, 5], [3, 5], [20, 7], [20, 5], [5]], mentioning: "bias")
        assertRejects(.lstmSequenceBackward, [[20, 5], [25, 3, 5], [25, 3, 5]], mentioning: "6T + 2")
        assertRejects(.lstmSequenceBackward, [[20, 5], [26, 3, 5], [26, 3, 4]], mentioning: "dState")
        assertRejects(.reshape([5]), [[2, 3]], mentioning: "reshape")
        assertRejects(.softmax(axis: 2), [[2, 3]], mentioning: "axis 2")
        assertRejects(.argMax(axis: 2), [[2, 3]], mentioning: "axis 2")
        assertRejects(.argMax(axis: -3), [[2, 3]], mentioning: "axis -3")
        assertRejects(.reduce(.sum, axes: [3], keepDimensions: false), [[2, 3]], mentioning: "axis 3")
        assertRejects(.maxPool2dBackward(Pooling2D(kernel: [2, 2])), [[1, 1, 6, 6], [1, 1, 2, 3]], mentioning: "dy")
    }

    func testBadConvolutionAttributes() {
        let x: Shape = [1, 2, 8, 8]
        let w: Shape = [3, 2, 3, 3]
        assertRejects(.conv2d(Convolution2D(stride: [0, 1])), [x, w], mentioning: "stride")
        assertRejects(.conv2d(Convolution2D(stride: [1, -2])), [x, w], mentioning: "stride")
        assertRejects(.conv2d(Convolution2D(dilation: [0, 1])), [x, w], mentioning: "dilation")
        assertRejects(.conv2d(Convolution2D(padding: [0, -1, 0, 0])), [x, w], mentioning: "padding")
        assertRejects(.conv2d(Convolution2D(groups: 0)), [x, w], mentioning: "groups")
        // A 3×3 kernel with dilation 4 spans 9 rows: larger than the 8-row input.
        assertRejects(.conv2d(Convolution2D(dilation: [4, 1])), [x, w], mentioning: "larger than the padded input")
        assertRejects(.conv2d(Convolution2D()), [[1, 2, 2, 2], w], mentioning: "larger than the padded input")
    }

    func testBadPoolingAttributes() {
        let x: Shape = [1, 1, 6, 6]
        assertRejects(.maxPool2d(Pooling2D(kernel: [0, 2])), [x], mentioning: "kernel")
        assertRejects(.maxPool2d(Pooling2D(kernel: [2, 2], stride: [0, 2])), [x], mentioning: "stride")
        assertRejects(.maxPool2d(Pooling2D(kernel: [2, 2], dilation: [1, 0])), [x], mentioning: "dilation")
        assertRejects(.avgPool2d(Pooling2D(kernel: [2, 2], padding: [-1, 0, 0, 0])), [x], mentioning: "padding")
        // ONNX's rule: each side's padding is smaller than the window's extent, (kernel − 1) · dilation + 1.
        assertRejects(.maxPool2d(Pooling2D(kernel: [2, 2], padding: [2, 0, 0, 0])), [x], mentioning: "smaller than the window's extent")
        assertRejects(.avgPool2d(Pooling2D(kernel: [3, 3], padding: [0, 0, 0, 3])), [x], mentioning: "smaller than the window's extent")
        assertRejects(
            .avgPool2d(Pooling2D(kernel: [2, 2], padding: [0, 0, 0, 4], dilation: [1, 3])), [x],
            mentioning: "smaller than the window's extent")
        // Sizes whose window extent would overflow are refused before any arithmetic on them.
        assertRejects(.maxPool2d(Pooling2D(kernel: [2, 2], dilation: [1, Int.max])), [x], mentioning: "below 2^30")
        assertRejects(.avgPool2d(Pooling2D(kernel: [1 << 40, 2], stride: [1, Int.max], ceilMode: true)), [x], mentioning: "below 2^30")
        // With dilation 3 and padding 2 over one row, the first window's taps (rows −2 and 1) both miss the input.
        assertRejects(
            .maxPool2d(Pooling2D(kernel: [2, 1], padding: [2, 0, 1, 0], dilation: [3, 1])), [[1, 1, 1, 4]],
            mentioning: "entirely in the padding")
        assertRejects(.maxPool2d(Pooling2D(kernel: [7, 2])), [x], mentioning: "larger than the padded input")
    }

    /// Floor and ceil output sizes, PyTorch's `(size + pads − extent) / stride + 1` rounded either way, less a last
    /// ceil-mode window that would start in the trailing padding.
    func testPoolingOutputSizes() throws {
        func size(_ input: Int, kernel: Int, stride: Int, pad: Int = 0, dilation: Int = 1, ceil: Bool) throws -> Int {
            let attributes = Pooling2D(
                kernel: [1, kernel], stride: [1, stride], padding: [0, pad, 0, pad], dilation: [1, dilation], ceilMode: ceil)
            return try Op.maxPool2d(attributes).outputShape(for: [[1, 1, 1, input]])[3]
        }
        XCTAssertEqual(try size(6, kernel: 3, stride: 2, ceil: false), 2)
        XCTAssertEqual(try size(6, kernel: 3, stride: 2, ceil: true), 3)
        XCTAssertEqual(try size(6, kernel: 2, stride: 2, ceil: true), 3)
        // Rounded up to 4, but the fourth window would start at 6, in the right padding: 3.
        XCTAssertEqual(try size(5, kernel: 2, stride: 2, pad: 1, ceil: false), 3)
        XCTAssertEqual(try size(5, kernel: 2, stride: 2, pad: 1, ceil: true), 3)
        XCTAssertEqual(try size(4, kernel: 3, stride: 2, pad: 1, ceil: true), 3)
        XCTAssertEqual(try size(1, kernel: 1, stride: 3, ceil: true), 1)
        XCTAssertEqual(try size(13, kernel: 2, stride: 3, dilation: 2, ceil: true), 5)
        XCTAssertEqual(try size(13, kernel: 2, stride: 3, dilation: 2, ceil: false), 4)
        // Padding up to the window's extent less one: 2 each side of a 3-window.
        XCTAssertEqual(try size(1, kernel: 3, stride: 1, pad: 2, ceil: false), 3)
    }

    func testZeroSizedDimensions() {
        assertRejects(.unary(.relu), [[2, 0]], mentioning: "zero-sized")
        assertRejects(.matmul(transposeA: false, transposeB: false), [[0, 3], [3, 2]], mentioning: "zero-sized")
        assertRejects(.fill(value: 1, shape: [3, 0]), [], mentioning: "zero-sized")
        assertRejects(.conv2d(Convolution2D()), [[1, 2, 8, 8], [3, 2, 0, 3]], mentioning: "zero-sized")
    }

    func testSliceAndPadRanges() {
        assertRejects(.slice(axis: 0, start: 2, length: 3), [[4]], mentioning: "outside axis")
        assertRejects(.pad(axis: 0, before: -1, after: 0), [[4]], mentioning: "negative padding")
        assertRejects(.transpose(permutation: [0, 0]), [[2, 3]], mentioning: "permutation")
        assertRejects(.dropoutMask(probability: 1, seed: 1, shape: [3]), [], mentioning: "probability")
    }

    func testBroadcastHelpers() {
        XCTAssertEqual(Shape.broadcast([3, 1, 5], [4, 1]), [3, 4, 5])
        XCTAssertNil(Shape.broadcast([3], [4]))
        XCTAssertEqual(Shape([3, 1]).broadcastStrides(to: [2, 3, 4]), [0, 1, 0])
        XCTAssertEqual(Shape([2, 3, 4]).strides, [12, 4, 1])
    }

    func testDropoutHashIsUniform() {
        let draws = (0..<20_000).map { DropoutHash.uniform(seed: 42, index: $0) }
        XCTAssertTrue(draws.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = draws.reduce(0, +) / Double(draws.count)
        // The mean of 20,000 uniforms has standard deviation 0.002; 0.01 is five of them.
        XCTAssertEqual(mean, 0.5, accuracy: 0.01)
        XCTAssertNotEqual(DropoutHash.uniform(seed: 1, index: 0), DropoutHash.uniform(seed: 2, index: 0))
    }
}
