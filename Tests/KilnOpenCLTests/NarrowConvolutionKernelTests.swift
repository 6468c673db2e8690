// NarrowConvolutionKernelTests: Kernels/conv2d_narrow.cl (stride-1 convolutions with at most
// `OpenCLBackend.narrowTapLimit` taps per output) against the CPU reference: forward with and without bias,
// fused with every activation, and the weight gradient, over random geometries whose output rows are 8 long
// (one segment), not a multiple of 8 (the last segment overlaps), or long; 1 or 3 input channels, kernels 1 or 3
// high and 3 or 5 wide, asymmetric padding, and batches that split into one, several and prime-many weight slices.
// Tolerance: `.accumulation(terms:)`, float32 sums of C·KH·KW (+ bias) products forward and N·OH·OW
// products in the weight gradient, in another order than the reference's Double sums.
import Kiln
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

final class NarrowConvolutionKernelTests: XCTestCase {
    /// `taps` fixes (C, KH, KW); else they are drawn from few combinations: each combination (and each fused
    /// activation) is a program of its own, built cold in CI (1.5-2 s each on pocl).
    private static func randomGeometry(_ generator: inout SeededGenerator, batch: Int? = nil, taps: [Int]? = nil) -> ConvolutionGeometry {
        while true {
            let channels = taps?[0] ?? generator.pick([1, 1, 3])
            let weight: Shape = [
                generator.pick([1, 4, 7, 32]), channels, taps?[1] ?? generator.pick([1, 3]), taps?[2] ?? generator.pick([3, 5]),
            ]
            let attributes = Convolution2D(padding: (0..<4).map { _ in generator.pick([0, 1, 2]) })
            let input: Shape = [batch ?? generator.pick([1, 2, 3]), channels, generator.pick([1, 5, 9]), generator.pick([8, 10, 13, 28, 33])]
            guard let output = try? Op.conv2d(attributes).outputShape(for: [input, weight]),
                OpenCLBackend.narrowDefines(attributes, weight: weight, output: output) != nil
            else { continue }
            return ConvolutionGeometry(attributes: attributes, input: input, weight: weight, output: output)
        }
    }

    func testForward() throws {
        var generator = SeededGenerator(seed: 0x4A11)
        for index in 0..<24 {
            let geometry = Self.randomGeometry(&generator)
            try OpenCLTestDevice.check(geometry.forwardCase(&generator, bias: index % 3 != 0))
        }
    }

    func testForwardFusedWithEachActivation() throws {
        var generator = SeededGenerator(seed: 0x4A12)
        let activations: [UnaryFunction] = [.relu, .leakyRelu(slope: 0.1), .sigmoid, .tanh]
        for (index, activation) in (activations + activations).enumerated() {
            let geometry = Self.randomGeometry(&generator, taps: [1, 3, 3])
            try OpenCLTestDevice.check(geometry.forwardCase(&generator, bias: index < activations.count, activation: activation))
        }
    }

    func testWeightGradient() throws {
        var generator = SeededGenerator(seed: 0x4A13)
        for batch in [1, 2, 7, 12, 16, 64] {
            for _ in 0..<3 {
                try OpenCLTestDevice.check(Self.randomGeometry(&generator, batch: batch).weightGradientCase(&generator))
            }
        }
    }

    /// The first layer of the course's CNN, the geometry the narrow kernels were written for (at batch 8: the
    /// debug-build reference takes 2 s per 8 images; batch 64's slices are covered above).
    func testCourseFirstLayer() throws {
        var generator = SeededGenerator(seed: 0x4A14)
        let attributes = Convolution2D(padding: [1, 1, 1, 1])
        let (x, w, y): (Shape, Shape, Shape) = ([8, 1, 28, 28], [32, 1, 3, 3], [8, 32, 28, 28])
        XCTAssertNotNil(OpenCLBackend.narrowDefines(attributes, weight: w, output: y))
        let xValues = generator.values(x.count)
        try OpenCLTestDevice.check(
            OpCase(
                .fusedConv2d(attributes, activation: .relu),
                [CaseInput(x, xValues), CaseInput(w, generator.values(w.count)), CaseInput([32], generator.values(32))],
                tolerance: .accumulation(terms: 10)))
        try OpenCLTestDevice.check(
            OpCase(
                .conv2dBackwardWeight(attributes, weightShape: w), [CaseInput(x, xValues), CaseInput(y, generator.values(y.count))],
                tolerance: .accumulation(terms: 8 * 28 * 28)))
    }

    /// Which geometries take the narrow kernels: stride and dilation 1, one group, few taps, rows of at least 8.
    func testEligibility() {
        let same = Convolution2D(padding: [1, 1, 1, 1])
        XCTAssertNotNil(OpenCLBackend.narrowDefines(same, weight: [8, 3, 3, 3], output: [1, 8, 8, 8]))
        XCTAssertNil(OpenCLBackend.narrowDefines(same, weight: [8, 4, 3, 3], output: [1, 8, 8, 8]), "36 taps")
        XCTAssertNil(OpenCLBackend.narrowDefines(same, weight: [8, 1, 3, 3], output: [1, 8, 8, 7]), "rows of 7")
        XCTAssertNil(OpenCLBackend.narrowDefines(Convolution2D(stride: [1, 2]), weight: [8, 1, 3, 3], output: [1, 8, 8, 8]))
        XCTAssertNil(OpenCLBackend.narrowDefines(Convolution2D(dilation: [2, 1]), weight: [8, 1, 3, 3], output: [1, 8, 8, 8]))
        XCTAssertNil(OpenCLBackend.narrowDefines(Convolution2D(groups: 2), weight: [8, 1, 3, 3], output: [1, 8, 8, 8]))
    }
}
