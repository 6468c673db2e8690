// Tests of `kiln bench` through the built executable: JSON lines with the documented keys, and clear
// failures for a bad workload or device.
import Foundation
import XCTest

final class BenchCommandTests: KilnCommandLineTestCase {
    /// The keys every `--json` line carries (null where a figure does not apply).
    static let requiredKeys = [
        "workload", "device", "median_ms", "min_ms", "max_ms", "gflops", "items_per_s", "max_abs_err", "max_rel_err",
    ]

    func testJSONLinesCarryTheDocumentedKeys() throws {
        let result = try run([
            "bench", "--json", "--device", "cpu", "--workload", "sgemm_256", "--replicates", "1", "--warmup", "0",
        ])
        XCTAssertEqual(result.status, 0, result.error)
        let lines = result.output.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, result.output)
        for line in lines {
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
            for key in Self.requiredKeys { XCTAssertNotNil(object[key], "\(key) missing in \(line)") }
            XCTAssertEqual(object["workload"] as? String, "sgemm_256")
            XCTAssertEqual(object["device"] as? String, "cpu")
            XCTAssertEqual(object["status"] as? String, "ok", String(line))
            XCTAssertGreaterThan(object["median_ms"] as? Double ?? 0, 0)
            XCTAssertNotNil(object["gflops"] as? Double, "sgemm has a FLOP count")
            XCTAssertTrue(object["items_per_s"] is NSNull, "sgemm has no items per second")
            XCTAssertLessThan(object["max_abs_err"] as? Double ?? .infinity, 1e-3)
        }
    }

    func testSavedRunServesAsBaseline() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-bench-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        let arguments = ["bench", "--device", "cpu", "--workload", "sgemm_256", "--replicates", "1", "--warmup", "0"]
        let first = try run(arguments + ["--save", file.path])
        XCTAssertEqual(first.status, 0, first.error)
        XCTAssertTrue(first.output.contains("sgemm_256"), first.output)
        let second = try run(arguments + ["--json", "--baseline", file.path])
        XCTAssertNotEqual(second.status, 1, second.error)
        let object = try JSONSerialization.jsonObject(with: Data(second.output.utf8)) as? [String: Any]
        XCTAssertNotNil(object?["baseline_ratio"] as? Double, second.output)
    }

    func testBadWorkloadIsRejectedWithTheList() throws {
        let result = try run(["bench", "--device", "cpu", "--workload", "sgemm_3"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("unknown workload 'sgemm_3'"), result.error)
        XCTAssertTrue(result.error.contains("sgemm_256"), "the message lists the workloads: \(result.error)")
    }

    func testBadDeviceIsRejected() throws {
        for device in ["tpu", "opencl:nosuchdevice"] {
            let result = try run(["bench", "--device", device, "--workload", "sgemm_256"])
            XCTAssertNotEqual(result.status, 0, device)
            XCTAssertTrue(result.error.contains(device.replacingOccurrences(of: "opencl:", with: "")), result.error)
            XCTAssertTrue(result.output.isEmpty || !result.output.contains("sgemm_256 "), "nothing runs: \(result.output)")
        }
    }

    func testBadNumbersAreRejected() throws {
        for arguments in [["--replicates", "0"], ["--warmup", "-1"], ["--baseline", "/nonexistent/kiln.jsonl"]] {
            let result = try run(["bench", "--device", "cpu", "--workload", "sgemm_256"] + arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertFalse(result.error.isEmpty, "\(arguments)")
        }
    }

    func testBadGEMMShapeIsRejected() throws {
        let result = try run(["bench", "--device", "cpu", "--gemm", "64x128"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("--gemm '64x128'"), result.error)
    }

    /// `--gemm` alone runs only that shape; `peak_memory_bytes` comes with it.
    func testGEMMShapeRunsAlone() throws {
        let result = try run(["bench", "--json", "--device", "cpu", "--gemm", "5x3x7", "--replicates", "1", "--warmup", "0"])
        XCTAssertEqual(result.status, 0, result.error)
        let lines = result.output.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, result.output)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data((lines.first ?? "").utf8)) as? [String: Any])
        XCTAssertEqual(object["workload"] as? String, "sgemm_5x3x7")
        XCTAssertEqual(object["status"] as? String, "ok")
        XCTAssertGreaterThan(object["peak_memory_bytes"] as? Int ?? 0, 0)
    }

    /// `--check-only` checks on every device asked for (the OpenCL one builds once, with no warm build) and times
    /// nothing; it refuses the timing options.
    func testCheckOnlyChecksAndTimesNothing() throws {
        let result = try run(["bench", "--json", "--check-only", "--device", "cpu", "--device", "opencl", "--gemm", "5x3x7"])
        XCTAssertEqual(result.status, 0, result.error)
        let lines = result.output.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, result.output)
        for line in lines {
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
            XCTAssertEqual(object["status"] as? String, "checked", String(line))
            XCTAssertEqual(object["checked_values"] as? Int, 15, String(line))
            for key in ["median_ms", "warm_build_ms", "warm_first_step_ms", "gflops"] {
                XCTAssertTrue(object[key] is NSNull, "\(key) in \(line)")
            }
        }
        for arguments in [["--replicates", "1"], ["--warmup", "0"], ["--baseline", "saved.jsonl"]] {
            let refused = try run(["bench", "--check-only", "--device", "cpu", "--gemm", "5x3x7"] + arguments)
            XCTAssertEqual(refused.status, 64, "\(arguments)")
            XCTAssertTrue(refused.error.contains("--check-only times nothing"), refused.error)
        }
    }
}
