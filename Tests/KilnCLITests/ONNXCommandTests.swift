// `kiln export`, `kiln eval --onnx` and `kiln bench --onnx` as a user runs them: a trained checkpoint exported
// to ONNX evaluates to the same report as the checkpoint, and bench checks and times the file.
import Foundation
import XCTest

final class ONNXCommandTests: KilnCommandLineTestCase {
    func testExportedCheckpointEvaluatesLikeTheCheckpoint() throws {
        let data = try tinyDataset(trainingCount: 32, testCount: 16)
        defer { try? FileManager.default.removeItem(at: data) }
        let out = data.appendingPathComponent("run")
        let train = try run([
            "train", "--model", "conv2k3p1-bn-relu-maxpool2-flatten-dropout20-dense10", "--device", "cpu", "--dataset", data.path,
            "--epochs", "1", "--batch-size", "16", "--lr", "0.05", "--out", out.path,
        ])
        XCTAssertEqual(train.status, 0, train.error)
        let checkpoint = out.appendingPathComponent("checkpoint.safetensors").path
        let onnx = data.appendingPathComponent("model.onnx").path
        let export = try run(["export", "--checkpoint", checkpoint, "--onnx", onnx])
        XCTAssertEqual(export.status, 0, export.error)
        XCTAssertTrue(export.output.contains("recorded in the file's metadata"), export.output)
        let fromCheckpoint = try run(["eval", "--checkpoint", checkpoint, "--device", "cpu", "--dataset", data.path, "--json"])
        let fromONNX = try run(["eval", "--onnx", onnx, "--device", "cpu", "--dataset", data.path, "--json"])
        XCTAssertEqual(fromONNX.status, 0, fromONNX.error)
        let reports = try [fromCheckpoint, fromONNX].map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.output.utf8)) as? [String: Any])
        }
        XCTAssertEqual(reports[0]["accuracy"] as? Double, reports[1]["accuracy"] as? Double)
        XCTAssertEqual(reports[0]["confusion"] as? [[Int]], reports[1]["confusion"] as? [[Int]])
        XCTAssertEqual(try XCTUnwrap(reports[0]["loss"] as? Double), try XCTUnwrap(reports[1]["loss"] as? Double), accuracy: 1e-5)

        let bench = try run(["bench", "--onnx", onnx, "--device", "cpu", "--batch", "4", "--replicates", "1", "--json"])
        XCTAssertEqual(bench.status, 0, bench.error)
        XCTAssertTrue(bench.output.contains(#""workload":"onnx_model""#) && bench.output.contains(#""status":"ok""#), bench.output)
    }

    func testBadONNXArgumentsAreRejected() throws {
        for arguments in [
            ["export", "--checkpoint", "/nonexistent.safetensors", "--onnx", "/tmp/x.onnx"],
            ["export", "--checkpoint", "/nonexistent.safetensors", "--onnx", "/tmp/x.onnx", "--input-shape", "1,28"],
            ["eval", "--onnx", "/nonexistent.onnx"],
            ["eval"],
            ["bench", "--onnx", "/nonexistent.onnx"],
        ] {
            let result = try run(arguments)
            XCTAssertNotEqual(result.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(result.error.contains("Error"), "\(arguments): \(result.error)")
        }
    }
}
