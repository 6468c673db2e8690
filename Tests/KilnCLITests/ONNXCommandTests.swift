// `kiln export`, `kiln eval --onnx`, `kiln predict --onnx` and `kiln bench --onnx` as a user runs them: a trained
// checkpoint (a CNN, a residual net) exported to ONNX evaluates and predicts as the checkpoint does, ONNX Runtime
// gives the same accuracy, and bench checks and times the file.
import Foundation
import KilnData
import KilnTestSupport
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

    /// A residual net from a layer string (identity and projecting blocks, batch norm, GELU, SiLU), trained, exported
    /// and run: `kiln eval --onnx` and ONNX Runtime give `kiln eval`'s report, and `kiln predict --onnx` gives the
    /// checkpoint's probabilities (within 1e-5: the same ops, batch norm folded in another order) and class names.
    func testResidualCheckpointExportsAndRunsLikeTheCheckpoint() throws {
        let data = try tinyDataset(trainingCount: 32, testCount: 20)
        defer { try? FileManager.default.removeItem(at: data) }
        let out = data.appendingPathComponent("run")
        let layers =
            "conv4k3p1-bn-relu-res(conv4k3p1-bn-relu-conv4k3p1-bn)-relu-maxpool2-res(conv6k3s2p1-bn-gelu-conv6k3p1-bn)-silu-gap-flatten-dense10"
        let train = try run([
            "train", "--model", layers, "--device", "cpu", "--dataset", data.path, "--epochs", "2", "--batch-size", "16", "--lr", "0.05",
            "--out", out.path,
        ])
        XCTAssertEqual(train.status, 0, train.error)
        let checkpoint = out.appendingPathComponent("checkpoint.safetensors").path
        let onnx = data.appendingPathComponent("resnet.onnx").path
        let export = try run(["export", "--checkpoint", checkpoint, "--onnx", onnx])
        XCTAssertEqual(export.status, 0, export.error)

        let fromCheckpoint = try run(["eval", "--checkpoint", checkpoint, "--device", "cpu", "--dataset", data.path, "--json"])
        // No --dataset: the data set the export recorded.
        let fromONNX = try run(["eval", "--onnx", onnx, "--device", "cpu", "--json"])
        XCTAssertEqual(fromONNX.status, 0, fromONNX.error)
        let reports = try [fromCheckpoint, fromONNX].map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.output.utf8)) as? [String: Any], $0.error)
        }
        XCTAssertEqual(reports[0]["confusion"] as? [[Int]], reports[1]["confusion"] as? [[Int]])
        XCTAssertEqual(try XCTUnwrap(reports[0]["loss"] as? Double), try XCTUnwrap(reports[1]["loss"] as? Double), accuracy: 1e-5)
        let accuracy = try XCTUnwrap(reports[0]["accuracy"] as? Double)

        if let runtime = try onnxRuntimeAccuracy(onnx, dataset: data) {
            XCTAssertEqual(runtime, String(format: "%.2f%%", accuracy * 100), "ONNX Runtime's accuracy vs kiln eval's")
        }

        // Three test images as PNG files, predicted through the checkpoint and through the ONNX file.
        let idx = try IDXDataset(directory: data)
        let images = try (0..<3).map { index in
            let url = data.appendingPathComponent("image\(index).png")
            try PNG.encode(width: 28, height: 28, pixels: Array(idx.test.pixels[index * 784..<(index + 1) * 784])).write(to: url)
            return url.path
        }
        let predictions = try [["--checkpoint", checkpoint], ["--onnx", onnx]].map { source in
            let result = try run(["predict"] + source + ["--device", "cpu", "--json", "--top", "10"] + images)
            XCTAssertEqual(result.status, 0, result.error)
            return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]], result.error)
        }
        XCTAssertEqual(predictions[0].count, 3)
        for (image, (fromCheckpoint, fromONNX)) in zip(images, zip(predictions[0], predictions[1])) {
            let a = try XCTUnwrap(fromCheckpoint["top"] as? [[String: Any]])
            let b = try XCTUnwrap(fromONNX["top"] as? [[String: Any]])
            XCTAssertEqual(a.compactMap { $0["name"] as? String }, b.compactMap { $0["name"] as? String }, "classes of \(image)")
            for (x, y) in zip(a, b) {
                XCTAssertEqual(try XCTUnwrap(x["probability"] as? Double), try XCTUnwrap(y["probability"] as? Double), accuracy: 1e-5)
            }
        }
    }

    /// `Tools/onnxruntime_eval.py`'s accuracy on `dataset` ("87.50%"); nil (the test skips this part) when onnxruntime is
    /// missing outside CI.
    func onnxRuntimeAccuracy(_ model: String, dataset: URL) throws -> String? {
        let tool = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tools/onnxruntime_eval.py").path
        let (status, output) = try runCapturingOutput(URL(fileURLWithPath: "/usr/bin/env"), ["python3", tool, model, dataset.path])
        if output.contains("No module named 'onnxruntime'"), ProcessInfo.processInfo.environment["CI"] == nil { return nil }
        XCTAssertEqual(status, 0, output)
        return output.split(separator: " ").first { $0.hasSuffix("%") }.map(String.init)
    }

    func testACharacterModelCheckpointIsRefusedByName() throws {
        // A one-tensor safetensors file whose metadata names the character language model.
        let header = #"{"__metadata__":{"kiln.model":"char-lstm"},"weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        var data = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Data($0) }
        data.append(Data(header.utf8))
        data.append(Data(count: 4))
        let folder = try scratchFolder()
        let checkpoint = folder.appendingPathComponent("char.safetensors")
        try data.write(to: checkpoint)
        let onnx = folder.appendingPathComponent("char.onnx")
        let result = try run(["export", "--checkpoint", checkpoint.path, "--onnx", onnx.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("a char-lstm checkpoint"), result.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: onnx.path), "nothing is written")
    }

    func testBadONNXArgumentsAreRejected() throws {
        for arguments in [
            ["export", "--checkpoint", "/nonexistent.safetensors", "--onnx", "/tmp/x.onnx"],
            ["export", "--checkpoint", "/nonexistent.safetensors", "--onnx", "/tmp/x.onnx", "--input-shape", "1,28"],
            ["eval", "--onnx", "/nonexistent.onnx"],
            ["eval"],
            ["predict", "--onnx", "/nonexistent.onnx", "/tmp/x.png"],
            ["predict", "--onnx", "/tmp/x.onnx", "--checkpoint", "/tmp/x.safetensors", "/tmp/x.png"],
            ["bench", "--onnx", "/nonexistent.onnx"],
        ] {
            let result = try run(arguments)
            XCTAssertNotEqual(result.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(result.error.contains("Error"), "\(arguments): \(result.error)")
        }
    }
}
