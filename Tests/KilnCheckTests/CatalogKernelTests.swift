// CatalogKernelTests: every case of the catalog (the standard tier, or the quick one with KILN_CHECK_QUICK=1)
// on every device present: the reference backend in Float32 and every OpenCL device the machine lists, each
// against the reference in Double. A failure names the case, its inputs, the device and the worst element.
import Kiln
import KilnTestSupport
import XCTest

final class CatalogKernelTests: XCTestCase {
    func testElementwise() throws { try check(.elementwise) }
    func testMovement() throws { try check(.movement) }
    func testReduction() throws { try check(.reduction) }
    func testProducts() throws { try check(.products) }
    func testConvolution() throws { try check(.convolution) }
    func testPooling() throws { try check(.pooling) }
    func testRecurrent() throws { try check(.recurrent) }
    func testLoss() throws { try check(.loss) }
    func testUpdate() throws { try check(.update) }

    /// Runs `family`'s cases on every device and prints one `CATALOG` line per device (cases, worst ratio) for the record.
    private func check(_ family: OpFamily, file: StaticString = #filePath, line: UInt = #line) throws {
        if TestDevices.openCL.isEmpty, TestDevices.openCLRequired { throw OpenCLError.noDevice }
        let cases = OpCatalog.cases(in: family).filter { $0.tier <= TestDevices.tier }
        let results = TestDevices.check(cases, file: file, line: line)
        for (device, onDevice) in Dictionary(grouping: results, by: \.device).sorted(by: { $0.key < $1.key }) {
            let worst = onDevice.max { $0.ratio < $1.ratio }
            print(
                "CATALOG family=\(family) device=\"\(device)\" cases=\(onDevice.count) worst_ratio=\(worst?.ratio ?? 0) worst=\"\(worst?.opCase.id ?? "")\""
            )
        }
    }
}

/// The quick cases on a backend that implements only the minimal op set: every other op runs through its
/// decomposition, which must compute what the reference's native op computes.
final class CatalogDecompositionTests: XCTestCase {
    func testQuickCasesThroughDecompositions() {
        let backend = MinimalBackend(ReferenceBackend<Float>())
        let results = TestDevices.check(OpCatalog.cases(upTo: .quick), on: [backend])
        XCTAssertEqual(results.count, OpCatalog.cases(upTo: .quick).count)
        print("CATALOG minimal backend: \(results.count) quick cases, worst ratio \(results.map(\.ratio).max() ?? 0)")
    }
}
