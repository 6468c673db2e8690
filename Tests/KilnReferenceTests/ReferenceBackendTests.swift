// The reference backend as a `Backend`: names, copies in and out, errors for misuse instead of crashes,
// and the Float instantiation agreeing with the Double one (a check of the generic code).

import KilnCore
import KilnReference
import KilnTestSupport
import XCTest

final class ReferenceBackendTests: XCTestCase {
    func testNamesSayTheFloatType() {
        XCTAssertEqual(ReferenceBackend<Float>().name, "cpu")
        XCTAssertEqual(ReferenceBackend<Double>().name, "cpu-double")
    }

    func testWriteAndReadRoundTrip() throws {
        let backend = ReferenceBackend<Float>()
        let storage = try backend.allocate(count: 3)
        XCTAssertEqual(storage.count, 3)
        try backend.write([1.5, -2, 3] as [Double], to: storage)
        XCTAssertEqual(try backend.readFloats(storage), [1.5, -2, 3])
        try backend.write([4, 5, 6] as [Float], to: storage)
        XCTAssertEqual(try backend.readDoubles(storage), [4, 5, 6])
        let copy = try backend.allocate(count: 3)
        try backend.copy(storage, to: copy)
        try backend.write([7, 8, 9] as [Float], to: storage)
        XCTAssertEqual(try backend.readFloats(copy), [4, 5, 6], "a copy, not a shared buffer")
        XCTAssertThrowsError(try backend.copy(storage, to: try backend.allocate(count: 2)), "wrong count")
    }

    func testMisuseThrowsInsteadOfCrashing() throws {
        let backend = ReferenceBackend<Double>()
        let storage = try backend.allocate(count: 4)
        let output = try backend.allocate(count: 4)
        let operand = Operand(storage: storage, shape: [2, 2])

        XCTAssertThrowsError(try backend.write([1, 2] as [Double], to: storage), "wrong count")
        XCTAssertThrowsError(try backend.execute(.reshape([4]), inputs: [operand], output: output, outputShape: [4])) { error in
            XCTAssertEqual(error as? ReferenceBackendError, .notExecutable(op: "reshape"))
        }
        XCTAssertThrowsError(try backend.execute(.data, inputs: [], output: output, outputShape: [4]))
        // Float storage handed to the Double backend.
        let foreign = Operand(storage: try ReferenceBackend<Float>().allocate(count: 4), shape: [2, 2])
        XCTAssertThrowsError(try backend.execute(.unary(.exp), inputs: [foreign], output: output, outputShape: [2, 2]))
        // A storage smaller than its shape says.
        let short = Operand(storage: try backend.allocate(count: 3), shape: [2, 2])
        XCTAssertThrowsError(try backend.execute(.unary(.exp), inputs: [short], output: output, outputShape: [2, 2]))
        // Shapes the rule rejects, and an output shape that is not the rule's.
        XCTAssertThrowsError(try backend.execute(.lstmCell, inputs: [operand], output: output, outputShape: [2, 2]))
        XCTAssertThrowsError(try backend.execute(.unary(.exp), inputs: [operand], output: output, outputShape: [4]))
        XCTAssertThrowsError(
            try backend.execute(.unary(.exp), inputs: [operand], output: try backend.allocate(count: 5), outputShape: [2, 2]))
    }

    /// The Float and Double instantiations run the same generic loops, so they must agree to Float precision.
    func testFloatAgreesWithDouble() throws {
        var random = SplitMix64(seed: 13)
        let x = random.tensor([2, 4, 9, 7])
        let w = random.tensor([6, 2, 3, 3])
        let bias = random.tensor([6])
        let cases: [(String, Op, [HostTensor])] = [
            ("conv2d", .conv2d(Convolution2D(stride: [2, 1], padding: [1, 0, 1, 2], dilation: [1, 2], groups: 2)), [x, w, bias]),
            ("matmul", .matmul(transposeA: false, transposeB: true), [random.tensor([5, 37]), random.tensor([11, 37])]),
            ("log_softmax", .logSoftmax(axis: 1), [random.tensor([3, 17], in: -20...20)]),
            ("lstm_cell", .lstmCell, [random.tensor([3, 20], in: -3...3), random.tensor([3, 5])]),
            (
                "avg_pool2d", .avgPool2d(Pooling2D(kernel: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1], countIncludePadding: false)), [x]
            ),
        ]
        for (label, op, inputs) in cases {
            // Inputs rounded to Float first, so both backends see the same numbers.
            let rounded = inputs.map { HostTensor($0.values.map { Double(Float($0)) }, $0.shape) }
            let inFloat = try evaluate(op, rounded, on: ReferenceBackend<Float>())
            let inDouble = try evaluate(op, rounded, on: ReferenceBackend<Double>())
            assertClose(inFloat.values, inDouble.values, Tolerance.floatAgainstDouble, label)
        }
    }
}
