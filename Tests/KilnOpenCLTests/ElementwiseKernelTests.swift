// ElementwiseKernelTests: what the catalog's elementwise cases (Catalog+Elementwise.swift, run on every device by
// CatalogKernelTests) cannot say: dropout masks keep the fraction 1 − p of a long mask, and which broadcasts take the
// row kernels (`binary_forward_channel`, `binary_forward_row`) rather than the strided one.
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
