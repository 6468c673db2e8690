// Kiln under oclgrind: a simulated GPU-like OpenCL 1.2 device (1024 work items per group, 32 KiB of local memory)
// that reports out-of-bounds accesses, and with its options data races (--data-races), reads of memory nothing wrote
// (--uninitialized) and invalid API calls (--check-api). Any report fails a test. CI installs oclgrind; elsewhere
// these tests skip when it is missing.
import Foundation
import XCTest

final class OclgrindTests: KilnCommandLineTestCase {
    /// The `oclgrind` launcher on the PATH, or a skip saying how to install it (a failure in CI).
    func oclgrind() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent("oclgrind").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        let reason = "oclgrind is not installed (apt-get install oclgrind)"
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            XCTFail(reason)
            throw OclgrindMissing()
        }
        throw XCTSkip(reason)
    }

    struct OclgrindMissing: Error {}

    /// Runs `kiln arguments` under `oclgrind options` and returns how it ended and what oclgrind reported (its log).
    func runUnderOclgrind(_ arguments: [String], options: [String], environment: [String: String] = [:]) throws -> (
        result: CommandResult, reports: String
    ) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-oclgrind-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        // No program cache: every kernel is compiled by oclgrind's own compiler in this run.
        let result = try run(
            arguments, environment: environment.merging(["KILN_CACHE": "off"]) { $1 },
            launcher: [try oclgrind(), "--log", log.path] + options)
        let reports = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return (result, reports)
    }

    /// Kiln reads a device's properties without asking for any it lacks: before, it asked this OpenCL 1.2 device
    /// without cl_khr_fp16 for CL_DEVICE_HALF_FP_CONFIG (CL_INVALID_VALUE, reported by --check-api).
    func testDeviceQueriesAreValid() throws {
        let (result, reports) = try runUnderOclgrind(["devices"], options: ["--check-api"])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("Oclgrind Simulator"), result.output)
        XCTAssertEqual(reports, "", "oclgrind reported")
    }

    /// The catalog's quick cases (every op, awkward shapes) pass on oclgrind with its race and uninitialized-read
    /// checks and no report, with the GEMM variant a GPU gets (tiled). Before, the 2x2 max-pool gradient failed
    /// (Tools/oclgrind-repros/vector-mask-not.c), and --uninitialized stopped at `freeze`, crashed at undefined
    /// shuffle lanes and reported reads of released-then-reused buffers.
    func testQuickCatalogHasNoReports() throws {
        try checkCatalog(options: [], environment: [:])
    }

    /// The same at GPU-like limits (256 work items per group, 16 KiB of local memory), with the register-blocked GEMM
    /// (the tiled one runs in the test above), so launch sizing that ignores a device's limits shows up.
    func testQuickCatalogAtReducedLimitsHasNoReports() throws {
        try checkCatalog(options: ["--max-wgsize", "256", "--local-mem-size", "16384"], environment: ["KILN_GEMM": "register-blocked"])
    }

    private func checkCatalog(options: [String], environment: [String: String]) throws {
        let (result, reports) = try runUnderOclgrind(
            ["check", "--device", "opencl", "--quick"], options: ["--check-api", "--data-races", "--uninitialized"] + options,
            environment: environment)
        XCTAssertEqual(result.status, 0, result.output + result.error)
        XCTAssertTrue(result.output.contains("Oclgrind Simulator"), result.output)
        XCTAssertTrue(result.output.contains("all passed"), result.output)
        XCTAssertEqual(reports, "", "oclgrind reported")
    }

    /// Three MLP steps with every check on give pocl's losses and no report. Before, `--uninitialized` stopped the
    /// work items of every kernel whose index split LLVM marks with `freeze` (the losses printed as 0.0), and gave
    /// false reports in gemm_forward for buffers released and created again (Tools/oclgrind-repros), and Kiln asked
    /// the device for a property it lacks (--check-api).
    /// Tolerance: 1e-5 relative, for exp and log computed by different libraries on the two devices.
    func testMLPLossesMatchPoclWithEveryCheck() throws {
        let dataset = try tinyDataset(trainingCount: 24, testCount: 8)
        defer { try? FileManager.default.removeItem(at: dataset) }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-oclgrind-mlp-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let arguments = [
            "train", "--model", "mlp", "--steps", "3", "--batch-size", "4", "--dataset", dataset.path, "--device", "opencl",
            "--out", output.path,
        ]
        let pocl = try run(arguments, environment: ["KILN_CACHE": "off"])
        XCTAssertEqual(pocl.status, 0, pocl.error)
        let (simulated, reports) = try runUnderOclgrind(arguments, options: ["--check-api", "--data-races", "--uninitialized"])
        XCTAssertEqual(simulated.status, 0, simulated.error)
        XCTAssertTrue(simulated.output.contains("Oclgrind Simulator"), simulated.output)
        XCTAssertEqual(reports, "", "oclgrind reported")
        let expected = losses(pocl.output)
        let actual = losses(simulated.output)
        XCTAssertEqual(expected.count, 3, pocl.output)
        XCTAssertEqual(actual.count, expected.count, simulated.output)
        for (step, (value, reference)) in zip(actual, expected).enumerated() {
            XCTAssertLessThanOrEqual(abs(value - reference), 1e-5 * abs(reference), "step \(step + 1): \(value) vs pocl's \(reference)")
        }
    }

    /// The losses of `step N loss X` lines.
    func losses(_ output: String) -> [Double] {
        output.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard words.count == 4, words[0] == "step", words[2] == "loss" else { return nil }
            return Double(words[3])
        }
    }
}
