// TuningTests: the per-device tuning table (stored atomically, refused for another device) and the GEMM
// tuner, whose result a second backend on the same device loads.
import Foundation
import Kiln
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

final class TuningTests: XCTestCase {
    private func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-tuning-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder
    }

    func testTableRoundTripsAndBelongsToItsDevice() throws {
        let folder = try temporaryFolder()
        let table = TuningTable(device: "platform | device | 1.0 | OpenCL 1.2", kernels: ["gemm.cl": ["GEMM_ROWS": 4]])
        let file = try table.save(in: folder)
        XCTAssertEqual(TuningTable.load(identity: table.device, directory: folder), table)
        XCTAssertNil(TuningTable.load(identity: "another device", directory: folder), "a table is only read for its own device")
        try Data("{ not json".utf8).write(to: file)
        XCTAssertNil(TuningTable.load(identity: table.device, directory: folder), "a damaged table means the defaults")
    }

    func testTunedValuesAreSavedAndLoadedByTheNextBackend() throws {
        _ = try TestDevices.requireOpenCL()
        let handle = try XCTUnwrap(TestDevices.openCLHandles.first)
        let folder = try temporaryFolder()
        let first = try OpenCLBackend(device: handle, cacheDirectory: folder)
        XCTAssertNil(first.tuning, "no table before tuning")
        let (best, trials, file) = try first.tuneMatmul(probes: [.init(m: 13, n: 17, k: 7, transposeB: true)], repeats: 1) {
            Date().timeIntervalSinceReferenceDate
        }
        XCTAssertNotNil(file)
        XCTAssertGreaterThan(trials.count, 1, "several candidates were timed")
        XCTAssertEqual(Set(best.keys), Set(KernelDescription.gemm.tunables.map(\.name)))

        let second = try OpenCLBackend(device: handle, cacheDirectory: folder)
        XCTAssertEqual(second.tuning?.kernels["gemm.cl"], best, "a later backend on the device loads the table")
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: second.tunedDefines(.gemm)), best)
        XCTAssertEqual(
            Dictionary(uniqueKeysWithValues: second.tunedDefines(.gemm, ["GEMM_ROWS": 1]))["GEMM_ROWS"], 1, "explicit values win")
    }
}
