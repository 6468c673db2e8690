// ConvolutionKernelTests: Kernels/conv2d.cl against the CPU reference for all three passes (forward, gradient
// with respect to the input, gradient with respect to the weight) over random geometries: non-square kernels,
// stride 1-3, asymmetric padding, dilation 1-2, groups 1, 2 and depthwise, with and without bias; and the
// Tensor API's convTranspose2d on OpenCL against the reference. Groups == 1 normally takes the im2col + GEMM
// path (or, for stride-1 geometries with few taps, conv2d_narrow.cl: NarrowConvolutionKernelTests), so
// testDirectKernelsWithOneGroup runs the direct kernels on those geometries too.
import Kiln
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

final class ConvolutionKernelTests: XCTestCase {
    /// One random convolution geometry whose dilated kernel fits the padded input.
    private static func randomGeometry(_ generator: inout SeededGenerator, oneGroup: Bool = false) -> ConvolutionGeometry {
        while true {
            let groupKind = oneGroup ? "one" : generator.pick(["one", "two", "depthwise"])
            let channelsPerGroup = groupKind == "depthwise" ? 1 : generator.pick([1, 2, 3])
            let groups = groupKind == "one" ? 1 : groupKind == "two" ? 2 : generator.pick([2, 3, 4])
            let outputsPerGroup = generator.pick([1, 2, 3])
            let attributes = Convolution2D(
                stride: [generator.pick([1, 2, 3]), generator.pick([1, 2, 3])],
                padding: (0..<4).map { _ in generator.pick([0, 0, 1, 2]) },
                dilation: [generator.pick([1, 2]), generator.pick([1, 2])],
                groups: groups)
            let input: Shape = [
                generator.pick([1, 2]), channelsPerGroup * groups, generator.pick([1, 4, 7, 9]), generator.pick([3, 5, 8, 11]),
            ]
            let weight: Shape = [outputsPerGroup * groups, channelsPerGroup, generator.pick([1, 2, 3]), generator.pick([1, 3, 4])]
            if let output = try? Op.conv2d(attributes).outputShape(for: [input, weight]) {
                return ConvolutionGeometry(attributes: attributes, input: input, weight: weight, output: output)
            }
        }
    }

    func testForwardRandomGeometries() throws {
        var generator = SeededGenerator(seed: 0xC0F0)
        for index in 0..<24 {
            let geometry = Self.randomGeometry(&generator)
            try OpenCLTestDevice.check(geometry.forwardCase(&generator, bias: index % 2 == 0))
        }
    }

    func testBackwardInputRandomGeometries() throws {
        var generator = SeededGenerator(seed: 0xC0B1)
        for _ in 0..<24 {
            try OpenCLTestDevice.check(Self.randomGeometry(&generator).inputGradientCase(&generator))
        }
    }

    func testBackwardWeightRandomGeometries() throws {
        var generator = SeededGenerator(seed: 0xC0B2)
        for _ in 0..<24 {
            try OpenCLTestDevice.check(Self.randomGeometry(&generator).weightGradientCase(&generator))
        }
    }

    /// A larger, ordinary layer (stride 1, same padding, 8 -> 16 channels) in all three passes.
    func testTypicalLayer() throws {
        var generator = SeededGenerator(seed: 0xC0A7)
        let attributes = Convolution2D(padding: [1, 1, 1, 1])
        let (x, w, y): (Shape, Shape, Shape) = ([2, 8, 12, 12], [16, 8, 3, 3], [2, 16, 12, 12])
        let xValues = generator.values(x.count)
        let wValues = generator.values(w.count)
        let dyValues = generator.values(y.count)
        try OpenCLTestDevice.check(
            OpCase(
                .conv2d(attributes), [CaseInput(x, xValues), CaseInput(w, wValues), CaseInput([16], generator.values(16))],
                tolerance: .accumulation(terms: 8 * 9 + 1)))
        try OpenCLTestDevice.check(
            OpCase(
                .conv2dBackwardInput(attributes, inputShape: x), [CaseInput(y, dyValues), CaseInput(w, wValues)],
                tolerance: .accumulation(terms: 16 * 9)))
        try OpenCLTestDevice.check(
            OpCase(
                .conv2dBackwardWeight(attributes, weightShape: w), [CaseInput(x, xValues), CaseInput(y, dyValues)],
                tolerance: .accumulation(terms: 2 * 12 * 12)))
    }

    /// `convTranspose2d` through the Tensor API (graph and executor) on OpenCL against the reference.
    func testConvTranspose2dThroughTensorAPI() throws {
        let backend = try OpenCLTestDevice.require()
        let openCL = Device(backend)
        let reference = Device(OpenCLTestDevice.reference)
        var generator = SeededGenerator(seed: 0xC7A5)
        let cases: [(x: Shape, w: Shape, stride: [Int], padding: [Int], outputPadding: [Int], dilation: [Int], groups: Int)] = [
            ([1, 3, 4, 5], [3, 2, 3, 3], [2, 2], [1, 1, 1, 1], [1, 0], [1, 1], 1),
            ([2, 4, 3, 3], [4, 1, 2, 3], [3, 1], [0, 1, 2, 0], [2, 0], [1, 2], 2),
            ([1, 2, 5, 4], [2, 3, 3, 2], [1, 2], [0, 0, 0, 0], [0, 1], [2, 1], 1),
        ]
        for c in cases {
            let xValues = generator.values(c.x.count).map { Double(Float($0)) }
            let wValues = generator.values(c.w.count).map { Double(Float($0)) }
            func result(on device: Device) throws -> [Double] {
                let x = try Tensor(xValues, shape: c.x, on: device)
                let w = try Tensor(wValues, shape: c.w, on: device)
                return try x.convTranspose2d(
                    weight: w, stride: c.stride, padding: c.padding, outputPadding: c.outputPadding, dilation: c.dilation, groups: c.groups
                ).doubles()
            }
            let expected = try result(on: reference)
            let actual = try result(on: openCL)
            assertClose(actual, expected, .accumulation(terms: c.w[0] / c.groups * c.w[2] * c.w[3]), "convTranspose2d x \(c.x) w \(c.w)")
        }
    }

