// ConvolutionKernelTests: conv2d.cl's direct kernels, which serve every geometry, on the catalog's convolution
// cases that the automatic choice sends to the GEMM, narrow or blocked paths (one group); the blocked forward kernel
// (conv2d_blocked.cl) with each of its tunable values, and which geometries it serves; the channel-vector kernel
// (conv2d_channels.cl) on the cases it serves, and which those are; and the rule that splits the
// weight gradient's product into slices of whole images. The geometries themselves (strides, asymmetric padding,
// dilation, groups, bias, non-square kernels) are catalog cases (Catalog+Convolution.swift) that
// CatalogKernelTests runs on every device.
import Kiln
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

final class ConvolutionKernelTests: XCTestCase {
    /// Every one-group convolution case of the standard tier (forward, fused, both gradients) through the direct kernels.
    func testDirectKernelsOnOneGroupGeometries() throws {
        let cases = OpCatalog.cases(in: .convolution).filter { opCase in
            guard opCase.tier <= TestDevices.tier, case .op(let op) = opCase.computation else { return false }
            switch op {
            case .conv2d(let attributes), .fusedConv2d(let attributes, _), .conv2dBackwardInput(let attributes, _),
                .conv2dBackwardWeight(let attributes, _):
                return attributes.groups == 1
            default: return false
            }
        }
        XCTAssertGreaterThan(cases.count, 50)
        let variants = try TestDevices.requireOpenCL().map { backend in
            KernelVariant(backend, variant: "the direct convolution kernels") { op, x, out, shape in
                switch op {
                case .conv2d(let attributes):
                    try backend.conv2d(attributes, x: x[0], w: x[1], bias: x.count > 2 ? x[2] : nil, out, shape, path: .direct)
                case .fusedConv2d(let attributes, let activation):
                    try backend.conv2d(
                        attributes, x: x[0], w: x[1], bias: x.count > 2 ? x[2] : nil, out, shape, path: .direct, activation: activation)
                case .conv2dBackwardInput(let attributes, _):
                    try backend.conv2dBackwardInput(attributes, dy: x[0], w: x[1], out, shape, path: .direct)
                case .conv2dBackwardWeight(let attributes, _):
                    try backend.conv2dBackwardWeight(attributes, x: x[0], dy: x[1], out, shape, path: .direct)
                default:
                    return false
                }
                return true
            }
        }
        TestDevices.check(cases, on: variants)
    }

    func testBlockedForwardEligibility() {
        let same = Convolution2D(padding: [1, 1, 1, 1])
        XCTAssertTrue(OpenCLBackend.usesBlockedForward(same, weight: [16, 16, 3, 3]))
        XCTAssertTrue(OpenCLBackend.usesBlockedForward(Convolution2D(padding: [0, 1, 2, 1]), weight: [8, 4, 2, 4]))
        XCTAssertFalse(OpenCLBackend.usesBlockedForward(same, weight: [16, 16, 1, 1]), "1×1 is a product already")
        XCTAssertFalse(OpenCLBackend.usesBlockedForward(Convolution2D(stride: [2, 1]), weight: [16, 16, 3, 3]))
        XCTAssertFalse(OpenCLBackend.usesBlockedForward(Convolution2D(dilation: [1, 2]), weight: [16, 16, 3, 3]))
        XCTAssertFalse(OpenCLBackend.usesBlockedForward(Convolution2D(groups: 2), weight: [16, 8, 3, 3]))
    }

    /// The convolution catalog's forward and input-gradient cases with every tunable value of conv2d_blocked.cl (4 or
    /// 8 output channels per work item, segments of 8 or 16), which the blocked kernel serves on CPU devices (those
    /// under 256 taps per output: in the 16-lane devices' channels geometry, whatever the device's own).
    func testBlockedForwardTunables() throws {
        _ = try TestDevices.requireOpenCL()
        let cases = OpCatalog.cases(in: .convolution).filter { opCase in
            guard opCase.tier <= TestDevices.tier, case .op(let op) = opCase.computation else { return false }
            switch op {
            case .conv2d(let attributes), .fusedConv2d(let attributes, _), .conv2dBackwardInput(let attributes, _):
                return OpenCLBackend.usesBlockedForward(attributes, weight: opCase.inputs[1].shape)
            default: return false
            }
        }
        XCTAssertGreaterThanOrEqual(cases.count, 10)
        let description = KernelDescription.conv2dBlocked
        let variants = try TestDevices.openCLHandles.flatMap { handle in
            try description.tunables.flatMap { tunable in
                try tunable.candidates.map { try KernelVariant.tuned(handle, file: description.file, values: [tunable.name: $0]) }
            }
        }
        for variant in variants {
            variant.base.gemmVariant = .registerBlocked
            variant.base.channelsGeometry = ChannelsGeometry(vectorWidth: 16)
        }
        TestDevices.check(cases, on: variants)
    }

