// ElementwiseKernelTests: what the catalog's elementwise cases (Catalog+Elementwise.swift, run on every device by
// CatalogKernelTests) cannot say: dropout masks keep the fraction 1 − p of a long mask, and which broadcasts take the
// row kernels (`binary_forward_channel`, `binary_forward_row`) rather than the strided one, and every run length of the
// contiguous kernels passes the catalog's cases.
import Kiln
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

final class ElementwiseKernelTests: XCTestCase {
    /// The fraction kept is binomial: within 5 standard deviations of 1 − p.
    func testDropoutKeepRate() throws {
        let count = 100_003
        for backend in try TestDevices.requireOpenCL() {
            for (probability, seed) in [(0.1, UInt64(7)), (0.3, 0xDEAD_BEEF_0123_4567), (0.37, UInt64.max), (0.999, 42)] {
                let mask = try ReferenceRun.execute(.dropoutMask(probability: probability, seed: seed, shape: [count]), [], on: backend)
                    .values
                let keptFraction = Double(mask.filter { $0 != 0 }.count) / Double(count)
                let deviation = (probability * (1 - probability) / Double(count)).squareRoot()
                XCTAssertEqual(keptFraction, 1 - probability, accuracy: 5 * deviation + 1e-9, "p=\(probability) on \(backend.name)")
            }
        }
    }

    /// The contiguous kernels with runs of one vector (a GPU's), two vectors (most cases then span several runs and end
    /// in a partial one) and 1024 elements, on the catalog's quick elementwise and update cases, whatever run the device
    /// picks itself.
    func testEveryRunLengthPassesTheCatalog() throws {
        _ = try TestDevices.requireOpenCL()
        let cases = (OpCatalog.cases(in: .elementwise) + OpCatalog.cases(in: .update)).filter { $0.tier == .quick }
        XCTAssertGreaterThan(cases.count, 50)
        for run in [8, 16, 1024] {
            let variants = try TestDevices.openCLHandles.map { handle in
                let backend = try OpenCLBackend(device: handle)
                backend.elementwiseRun = { _ in run }
                return KernelVariant(backend, variant: "runs of \(run) elements")
            }
            TestDevices.check(cases, on: variants)
        }
    }

    /// One vector per work item on a GPU; on a CPU device runs for about four work groups per compute unit, from one
    /// vector to 1024 elements, always whole vectors.
    func testElementwiseRunRule() throws {
        var device = try XCTUnwrap(TestDevices.openCLHandles.first, "no OpenCL device").info
        (device.isGPU, device.computeUnits) = (false, 2)
        XCTAssertEqual(OpenCLBackend.elementwiseRun(count: 1, device: device), 8)
        XCTAssertEqual(OpenCLBackend.elementwiseRun(count: 4096, device: device), 8)
        XCTAssertEqual(OpenCLBackend.elementwiseRun(count: 235_146, device: device), 464)
        XCTAssertEqual(OpenCLBackend.elementwiseRun(count: 802_816, device: device), 1024)
        device.computeUnits = 16
        XCTAssertEqual(OpenCLBackend.elementwiseRun(count: 235_146, device: device), 64)
        device.isGPU = true
        XCTAssertEqual(OpenCLBackend.elementwiseRun(count: 802_816, device: device), 8)
    }

    /// Per-channel and per-row operands take the row kernels; other patterns stay on the strided kernel.
    func testRowBroadcastSelection() throws {
        let run = OpenCLBackend.binaryRunLength
        let channelCases: [(Shape, Shape)] = [
            ([2, 3, 5, 7], [1, 3, 1, 1]), ([1, 7, 1, 127], [1, 7, 1, 1]), ([3, 2, 1, run], [2, 1, 1]), ([2, 5, run + 1], [5, 1]),
            ([13, run - 1], [13, 1]), ([2, 13, 2 * run + 1], [13, 1]), ([1, 2, 2 * run], [1, 2, 1]), ([3, 31, 2, 2], [1, 31, 1, 1]),
            ([2, 2, 1, 1, 3, 5], [2, 1, 1, 1, 1]),
        ]
        let rowCases: [(Shape, Shape)] = [
            ([5, 127], [127]), ([3, run], [1, run]), ([2, run + 1], [run + 1]), ([31, 1, 2 * run + 1], [2 * run + 1]),
            ([64, 3, 1, 1], [1, 3, 1, 1]), ([3, 7, 2], [7, 2]), ([1, 7, 2], [1, 1, 2]), ([2, 2], [1, 2]), ([65, 10], [10]),
        ]
        func layout(_ full: Shape, _ small: Shape) -> StridedLayout {
            StridedLayout(dimensions: full.dimensions, strides: [full.strides, small.broadcastStrides(to: full)])
        }
        for (full, small) in channelCases {
            let pattern = try XCTUnwrap(OpenCLBackend.rowBroadcast(layout(full, small), smallOperand: 1), "\(small) against \(full)")
            XCTAssertNotNil(pattern.channels, "\(small) against \(full) is a per-channel broadcast")
        }
        for (full, small) in rowCases {
            let pattern = try XCTUnwrap(OpenCLBackend.rowBroadcast(layout(full, small), smallOperand: 1), "\(small) against \(full)")
            XCTAssertNil(pattern.channels, "\(small) against \(full) is a row broadcast")
        }
        for (full, small) in [([2, 3, 4], [2, 1, 4]), ([2, 3, 4, 5], [1, 3, 1, 5]), ([3, 4], [3, 4])] as [(Shape, Shape)] {
            XCTAssertNil(OpenCLBackend.rowBroadcast(layout(full, small), smallOperand: 1), "\(small) against \(full)")
        }
        // The catalog runs every one of these patterns, both ways round, for every binary function.
        let catalogPairs = Set(
            OpCatalog.cases(in: .elementwise).compactMap { opCase -> [Shape]? in
                guard case .op(.binary) = opCase.computation else { return nil }
                return opCase.inputs.map(\.shape)
            })
        for (full, small) in channelCases + rowCases {
            XCTAssertTrue(catalogPairs.contains([full, small]) && catalogPairs.contains([small, full]), "\(small) against \(full)")
        }
    }
}
