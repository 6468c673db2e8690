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

    /// `tuneGemm` times both variants' tunables, stores each one's best and the faster variant, and a later backend on
    /// the device runs that variant with those values.
    func testTunerStoresBothVariantsAndTheFaster() throws {
        _ = try TestDevices.requireOpenCL()
        let handle = try XCTUnwrap(TestDevices.openCLHandles.first)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-tune-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try OpenCLBackend(device: handle, cacheDirectory: folder)
        let (variant, best, trials, file) = try first.tuneGemm(probes: [.init(m: 13, n: 17, k: 7, transposeB: true)], repeats: 1) {
            Date().timeIntervalSinceReferenceDate
        }
        XCTAssertNotNil(file)
        XCTAssertEqual(Set(best.keys), Set(GemmVariant.allCases))
        XCTAssertGreaterThan(trials.count, KernelDescription.gemm.tunables.count + KernelDescription.gemmTiled.tunables.count)
        XCTAssertEqual(Set(best[.tiled]?.values.keys ?? [:].keys), Set(KernelDescription.gemmTiled.tunables.map(\.name)))
        let second = try OpenCLBackend(device: handle, cacheDirectory: folder)
        XCTAssertEqual(second.tuning?.variants[TuningTable.gemmFamily], variant.rawValue)
        XCTAssertEqual(second.tuning?.kernels[KernelDescription.gemmTiled.file], best[.tiled]?.values)
        XCTAssertEqual(second.gemmVariant, ProcessInfo.processInfo.environment["KILN_GEMM"].flatMap(GemmVariant.init) ?? variant)
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
