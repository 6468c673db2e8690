// TiledGemmKernelTests: the GPU-shaped GEMM variant (Kernels/gemm_tiled.cl) on the catalog's products: matmul and
// linear (every transpose, batched, sizes around the tiles, fused activations), convolutions (their GEMM path) and the
// LSTM sequence (its input projection), on every OpenCL device; with its default tiles, with small tiles that put most
// of each product in edge tiles, and with every vector width; and the fitting of its tiles to a device's limits.
import Kiln
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

final class TiledGemmKernelTests: XCTestCase {
    /// The catalog's cases whose products go through `gemm`, up to the tier the tests run.
    private var productCases: [OpCase] {
        [OpFamily.products, .convolution, .recurrent].flatMap { OpCatalog.cases(in: $0) }.filter { $0.tier <= TestDevices.tier }
    }

    /// A fresh backend on `handle` running the tiled variant, gemm_tiled.cl built with `values` (the rest default).
    private func tiled(_ handle: OpenCLDeviceHandle, _ values: [String: Int] = [:]) throws -> KernelVariant {
        let variant = try KernelVariant.tuned(handle, file: KernelDescription.gemmTiled.file, values: values)
        XCTAssertEqual(variant.base.gemmVariant, .tiled)
        return variant
    }

    func testDefaultTilesPassTheCatalog() throws {
        _ = try TestDevices.requireOpenCL()
        let cases = productCases
        XCTAssertGreaterThan(cases.count, 40)
        TestDevices.check(cases, on: try TestDevices.openCLHandles.map { try tiled($0) })
    }

    /// 16 x 16 tiles of 4 x 4 work items and a K step of 8: most products end in partial tiles in every dimension.
    func testSmallTilesPassTheCatalog() throws {
        _ = try TestDevices.requireOpenCL()
        let small = ["TILED_M": 16, "TILED_N": 16, "TILED_K": 8, "TILED_THREADS_M": 4, "TILED_THREADS_N": 4]
        TestDevices.check(productCases, on: try TestDevices.openCLHandles.map { try tiled($0, small) })
    }

    /// Every vector width of the global reads, on the quick matmul cases.
    func testEveryVectorWidthPassesTheCatalog() throws {
        _ = try TestDevices.requireOpenCL()
        let cases = OpCatalog.cases(in: .products).filter { $0.tier == .quick }
        for handle in TestDevices.openCLHandles {
            TestDevices.check(cases, on: try [1, 2, 4].map { try tiled(handle, ["TILED_WIDTH": $0]) })
        }
    }

    /// The tiles shrink to the device's limits: a group limit of 64 halves the 16 x 16 work items to 8 x 8; local
    /// memory always holds both blocks; a limit below 16 work items leaves no configuration.
    func testTilesFitTheDeviceLimits() throws {
        _ = try TestDevices.requireOpenCL()
        let backend = try OpenCLBackend(device: try XCTUnwrap(TestDevices.openCLHandles.first))
        backend.tuning = nil
        let fitted = try XCTUnwrap(backend.tiledDefines(groupLimit: 64))
        let values = Dictionary(uniqueKeysWithValues: fitted)
        XCTAssertEqual((values["TILED_THREADS_M"] ?? 0) * (values["TILED_THREADS_N"] ?? 0), 64)
        XCTAssertLessThanOrEqual(OpenCLBackend.tiledLocalBytes(values), backend.context.device.localMemoryBytes)
        XCTAssertNil(backend.tiledDefines(groupLimit: 8), "4 x 4 work items is the smallest group")
    }

    /// KILN_GEMM picks a variant, a tuning table's stored variant is used next, then the device type decides; a name
    /// that is no variant is an error naming the variable and the choices.
    func testVariantChoice() throws {
        _ = try TestDevices.requireOpenCL()
        var info = try XCTUnwrap(TestDevices.openCLHandles.first).info
        info.isGPU = false
        XCTAssertEqual(try GemmVariant.preferred(for: info, tuning: nil, environment: [:]), .registerBlocked)
        info.isGPU = true
        XCTAssertEqual(try GemmVariant.preferred(for: info, tuning: nil, environment: [:]), .tiled)
        let table = TuningTable(device: "d", variants: [TuningTable.gemmFamily: "register-blocked"])
        XCTAssertEqual(try GemmVariant.preferred(for: info, tuning: table, environment: [:]), .registerBlocked)
        XCTAssertEqual(try GemmVariant.preferred(for: info, tuning: table, environment: ["KILN_GEMM": "tiled"]), .tiled)
        XCTAssertThrowsError(try GemmVariant.preferred(for: info, tuning: nil, environment: ["KILN_GEMM": "fast"])) { error in
            XCTAssertTrue("\(error)".contains("KILN_GEMM") && "\(error)".contains("register-blocked"), "\(error)")
        }
    }
}
