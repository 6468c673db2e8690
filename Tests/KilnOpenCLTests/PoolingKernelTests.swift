// PoolingKernelTests: Kernels/pool2d.cl against the CPU reference: max and average pooling (both count modes)
// forward and backward over random geometries (padding up to half the window, dilation, stride different from
// the window so windows overlap), the course's 6x6 example, and the first-maximum rule for ties.
import Kiln
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

final class PoolingKernelTests: XCTestCase {
    private static func randomPooling(_ generator: inout SeededGenerator, dilation: Bool) -> (Pooling2D, Shape, Shape) {
        while true {
            let kernel = [generator.pick([1, 2, 3, 4]), generator.pick([1, 2, 3, 5])]
            // Padding is at most half the window on each side.
            let padding = [kernel[0], kernel[1], kernel[0], kernel[1]].map { generator.pick(Array(0...($0 / 2))) }
            let attributes = Pooling2D(
                kernel: kernel, stride: [generator.pick([1, 2, 3]), generator.pick([1, 2, 3])], padding: padding,
                dilation: dilation ? [generator.pick([1, 2]), generator.pick([1, 2])] : [1, 1],
                countIncludePadding: generator.pick([true, false]))
            let input: Shape = [
                generator.pick([1, 2]), generator.pick([1, 3]), generator.pick([1, 5, 7, 8]), generator.pick([2, 6, 9, 13]),
            ]
            if let output = try? Op.maxPool2d(attributes).outputShape(for: [input]) {
                return (attributes, input, output)
            }
        }
    }

    func testMaxPoolForwardAndBackward() throws {
        var generator = SeededGenerator(seed: 0x9001)
        for _ in 0..<24 {
            let (attributes, input, output) = Self.randomPooling(&generator, dilation: true)
            let x = generator.values(input.count)
            try OpenCLTestDevice.check(OpCase(.maxPool2d(attributes), [CaseInput(input, x)], tolerance: .elementwise))
            // dx sums the dy of every window whose maximum it is: at most KH*KW windows overlap one element.
            try OpenCLTestDevice.check(
                OpCase(
                    .maxPool2dBackward(attributes), [CaseInput(input, x), CaseInput(output, generator.values(output.count))],
                    tolerance: .accumulation(terms: attributes.kernel[0] * attributes.kernel[1])))
        }
    }

    func testAvgPoolForwardAndBackward() throws {
        var generator = SeededGenerator(seed: 0x9002)
        for index in 0..<24 {
            // Average pooling with dilation is defined the same way; half the cases use it.
            var (attributes, input, output) = Self.randomPooling(&generator, dilation: index % 2 == 1)
            attributes.countIncludePadding = index % 4 < 2
            let window = attributes.kernel[0] * attributes.kernel[1]
            try OpenCLTestDevice.check(
                OpCase(.avgPool2d(attributes), [CaseInput(input, generator.values(input.count))], tolerance: .accumulation(terms: window)))
            try OpenCLTestDevice.check(
                OpCase(
                    .avgPool2dBackward(attributes, inputShape: input), [CaseInput(output, generator.values(output.count))],
                    tolerance: .accumulation(terms: window)))
        }
    }

    /// Windows that cannot overlap take `pool2d_backward_max_disjoint_rows` (or `pool2d_backward_max_2x2`): windows that tile the input (2x2 stride 2,
    /// 3x1 stride 3x1), leave gaps (stride above the window, a remainder row or column, dilation inside a window)
    /// or reach into the padding. Each is checked against the reference, and the gather kernel on the same geometry
    /// against the reference too.
    func testMaxPoolBackwardDisjointWindows() throws {
        let backend = try OpenCLTestDevice.require()
        var generator = SeededGenerator(seed: 0x9003)
        let cases: [(Pooling2D, Shape)] = [
            (Pooling2D(kernel: [2, 2]), [2, 3, 28, 28]), (Pooling2D(kernel: [2, 2]), [1, 2, 7, 9]),
            (Pooling2D(kernel: [3, 1], stride: [3, 1]), [2, 1, 9, 5]), (Pooling2D(kernel: [2, 2], stride: [3, 4]), [1, 3, 8, 13]),
            (Pooling2D(kernel: [2, 2], stride: [3, 3], dilation: [2, 2]), [2, 2, 7, 8]),
            (Pooling2D(kernel: [2, 2], padding: [1, 1, 1, 1]), [1, 2, 5, 6]), (Pooling2D(kernel: [1, 1]), [1, 1, 1, 1]),
        ]
        for (attributes, input) in cases {
            let output = try Op.maxPool2d(attributes).outputShape(for: [input])
            // Small whole numbers, so windows hold ties and the first-maximum rule matters.
            let x = CaseInput(input, (0..<input.count).map { _ in Double(Int.random(in: 0..<4, using: &generator)) })
            let dy = CaseInput(output, generator.values(output.count))
            let opCase = OpCase(.maxPool2dBackward(attributes), [x, dy], tolerance: .accumulation(terms: 1))
            try OpenCLTestDevice.check(opCase)
            let expected = try KilnTestSupport.run(opCase.op, opCase.inputs, on: OpenCLTestDevice.reference)
            let operands = try opCase.inputs.map { input -> OpenCLOperand in
                let storage = try XCTUnwrap(try backend.allocate(count: input.shape.count) as? OpenCLStorage)
                try backend.write(input.values, to: storage)
                return OpenCLOperand(buffer: storage.buffer, shape: input.shape)
            }
            let out = try XCTUnwrap(try backend.allocate(count: input.count) as? OpenCLStorage)
            try backend.maxPool2dBackward(attributes, x: operands[0], dy: operands[1], out.buffer, allowDisjoint: false)
            assertClose(try backend.readDoubles(out), expected, opCase.tolerance, "gather \(attributes) x \(input)")
        }
    }

