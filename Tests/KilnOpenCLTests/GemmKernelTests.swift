// GemmKernelTests: gemm.cl's variants and rules: the catalog's quick matmul and linear cases (sizes around the
// register block, every transpose, batched, fused activations) with every candidate of every tunable, the others
// at their default; and which products take the padded-rows path. The sweeps over sizes and transposes are catalog
// cases (Catalog+Matmul.swift) that CatalogKernelTests runs on every device.
import Kiln
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

final class GemmKernelTests: XCTestCase {
    /// B with rows a multiple of 4 KiB long and at least 512 of them is copied with padded rows first; the catalog's
    /// matmul cases at 7×1024×512, 3×1024×513 (transposed) and 2×2048×512 (batched) take that path.
    func testPaddedRowsRule() {
        XCTAssertTrue(OpenCLBackend.padsRows(rows: 512, columns: 1024) && OpenCLBackend.padsRows(rows: 513, columns: 1024))
        XCTAssertTrue(OpenCLBackend.padsRows(rows: 512, columns: 2048))
        XCTAssertFalse(OpenCLBackend.padsRows(rows: 511, columns: 1024) || OpenCLBackend.padsRows(rows: 512, columns: 1040))
        let padded = OpCatalog.cases(in: .products).filter { opCase in
            guard case .op(.matmul(_, let transposeB)) = opCase.computation, opCase.tier != .benchmark else { return false }
            let b = opCase.inputs[1].shape
            let (rows, columns) = transposeB ? (b[b.rank - 1], b[b.rank - 2]) : (b[b.rank - 2], b[b.rank - 1])
            return OpenCLBackend.padsRows(rows: rows, columns: columns)
        }
        XCTAssertEqual(padded.count, 3, "the catalog covers the padded-rows path")
    }

    func testEveryTunableCandidatePassesTheCatalog() throws {
        _ = try TestDevices.requireOpenCL()
        let cases = OpCatalog.cases(in: .products).filter { $0.tier == .quick }
        for handle in TestDevices.openCLHandles {
            let variants = try KernelDescription.gemm.tunables.flatMap { tunable in
                try tunable.candidates.map {
                    try KernelVariant.tuned(handle, file: KernelDescription.gemm.file, values: [tunable.name: $0])
                }
            }
            let results = TestDevices.check(cases, on: variants)
            XCTAssertEqual(results.count, cases.count * variants.count)
        }
    }
}
