// NarrowConvolutionKernelTests: which geometries take conv2d_narrow.cl (stride and dilation 1, one group, at most
// `OpenCLBackend.narrowTapLimit` taps per output, output rows of at least 8), and that the catalog's convolution
// cases exercise it: forward with and without bias, fused with every activation, the weight gradient over batches
// that split into one, several and prime-many slices, and output rows around its 8-wide segments with 1 and 3 input
// channels. CatalogKernelTests runs those cases on every device.
import Kiln
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

final class NarrowConvolutionKernelTests: XCTestCase {
    func testEligibility() {
        let same = Convolution2D(padding: [1, 1, 1, 1])
        XCTAssertNotNil(OpenCLBackend.narrowDefines(same, weight: [8, 3, 3, 3], output: [1, 8, 8, 8]))
        XCTAssertNil(OpenCLBackend.narrowDefines(same, weight: [8, 4, 3, 3], output: [1, 8, 8, 8]), "36 taps")
        XCTAssertNil(OpenCLBackend.narrowDefines(same, weight: [8, 1, 3, 3], output: [1, 8, 8, 7]), "rows of 7")
        XCTAssertNil(OpenCLBackend.narrowDefines(Convolution2D(stride: [1, 2]), weight: [8, 1, 3, 3], output: [1, 8, 8, 8]))
        XCTAssertNil(OpenCLBackend.narrowDefines(Convolution2D(dilation: [2, 1]), weight: [8, 1, 3, 3], output: [1, 8, 8, 8]))
        XCTAssertNil(OpenCLBackend.narrowDefines(Convolution2D(groups: 2), weight: [8, 1, 3, 3], output: [1, 8, 8, 8]))
    }

    /// The catalog's cases that take the narrow kernels, by pass, activation, input channels and row length.
    func testTheCatalogCoversTheNarrowKernels() throws {
        var forward = 0
        var weightGradient = 0
        var activations = Set<String>()
        var channels = Set<Int>()
        var widths = Set<Int>()
        var batches = Set<Int>()
        for opCase in OpCatalog.cases(in: .convolution) where opCase.tier != .benchmark {
            guard case .op(let op) = opCase.computation else { continue }
            let shapes = opCase.inputs.map(\.shape)
            switch op {
            case .conv2d(let attributes), .fusedConv2d(let attributes, _):
                let output = try op.outputShape(for: shapes)
                guard OpenCLBackend.narrowDefines(attributes, weight: shapes[1], output: output) != nil else { continue }
                forward += 1
                activations.insert(op.checkName)
                channels.insert(shapes[1][1])
                widths.insert(output[3])
            case .conv2dBackwardWeight(let attributes, let weight):
                guard OpenCLBackend.narrowDefines(attributes, weight: weight, output: shapes[1]) != nil else { continue }
                weightGradient += 1
                batches.insert(shapes[0][0])
            default:
                continue
            }
        }
        XCTAssertGreaterThanOrEqual(forward, 40)
        XCTAssertGreaterThanOrEqual(weightGradient, 25)
        XCTAssertEqual(
            activations,
            Set(
                ["conv2d"]
                    + UnaryFunction.all.filter(\.isFusibleActivation).map { Op.fusedConv2d(Convolution2D(), activation: $0).checkName }))
        XCTAssertEqual(channels, [1, 3])
        XCTAssertTrue(Set([8, 9, 15, 16, 17]).isSubset(of: widths), "rows around the 8-wide segments: \(widths.sorted())")
        XCTAssertTrue(Set([1, 7, 12, 64]).isSubset(of: batches), "one, prime-many and several weight slices: \(batches.sorted())")
    }
}