    /// The direct kernels on groups == 1 geometries (which `.automatic` sends to the GEMM path), all three passes.
    func testDirectKernelsWithOneGroup() throws {
        let backend = try OpenCLTestDevice.require()
        var generator = SeededGenerator(seed: 0xD1EC)
        for index in 0..<12 {
            let geometry = Self.randomGeometry(&generator, oneGroup: true)
            let attributes = geometry.attributes
            let x = CaseInput(geometry.input, generator.values(geometry.input.count))
            let w = CaseInput(geometry.weight, generator.values(geometry.weight.count))
            let dy = CaseInput(geometry.output, generator.values(geometry.output.count))
            let bias = CaseInput([geometry.weight[0]], generator.values(geometry.weight[0]))
            let taps = geometry.weight[1] * geometry.weight[2] * geometry.weight[3]
            let forwardInputs = index % 2 == 0 ? [x, w, bias] : [x, w]
            try Self.checkDirect(
                OpCase(.conv2d(attributes), forwardInputs, tolerance: .accumulation(terms: taps + 1)), backend
            ) { operands, out, shape in
                try backend.conv2d(
                    attributes, x: operands[0], w: operands[1], bias: operands.count > 2 ? operands[2] : nil, out, shape, path: .direct)
            }
            try Self.checkDirect(
                OpCase(
                    .conv2dBackwardInput(attributes, inputShape: geometry.input), [dy, w],
                    tolerance: .accumulation(terms: geometry.weight[0] * geometry.weight[2] * geometry.weight[3])), backend
            ) { operands, out, shape in
                try backend.conv2dBackwardInput(attributes, dy: operands[0], w: operands[1], out, shape, path: .direct)
            }
            try Self.checkDirect(
                OpCase(
                    .conv2dBackwardWeight(attributes, weightShape: geometry.weight), [x, dy],
                    tolerance: .accumulation(terms: geometry.output[0] * geometry.output[2] * geometry.output[3])), backend
            ) { operands, out, shape in
                try backend.conv2dBackwardWeight(attributes, x: operands[0], dy: operands[1], out, shape, path: .direct)
            }
        }
    }

    /// The weight gradient's product split into slices of whole images (`weightSliceImages`), on groups == 1
    /// geometries with batches that give one slice, several slices, and a prime number of one-image slices.
    func testWeightGradientSlices() throws {
        var generator = SeededGenerator(seed: 0xD1ED)
        for batch in [1, 7, 9, 12, 16, 64] {
            var geometry = Self.randomGeometry(&generator, oneGroup: true)
            geometry.input = Shape([batch] + geometry.input.dimensions.dropFirst())
            geometry.output = Shape([batch] + geometry.output.dimensions.dropFirst())
            try OpenCLTestDevice.check(geometry.weightGradientCase(&generator))
        }
    }

    func testWeightSliceImages() {
        XCTAssertEqual([1, 7, 9, 12, 16, 64].map { OpenCLBackend.weightSliceImages(batch: $0) }, [1, 1, 1, 2, 2, 8])
    }

    /// Runs `body` on OpenCL buffers holding `opCase`'s inputs and compares its output with the reference.
    private static func checkDirect(
        _ opCase: OpCase, _ backend: OpenCLBackend, file: StaticString = #filePath, line: UInt = #line,
        _ body: ([OpenCLOperand], OpenCLBuffer, Shape) throws -> Void
    ) throws {
        let inputs = OpenCLTestDevice.roundedToFloat(opCase.inputs)
        let expected = try KilnTestSupport.run(opCase.op, inputs, on: OpenCLTestDevice.reference)
        let shape = try opCase.op.outputShape(for: inputs.map(\.shape))
        let operands = try inputs.map { input -> OpenCLOperand in
            let storage = try backend.allocate(count: input.shape.count)
            try backend.write(input.values, to: storage)
            guard let storage = storage as? OpenCLStorage else { throw XCTSkip("not OpenCL storage") }
            return OpenCLOperand(buffer: storage.buffer, shape: input.shape)
        }
        let output = try backend.allocate(count: shape.count)
        guard let out = output as? OpenCLStorage else { throw XCTSkip("not OpenCL storage") }
        try body(operands, out.buffer, shape)
        let actual = try backend.readDoubles(output)
        let result = compare(actual, expected, opCase.tolerance)
        print(
            "KERNEL-ERROR op=\(opCase.op.name)_direct case=\"\(opCase)\" max_abs=\(result.maxAbsoluteError) max_rel=\(result.maxRelativeError)"
        )
        assertClose(actual, expected, opCase.tolerance, "direct \(opCase)", file: file, line: line)
    }
}
