// The program cache's trust rules seen from the command line: a damaged tuning table is a warning naming
// the file (the probe's `GEMM_ROWS` 0 made warm-up fail without naming it), and a cache folder that other
// users can write is not used, with a warning; both runs succeed.
import Foundation
import XCTest

final class CacheTrustCommandTests: KilnCommandLineTestCase {
    /// The first OpenCL device's description from `kiln devices --json`, or a skip.
    private func openCLDevice() throws -> [String: Any] {
        let result = try run(["devices", "--json"])
        for line in result.output.split(separator: "\n") {
            if let device = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], device["platformName"] != nil {
                return device
            }
        }
        throw XCTSkip("no OpenCL device")
    }

    private func sha256(_ text: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let digest = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return String(digest.prefix(64))
    }

    func testInvalidTuningTableIsAWarningNamingTheFile() throws {
        let device = try openCLDevice()
        let identity = ["platformName", "name", "driverVersion", "deviceVersion"].map { device[$0] as? String ?? "" }.joined(
            separator: " | ")
        let cache = try scratchFolder()
        let table = cache.appendingPathComponent("tuning-\(try sha256(identity).prefix(16)).json")
        try Data(#"{"device": "\#(identity)", "kernels": {"gemm.cl": {"GEMM_ROWS": 0}}}"#.utf8).write(to: table)
        let result = try run(["warmup", "--device", "opencl"], environment: ["KILN_CACHE_DIR": cache.path])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(
            result.error.contains(
                "warning: tuning table \(table.path): gemm.cl ignored (it uses its defaults): GEMM_ROWS=0 is not a setting the kernel accepts"
            ),
            result.error)
    }

    func testACacheFolderOthersCanWriteIsNotUsed() throws {
        _ = try openCLDevice()
        let cache = try scratchFolder().appendingPathComponent("programs")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: false)
        chmod(cache.path, 0o777)
        let result = try run(["warmup", "--device", "opencl"], environment: ["KILN_CACHE_DIR": cache.path])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(
            result.error.contains("warning: program cache not used: \(cache.path): not trusted: other users can write it (mode 777)"),
            result.error)
        XCTAssertTrue(result.output.contains("cache: not used (see the warning)"), result.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache.path), [])
    }
}
