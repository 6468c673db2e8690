// GemmKernelTests: Kernels/gemm.cl against the CPU reference: all four transpose combinations, rank 2 and
// batched rank 3, sizes 1, primes and one below / at / above the register block (GEMM_ROWS x GEMM_WIDTH),
// with the default tunables and with every other candidate of the kernel description.
import KilnCore
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

final class GemmKernelTests: XCTestCase {
    private static let rows = KernelDescription.gemm.defaults["GEMM_ROWS"] ?? 6
    private static let width = KernelDescription.gemm.defaults["GEMM_WIDTH"] ?? 16

    /// Sizes around the default block: 1, primes, and one below / at / above the block and twice the block.
    private static let sizesM = [1, 2, rows - 1, rows, rows + 1, 2 * rows + 1, 7, 13, 31]
    private static let sizesN = [1, 3, width - 1, width, width + 1, 2 * width + 1, 7, 13, 31]
    private static let sizesK = [1, 2, 7, 13, 15, 16, 17, 31, 64]

    /// A matmul case: `op(A) [M, K] . op(B) [K, N]`, batched when `batch` is non-nil.
    private static func gemmCase(
        m: Int, n: Int, k: Int, batch: Int?, transposeA: Bool, transposeB: Bool, generator: inout SeededGenerator
    ) -> OpCase {
        let prefix = batch.map { [$0] } ?? []
        let aShape = Shape(prefix + (transposeA ? [k, m] : [m, k]))
        let bShape = Shape(prefix + (transposeB ? [n, k] : [k, n]))
        return OpCase(
            .matmul(transposeA: transposeA, transposeB: transposeB),
            [CaseInput(aShape, generator.values(aShape.count)), CaseInput(bShape, generator.values(bShape.count))],
            tolerance: .accumulation(terms: k))
    }

    func testAwkwardSizesAllTransposes() throws {
        var generator = SeededGenerator(seed: 0x6E44)
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                for _ in 0..<8 {
                    let (m, n, k) = (generator.pick(Self.sizesM), generator.pick(Self.sizesN), generator.pick(Self.sizesK))
                    try OpenCLTestDevice.check(
                        Self.gemmCase(m: m, n: n, k: k, batch: nil, transposeA: transposeA, transposeB: transposeB, generator: &generator))
                }
            }
        }
    }

    func testBlockBoundariesInEveryDimension() throws {
        var generator = SeededGenerator(seed: 0xB10C)
        let (r, w) = (Self.rows, Self.width)
        for (m, n, k) in [(r - 1, w, 16), (r, w, 16), (r + 1, w, 16), (r, w - 1, 15), (r, w + 1, 17), (1, 1, 1), (r + 1, w + 1, 1)] {
            try OpenCLTestDevice.check(
                Self.gemmCase(m: m, n: n, k: k, batch: nil, transposeA: false, transposeB: false, generator: &generator))
        }
    }

    func testPrimesAndLargerSizes() throws {
        var generator = SeededGenerator(seed: 0x127)
        try OpenCLTestDevice.check(
            Self.gemmCase(m: 127, n: 31, k: 13, batch: nil, transposeA: false, transposeB: false, generator: &generator))
        try OpenCLTestDevice.check(
            Self.gemmCase(m: 31, n: 127, k: 7, batch: nil, transposeA: true, transposeB: false, generator: &generator))
        try OpenCLTestDevice.check(
            Self.gemmCase(m: 13, n: 7, k: 127, batch: nil, transposeA: false, transposeB: true, generator: &generator))
        try OpenCLTestDevice.check(
            Self.gemmCase(m: 64, n: 96, k: 200, batch: nil, transposeA: true, transposeB: true, generator: &generator))
    }

    /// B with rows a multiple of 4 KiB long and at least 512 of them is copied with padded rows first
    /// (`OpenCLBackend.padsRows`): rank 2, transposed B, and batched (each batch's B padded in one copy).
    func testRowPaddedB() throws {
        var generator = SeededGenerator(seed: 0x4096)
        XCTAssertTrue(OpenCLBackend.padsRows(rows: 512, columns: 1024) && OpenCLBackend.padsRows(rows: 513, columns: 1024))
        XCTAssertTrue(OpenCLBackend.padsRows(rows: 512, columns: 2048))
        XCTAssertFalse(OpenCLBackend.padsRows(rows: 511, columns: 1024) || OpenCLBackend.padsRows(rows: 512, columns: 1040))
        try OpenCLTestDevice.check(
            Self.gemmCase(m: 7, n: 1024, k: 512, batch: nil, transposeA: false, transposeB: false, generator: &generator))
        try OpenCLTestDevice.check(
            Self.gemmCase(m: 3, n: 1024, k: 513, batch: nil, transposeA: true, transposeB: true, generator: &generator))
        try OpenCLTestDevice.check(
            Self.gemmCase(m: 2, n: 2048, k: 512, batch: 3, transposeA: false, transposeB: false, generator: &generator))
    }

    func testBatchedAllTransposes() throws {
        var generator = SeededGenerator(seed: 0xBA7C)
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                for _ in 0..<2 {
                    let (m, n, k) = (generator.pick(Self.sizesM), generator.pick(Self.sizesN), generator.pick(Self.sizesK))
                    let batch = generator.pick([1, 2, 3, 5])
                    try OpenCLTestDevice.check(
                        Self.gemmCase(m: m, n: n, k: k, batch: batch, transposeA: transposeA, transposeB: transposeB, generator: &generator)
                    )
                }
            }
        }
    }

    /// Every candidate of every tunable (others at their default) on shapes that stick out of the block.
    func testEveryTunableCandidate() throws {
        let backend = try OpenCLTestDevice.require()
        var generator = SeededGenerator(seed: 0x7A3E)
        for tunable in KernelDescription.gemm.tunables {
            for candidate in tunable.candidates {
                let values = [tunable.name: candidate]
                let rows = values["GEMM_ROWS"] ?? Self.rows
                for (transposeA, transposeB) in [(false, false), (true, true)] {
                    let opCase = Self.gemmCase(
                        m: 2 * rows + 1, n: 37, k: 19, batch: 2,
                        transposeA: transposeA, transposeB: transposeB, generator: &generator)
                    let inputs = OpenCLTestDevice.roundedToFloat(opCase.inputs)
                    let expected = try KilnTestSupport.run(opCase.op, inputs, on: OpenCLTestDevice.reference)
                    let outputShape = try opCase.op.outputShape(for: inputs.map(\.shape))
                    let operands = try inputs.map { input -> OpenCLOperand in
                        let storage = try backend.allocate(count: input.shape.count)
                        try backend.write(input.values, to: storage)
                        guard let storage = storage as? OpenCLStorage else { throw XCTSkip("not OpenCL storage") }
                        return OpenCLOperand(buffer: storage.buffer, shape: input.shape)
                    }
                    let output = try backend.allocate(count: outputShape.count)
                    guard let out = output as? OpenCLStorage else { throw XCTSkip("not OpenCL storage") }
                    try backend.matmul(
                        transposeA: transposeA, transposeB: transposeB, operands[0], operands[1], out.buffer, outputShape, tunables: values)
                    assertClose(try backend.readDoubles(output), expected, opCase.tolerance, "\(opCase) with \(values)")
                }
            }
        }
    }
}