    func testChannelsEligibility() {
        let (wide, narrow) = (ChannelsGeometry(vectorWidth: 16), ChannelsGeometry(vectorWidth: 8))
        let same = Convolution2D(padding: [1, 1, 1, 1])
        XCTAssertTrue(OpenCLBackend.usesChannelsForward(same, weight: [64, 32, 3, 3], geometry: wide))
        XCTAssertTrue(
            OpenCLBackend.usesChannelsForward(Convolution2D(stride: [2, 2], dilation: [1, 2]), weight: [16, 32, 3, 3], geometry: wide))
        XCTAssertFalse(
            OpenCLBackend.usesChannelsForward(same, weight: [64, 16, 3, 3], geometry: wide), "144 taps: the blocked kernel is faster")
        XCTAssertTrue(OpenCLBackend.usesChannelsForward(same, weight: [64, 16, 3, 3], geometry: narrow), "144 taps on an AVX2 device")
        XCTAssertFalse(OpenCLBackend.usesChannelsForward(same, weight: [64, 15, 3, 3], geometry: narrow))
        XCTAssertFalse(OpenCLBackend.usesChannelsForward(same, weight: [64, 512, 1, 1], geometry: wide), "1×1 is a product already")
        XCTAssertFalse(OpenCLBackend.usesChannelsForward(Convolution2D(groups: 2), weight: [64, 32, 3, 3], geometry: wide))
        XCTAssertTrue(OpenCLBackend.usesChannelsInputGradient(same, weight: [32, 3, 3, 3], geometry: wide), "288 output taps")
        XCTAssertFalse(OpenCLBackend.usesChannelsInputGradient(same, weight: [16, 64, 3, 3], geometry: wide))
        XCTAssertTrue(OpenCLBackend.usesChannelsInputGradient(same, weight: [16, 64, 3, 3], geometry: narrow))
        XCTAssertFalse(OpenCLBackend.usesChannelsInputGradient(Convolution2D(stride: [2, 1]), weight: [64, 32, 3, 3], geometry: wide))
        XCTAssertFalse(
            OpenCLBackend.usesChannelsInputGradient(Convolution2D(padding: [3, 1, 0, 1]), weight: [64, 32, 3, 3], geometry: wide))
        XCTAssertTrue(OpenCLBackend.usesChannelsWeightGradient(Convolution2D(stride: [2, 2]), weight: [16, 3, 3, 3]))
        XCTAssertFalse(OpenCLBackend.usesChannelsWeightGradient(same, weight: [15, 64, 3, 3]), "fewer than one block of 16")
        XCTAssertFalse(OpenCLBackend.usesChannelsWeightGradient(same, weight: [64, 64, 1, 1]))
    }

    /// The catalog's convolution cases that conv2d_channels.cl serves with the register-blocked GEMM, run with it on
    /// every OpenCL device (a GPU's default tiled GEMM would send them elsewhere), in both geometries (16- and 8-lane
    /// devices'), whichever the device would pick.
    func testChannelsKernelCases() throws {
        for geometry in [ChannelsGeometry(vectorWidth: 16), ChannelsGeometry(vectorWidth: 8)] {
            let cases = OpCatalog.cases(in: .convolution).filter { opCase in
                guard opCase.tier <= TestDevices.tier, case .op(let op) = opCase.computation else { return false }
                let weight = opCase.inputs[1].shape
                switch op {
                case .conv2d(let attributes), .fusedConv2d(let attributes, _):
                    return OpenCLBackend.usesChannelsForward(attributes, weight: weight, geometry: geometry)
                case .conv2dBackwardInput(let attributes, _):
                    return OpenCLBackend.usesChannelsInputGradient(attributes, weight: weight, geometry: geometry)
                case .conv2dBackwardWeight(let attributes, let weightShape):
                    return OpenCLBackend.narrowDefines(attributes, weight: weightShape, output: opCase.inputs[1].shape) == nil
                        && OpenCLBackend.usesChannelsWeightGradient(attributes, weight: weightShape)
                default: return false
                }
            }
            XCTAssertGreaterThanOrEqual(cases.count, TestDevices.tier == .quick ? 4 : 22)
            let variants = try TestDevices.openCLHandles.map {
                try KernelVariant.tuned($0, file: KernelDescription.conv2dChannels.file, values: [:])
            }
            for variant in variants {
                variant.base.gemmVariant = .registerBlocked
                variant.base.channelsGeometry = geometry
            }
            TestDevices.check(cases, on: variants)
        }
    }

    /// 16-lane devices keep 8 outputs and 9 taps per work item, serve 256 taps per output and more, and take two blocks
    /// of 16 channels per work item from 32 channels; narrower ones 5 and 6 (two registers per float16), serve 144 taps
    /// and more, and take one block.
    func testChannelsGeometry() {
        let wide = [16, 32].map(ChannelsGeometry.init(vectorWidth:))
        let narrow = [1, 4, 8].map(ChannelsGeometry.init(vectorWidth:))
        XCTAssertEqual(wide.map { [$0.maximumPixels, $0.tapGroup, $0.tapMinimum, $0.channelBlocks] }, [[8, 9, 256, 2], [8, 9, 256, 2]])
        XCTAssertEqual(
            narrow.map { [$0.maximumPixels, $0.tapGroup, $0.tapMinimum, $0.channelBlocks] }, Array(repeating: [5, 6, 144, 1], count: 3))
        XCTAssertEqual([16, 31, 32, 64].map(wide[0].blocks(outputs:)), [1, 1, 2, 2])
        XCTAssertEqual([16, 32, 64].map(narrow[2].blocks(outputs:)), [1, 1, 1])
        XCTAssertEqual([1, 17, 31, 33, 50, 64].map(wide[0].paddedOutputs), [16, 32, 32, 64, 64, 64])
        XCTAssertEqual([1, 17, 33, 64].map(narrow[2].paddedOutputs), [16, 32, 48, 64])
    }

    func testWeightSliceImages() {
        XCTAssertEqual([1, 7, 9, 12, 16, 64].map { OpenCLBackend.weightSliceImages(batch: $0) }, [1, 1, 1, 2, 2, 8])
    }
}
