// Tests of `kiln check` through the built executable: the table and its summary, JSON lines, a kernel that does not
// build reported as failed cases with exit status 1, and clear errors for an unknown op or tunable.
import Foundation
import XCTest

final class CheckCommandTests: KilnCommandLineTestCase {
    func testTableNamesTheDeviceAndEveryOp() throws {
        let result = try run(["check", "--device", "cpu", "--quick", "--op", "products", "--op", "relu"])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("on cpu against the CPU reference backend in Double"), result.output)
        XCTAssertTrue(result.output.contains("device: CPU reference backend"), result.output)
        for op in ["matmul", "linear", "matmul_relu_grad", "matmul_silu_grad", "relu"] {
            XCTAssertNotNil(result.output.range(of: "\n\(op) +pass", options: .regularExpression), "\(op): \(result.output)")
        }
        XCTAssertTrue(
            result.output.contains("summary: 10 ops"),
            "the products family is matmul, linear and linear_gradient with each of 7 activations: \(result.output)")
        XCTAssertTrue(result.output.contains("all passed"), result.output)
    }

    func testJSONLines() throws {
        let result = try run(["check", "--device", "cpu", "--quick", "--op", "softmax", "--json"])
        XCTAssertEqual(result.status, 0, result.error)
        let objects = try result.output.split(separator: "\n").map { line in
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
        }
        XCTAssertEqual(objects.map { $0["kind"] as? String }, ["device", "op", "summary"])
        XCTAssertEqual(objects[0]["device"] as? String, "cpu")
        XCTAssertEqual(objects[1]["op"] as? String, "softmax")
        XCTAssertEqual(objects[1]["status"] as? String, "pass")
        XCTAssertLessThanOrEqual(objects[1]["worst_ratio"] as? Double ?? .infinity, 1)
        XCTAssertEqual(objects[2]["failed"] as? Int, 0)
    }

    /// A kernel source that does not compile: every case that needs it fails with the build log, the rest pass.
    func testBuildFailuresAreFailedCases() throws {
        let devices = try run(["devices"])
        guard devices.output.contains("opencl:0") else { throw XCTSkip("no OpenCL device") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-check-kernels-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let kernels = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Kernels").standardized
        for file in try FileManager.default.contentsOfDirectory(atPath: kernels.path) where file.hasSuffix(".cl") {
            var text = try String(contentsOf: kernels.appendingPathComponent(file), encoding: .utf8)
            if file == "elementwise.cl" { text = "this is not OpenCL C;\n" + text }
            try text.write(to: folder.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
        let result = try run(
            ["check", "--device", "opencl", "--quick", "--op", "exp", "--op", "matmul"],
            environment: ["KILN_KERNEL_DIR": folder.path, "KILN_CACHE": "off"])
        XCTAssertEqual(result.status, 1, result.error)
        XCTAssertNotNil(result.output.range(of: "\nexp +FAIL", options: .regularExpression), result.output)
        XCTAssertNotNil(result.output.range(of: "\nmatmul +pass", options: .regularExpression), result.output)
        XCTAssertTrue(result.output.contains("elementwise.cl' failed to build"), result.output)
        XCTAssertTrue(result.output.contains("summary: 2 ops"), result.output)
    }

    func testBadOptionsAreRejected() throws {
        let unknownOp = try run(["check", "--device", "cpu", "--op", "conv3d"])
        XCTAssertNotEqual(unknownOp.status, 0)
        XCTAssertTrue(unknownOp.error.contains("unknown op 'conv3d'") && unknownOp.error.contains("matmul"), unknownOp.error)
        for tunable in ["gemm.cl:GEMM_ROWS", "nosuch.cl:X=1", "gemm.cl:NO_SUCH_DEFINE=1"] {
            let result = try run(["check", "--device", "opencl", "--tunable", tunable])
            XCTAssertNotEqual(result.status, 0, tunable)
            XCTAssertTrue(result.error.contains("--tunable \(tunable)"), result.error)
        }
        let device = try run(["check", "--device", "tpu"])
        XCTAssertNotEqual(device.status, 0)
        XCTAssertTrue(device.error.contains("unknown device 'tpu'"), device.error)
    }

    func testListPrintsTheCasesWithTheirTolerances() throws {
        let result = try run(["check", "--device", "cpu", "--quick", "--op", "one_hot", "--list"])
        XCTAssertEqual(result.status, 0, result.error)
        let lines = result.output.split(separator: "\n")
        XCTAssertFalse(lines.isEmpty)
        XCTAssertTrue(lines.allSatisfy { $0.hasPrefix("one_hot ") && $0.contains("quick") && $0.contains("no arithmetic") }, result.output)
    }
}