    /// Max pooling forward and backward with 2x2 windows at stride 2 (the fixed kernels `pool2d_forward_max_2x2`
    /// and `pool2d_backward_max_2x2`, and the general row kernels on the same geometry): output widths 1, around
    /// the 8 or 4 windows both kernels take at a time, primes; odd heights and widths leave a row or column
    /// no window reads. Small whole numbers, so windows hold ties.
    func testMaxPool2x2Rows() throws {
        let backend = try OpenCLTestDevice.require()
        var generator = SeededGenerator(seed: 0x9004)
        let attributes = Pooling2D(kernel: [2, 2])
        XCTAssertTrue(OpenCLBackend.isPlain2x2(attributes))
        let inputs: [Shape] = [
            [1, 1, 2, 2], [1, 1, 3, 3], [2, 3, 2, 14], [1, 2, 5, 15], [2, 1, 4, 16], [1, 3, 7, 17], [1, 1, 2, 18],
            [2, 2, 6, 31], [1, 1, 3, 32], [3, 1, 4, 33], [1, 2, 9, 34], [2, 5, 13, 26], [64, 2, 8, 8], [1, 1, 2, 6],
            [1, 2, 4, 10], [2, 1, 6, 12], [2, 3, 4, 14],
        ]
        for input in inputs {
            let output = try Op.maxPool2d(attributes).outputShape(for: [input])
            let x = CaseInput(input, (0..<input.count).map { _ in Double(Int.random(in: 0..<4, using: &generator)) - 1.5 })
            let dy = CaseInput(output, generator.values(output.count))
            let forward = OpCase(.maxPool2d(attributes), [x], tolerance: .elementwise)
            let backward = OpCase(.maxPool2dBackward(attributes), [x, dy], tolerance: .accumulation(terms: 1))
            try OpenCLTestDevice.check(forward)
            try OpenCLTestDevice.check(backward)
            // The general row kernels on the same geometry.
            let operands = try [x, dy].map { input -> OpenCLOperand in
                let storage = try XCTUnwrap(try backend.allocate(count: input.shape.count) as? OpenCLStorage)
                try backend.write(input.values, to: storage)
                return OpenCLOperand(buffer: storage.buffer, shape: input.shape)
            }
            let y = try XCTUnwrap(try backend.allocate(count: output.count) as? OpenCLStorage)
            try backend.pool2d(attributes, maximum: true, x: operands[0], y.buffer, output, allowFixed: false)
            assertClose(
                try backend.readDoubles(y), try KilnTestSupport.run(forward.op, forward.inputs, on: OpenCLTestDevice.reference),
                forward.tolerance, "rows forward \(input)")
            let dx = try XCTUnwrap(try backend.allocate(count: input.count) as? OpenCLStorage)
            try backend.maxPool2dBackward(attributes, x: operands[0], dy: operands[1], dx.buffer, allowDisjoint: true, allowFixed: false)
            assertClose(
                try backend.readDoubles(dx), try KilnTestSupport.run(backward.op, backward.inputs, on: OpenCLTestDevice.reference),
                backward.tolerance, "rows backward \(input)")
        }
    }

    /// The course's example: 2x2 max pooling with stride 2 on a 6x6 image.
    func testCourseExample() throws {
        let backend = try OpenCLTestDevice.require()
        let image: [Double] = [
            3, 0, 1, 5, 1, 3,
            5, 7, 3, 4, 4, 6,
            7, 7, 1, 8, 3, 5,
            6, 1, 7, 0, 0, 5,
            0, 4, 5, 5, 7, 2,
            3, 2, 0, 2, 0, 2,
        ]
        let pooled = try KilnTestSupport.run(.maxPool2d(Pooling2D(kernel: [2, 2])), [CaseInput([1, 1, 6, 6], image)], on: backend)
        XCTAssertEqual(pooled, [7, 5, 6, 7, 8, 5, 4, 5, 7])
    }

    /// Ties: the gradient goes to the first maximum in row-major window order, and overlapping windows add up.
    func testMaxPoolTiesGoToTheFirstMaximum() throws {
        let backend = try OpenCLTestDevice.require()
        // One 2x2 window of equal values: all of dy goes to the top-left element.
        let flat = try KilnTestSupport.run(
            .maxPool2dBackward(Pooling2D(kernel: [2, 2])), [CaseInput([1, 1, 2, 2], [4, 4, 4, 4]), CaseInput([1, 1, 1, 1], [1.5])],
            on: backend)
        XCTAssertEqual(flat, [1.5, 0, 0, 0])
        // A 1x4 row [1, 9, 9, 2] with 1x2 windows at stride 1: windows [1, 9] and [9, 9] pick element 1 (the tie
        // goes to the first), window [9, 2] picks element 2.
        let overlapping = try KilnTestSupport.run(
            .maxPool2dBackward(Pooling2D(kernel: [1, 2], stride: [1, 1])),
            [CaseInput([1, 1, 1, 4], [1, 9, 9, 2]), CaseInput([1, 1, 1, 3], [1, 10, 100])], on: backend)
        XCTAssertEqual(overlapping, [0, 11, 100, 0])
        try OpenCLTestDevice.check(
            OpCase(
                .maxPool2dBackward(Pooling2D(kernel: [3, 3], stride: [1, 2], padding: [1, 1, 1, 1])),
                [CaseInput([1, 2, 5, 5], Array(repeating: 0.5, count: 50)), CaseInput([1, 2, 5, 3], (0..<30).map { Double($0) })],
                tolerance: .accumulation(terms: 9)))
    }
}
