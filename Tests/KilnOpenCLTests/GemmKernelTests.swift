// GemmKernelTests: gemm.cl's variants and rules: the catalog's quick matmul and linear cases (sizes around the
// register block, every transpose, batched, fused activations) with every candidate of every tunable, the others
// at their default; which products take the packed path, and every product through it; which products with a
// transposed B are dot products of rows, and every such product through that kernel; which products read a transposed A
// in place, and every product both ways. The sweeps over sizes and transposes are catalog
// cases (Catalog+Matmul.swift) that CatalogKernelTests runs on every device.
import Kiln
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

final class GemmKernelTests: XCTestCase {
    /// Products with at least 256 rows of A and a K of at least 256 run on a packed B, and so do those with a K of 32 to
    /// 255 whose B rows are a multiple of 2 KiB long (N of 1024 or more), and skinny ones (64 rows or more) with K and N
    /// both at least 1024; the catalog's sampled products at 257×1025×1024 (a one-column last panel),
    /// 1031×257×4099 (A of 16 MiB or more: 8 panels per work item, the last item of a row fewer) and 67×4099×1031
    /// (skinny) take that path, as do the bench's sgemm_1024 and sgemm_2048, and sgemm_512 where panels are not paired.
    func testPackedRule() {
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 256, n: 1024, k: 1024), 4)
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 512, n: 512, k: 512), 4)
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 1024, n: 1024, k: 1024), 4)
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 2048, n: 2048, k: 2048), 8)
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 2048, n: 2048, k: 2048, paired: true), 4, "panels in pairs")
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 1024, n: 1024, k: 1024, paired: true), 4)
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 64, n: 2048, k: 2048, paired: true), 1)
        XCTAssertNil(OpenCLBackend.packedPanels(m: 512, n: 512, k: 512, paired: true), "up to 512 rows direct with pairs")
        XCTAssertNil(OpenCLBackend.packedPanels(m: 256, n: 256, k: 256, paired: true))
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 513, n: 512, k: 512, paired: true), 4)
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 512, n: 1024, k: 512, paired: true), 4, "B's rows 4 KiB apart")
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 256, n: 1200, k: 1024, paired: true), 4, "K and N of 1024 or more")
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 256, n: 10, k: 256), 4)
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 1024, n: 64, k: 2048), 4)
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 1024, n: 65, k: 2048), 4)
        XCTAssertNil(OpenCLBackend.packedPanels(m: 255, n: 1023, k: 1024) ?? OpenCLBackend.packedPanels(m: 1024, n: 1000, k: 255))
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 1024, n: 1024, k: 255), 4, "B's rows 4 KiB apart")
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 256, n: 1536, k: 32), 4, "B's rows 6 KiB apart")
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 4096, n: 4096, k: 64), 4)
        XCTAssertNil(OpenCLBackend.packedPanels(m: 1024, n: 3136, k: 64), "rows off the 2 KiB multiples stay direct")
        XCTAssertNil(OpenCLBackend.packedPanels(m: 256, n: 784, k: 64), "the MLP's first weight gradient stays direct")
        XCTAssertNil(OpenCLBackend.packedPanels(m: 1024, n: 4096, k: 31), "a K under 32 stays direct")
        XCTAssertNil(OpenCLBackend.packedPanels(m: 255, n: 4096, k: 64), "fewer than 256 rows and a short K stay direct")
        XCTAssertNil(OpenCLBackend.packedPanels(m: 1024, n: 512, k: 64), "B's rows shorter than 1024 stay direct")
        XCTAssertNil(OpenCLBackend.packedPanels(m: 64, n: 3136, k: 576), "the convolutions' weight-times-columns products stay direct")
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 257, n: 1025, k: 1024), 4)
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 1031, n: 257, k: 4099), 8)
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 64, n: 2048, k: 2048), 1, "a skinny product walks one panel")
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 67, n: 4099, k: 1031), 1)
        XCTAssertEqual(OpenCLBackend.packedPanels(m: 64, n: 1024, k: 1024), 1)
        XCTAssertNil(OpenCLBackend.packedPanels(m: 63, n: 4096, k: 4096) ?? OpenCLBackend.packedPanels(m: 64, n: 1023, k: 4096))
        XCTAssertNil(OpenCLBackend.packedPanels(m: 64, n: 12544, k: 576), "a short K stays direct")
        XCTAssertNil(OpenCLBackend.packedPanels(m: 64, n: 512, k: 2048), "a narrow B stays direct")
        let sampled = OpCatalog.cases(in: .products).filter { $0.name == "matmul_sampled" }.map { $0.inputs.map(\.shape) }
        XCTAssertEqual(
            sampled, [[[1024, 257], [1025, 1024]], [[1031, 4099], [4099, 257]], [[67, 1031], [4099, 1031]]],
            "the catalog covers the packed path")
    }

    /// Every product of the catalog (quick and standard: sizes 1, primes, around the register block, every transpose,
    /// batched, biases and fused activations) and the quick convolutions (a shared A, per-row biases) through
    /// gemm_pack_b and gemm_forward_packed, with one and with three panels per work item (the last item of a row then
    /// walks fewer), a transposed A transposed first with one and read in place with three; with three the panels go
    /// in pairs (`GEMM_PAIRED`: a pair, then one alone), with one one at a time, whatever the device's default.
    func testEveryProductPassesThroughThePackedKernel() throws {
        _ = try TestDevices.requireOpenCL()
        let cases =
            OpCatalog.cases(in: .products).filter { $0.tier <= .standard } + OpCatalog.cases(in: .convolution).filter { $0.tier == .quick }
        for handle in TestDevices.openCLHandles {
            let variants = try [1, 3].map { panels in
                let backend = try OpenCLBackend(device: handle)
                backend.gemmVariant = .registerBlocked
                backend.packedPanels = { _, _, _, _ in panels }
                backend.dotProductForm = { _, _, _ in false }
                backend.readsTransposedA = { _, _, _ in panels == 3 }
                backend.deviceDefaults[KernelDescription.gemm.file, default: [:]]["GEMM_PAIRED"] = panels == 3 ? 1 : 0
                let aForm = panels == 3 ? "in place, panels in pairs" : "transposed"
                return KernelVariant(backend, variant: "every product on a packed B, \(panels) panels per work item, A^T \(aForm)")
            }
            let results = TestDevices.check(cases, on: variants)
            XCTAssertEqual(results.count, cases.count * variants.count)
        }
    }

    /// Products with a transposed A of at most 256 rows read A^T in place (the dense layers' weight gradients at batch 64),
    /// larger ones transpose it first.
    func testTransposedARule() {
        XCTAssertTrue(OpenCLBackend.readsTransposedAInPlace(m: 256, n: 784, k: 64), "the MLP's first weight gradient")
        XCTAssertTrue(OpenCLBackend.readsTransposedAInPlace(m: 128, n: 3136, k: 64), "the CNN's dense weight gradient")
        XCTAssertTrue(OpenCLBackend.readsTransposedAInPlace(m: 1, n: 1, k: 4096))
        XCTAssertTrue(OpenCLBackend.readsTransposedAInPlace(m: 64, n: 64, k: 4096))
        XCTAssertFalse(OpenCLBackend.readsTransposedAInPlace(m: 257, n: 784, k: 64))
        XCTAssertFalse(OpenCLBackend.readsTransposedAInPlace(m: 1024, n: 1000, k: 64), "A^T's rows 4 KiB apart")
    }

    /// Every product of the catalog (quick and standard) on gemm.cl's direct micro-kernel, a transposed A read in place
    /// and transposed first: sizes 1, primes, rows and columns past the register block, batched, biases and fused
    /// activations, each checked against the reference; in place with two column blocks per work item (`GEMM_PAIRED`:
    /// both whole, one whole and one part, one alone), transposed with one, whatever the device's default.
    func testEveryProductReadsATransposedAInPlaceAndTransposed() throws {
        _ = try TestDevices.requireOpenCL()
        let cases = OpCatalog.cases(in: .products).filter { $0.tier <= .standard }
        for handle in TestDevices.openCLHandles {
            let variants = try [true, false].map { inPlace in
                let backend = try OpenCLBackend(device: handle)
                backend.gemmVariant = .registerBlocked
                backend.packedPanels = { _, _, _, _ in nil }
                backend.dotProductForm = { _, _, _ in false }
                backend.readsTransposedA = { _, _, _ in inPlace }
                backend.deviceDefaults[KernelDescription.gemm.file, default: [:]]["GEMM_PAIRED"] = inPlace ? 1 : 0
                let form = inPlace ? "A^T in place, column blocks in pairs" : "A^T transposed"
                return KernelVariant(backend, variant: "every product on the direct kernel, \(form)")
            }
            let results = TestDevices.check(cases, on: variants)
            XCTAssertEqual(results.count, cases.count * variants.count)
        }
    }

    /// Products with a transposed B and fewer than 64 rows of A, or at most 128 and a K of at least 256 or at most 16
    /// columns, read B^T in place (the MLP's and the CNN's dense layers at batch 64); a short K with a wider B, or more
    /// rows, pack it.
    func testDotProductRule() {
        XCTAssertTrue(OpenCLBackend.dotProductForm(m: 64, n: 256, k: 784), "the MLP's first layer")
        XCTAssertTrue(OpenCLBackend.dotProductForm(m: 64, n: 128, k: 256), "the MLP's second layer")
        XCTAssertTrue(OpenCLBackend.dotProductForm(m: 64, n: 10, k: 128), "the MLP's last layer: 10 columns")
        XCTAssertTrue(OpenCLBackend.dotProductForm(m: 64, n: 128, k: 3136), "the CNN's dense layer: a long K")
        XCTAssertTrue(OpenCLBackend.dotProductForm(m: 63, n: 1000, k: 128))
        XCTAssertTrue(OpenCLBackend.dotProductForm(m: 1, n: 1024, k: 4096))
        XCTAssertTrue(OpenCLBackend.dotProductForm(m: 128, n: 1024, k: 2048))
        XCTAssertTrue(OpenCLBackend.dotProductForm(m: 128, n: 16, k: 64))
        XCTAssertFalse(OpenCLBackend.dotProductForm(m: 64, n: 17, k: 255), "a short K and a wider B")
        XCTAssertFalse(OpenCLBackend.dotProductForm(m: 64, n: 128, k: 128))
        XCTAssertFalse(OpenCLBackend.dotProductForm(m: 129, n: 256, k: 784))
        XCTAssertFalse(OpenCLBackend.dotProductForm(m: 1024, n: 1024, k: 1024))
    }

    /// Every product of the catalog (quick and standard) with a transposed B through gemm_forward_dot, whatever its
    /// shape: sizes 1, primes, K not a multiple of the eight steps of its loop, rows and columns past the work item's
    /// 3 × 4 block, batched, biases per row and per column, fused activations and derivatives.
    func testEveryTransposedProductPassesThroughTheDotProductKernel() throws {
        _ = try TestDevices.requireOpenCL()
        let cases = OpCatalog.cases(in: .products).filter { $0.tier <= .standard }
        for handle in TestDevices.openCLHandles {
            let backend = try OpenCLBackend(device: handle)
            backend.gemmVariant = .registerBlocked
            backend.dotProductForm = { _, _, _ in true }
            let variants = [KernelVariant(backend, variant: "every product with a transposed B as dot products of rows")]
            let results = TestDevices.check(cases, on: variants)
            XCTAssertEqual(results.count, cases.count * variants.count)
        }
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
