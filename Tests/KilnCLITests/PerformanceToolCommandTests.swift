// The command-line pieces of the performance tooling (issue 16): `kiln train --test-every-epoch` (per-epoch test
// accuracy for Benchmarks/time-to-accuracy.sh), `kiln chart` (the scaling charts of Benchmarks/scaling.sh) and
// `kiln profile --workload` (a bench workload's step, op by op, in the device's own launch times).
import Foundation
import XCTest

final class PerformanceToolCommandTests: KilnCommandLineTestCase {
    func testTestEveryEpochRecordsTestAccuracyPerEpoch() throws {
        let data = try tinyDataset()
        let out = data.appendingPathComponent("run")
        defer { try? FileManager.default.removeItem(at: data) }
        let train = try run([
            "train", "--model", "flatten-dense16-relu-dense10", "--device", "cpu", "--dataset", data.path, "--epochs", "2",
            "--batch-size", "16", "--lr", "0.1", "--out", out.path, "--test-every-epoch",
        ])
        XCTAssertEqual(train.status, 0, train.error)
        XCTAssertTrue(train.output.contains("epoch 1  train loss") && train.output.contains("test accuracy"), train.output)
        let metrics =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("metrics.json"))) as? [[String: Any]]
        XCTAssertEqual(metrics?.count, 2)
        for epoch in metrics ?? [] { XCTAssertNotNil(epoch["testAccuracy"] as? Double, "\(epoch)") }
    }

    func testChartDrawsATableWithALevel() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-chart-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let table = folder.appendingPathComponent("cnn.csv")
        try Data("batch,Kiln,PyTorch\n16,1000,900\n64,3000,\n".utf8).write(to: table)
        let svg = folder.appendingPathComponent("cnn.svg")
        let drawn = try run([
            "chart", table.path, "-o", svg.path, "--title", "CNN", "--subtitle", "busy machine", "--log-x", "--level", "FMA peak=9322",
        ])
        XCTAssertEqual(drawn.status, 0, drawn.error)
        let text = try String(contentsOf: svg, encoding: .utf8)
        XCTAssertTrue(text.contains(">FMA peak</text>") && text.contains(">busy machine</text>"), text)

        let badLevel = try run(["chart", table.path, "-o", svg.path, "--level", "FMA peak"])
        XCTAssertNotEqual(badLevel.status, 0)
        XCTAssertTrue(badLevel.error.contains("--level 'FMA peak'"), badLevel.error)
        try Data("batch,Kiln\n16,fast\n".utf8).write(to: table)
        let badTable = try run(["chart", table.path, "-o", folder.appendingPathComponent("bad.svg").path])
        XCTAssertNotEqual(badTable.status, 0)
        XCTAssertTrue(badTable.error.contains("line 2, column 'Kiln': 'fast' is not a number"), badTable.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("bad.svg").path), "nothing written")
    }

    func testProfileListsABenchWorkloadsKernelsInDeviceTime() throws {
        let profile = try run(["profile", "--workload", "mlp_train_step", "--device", "opencl", "--kernels", "--steps", "2", "--top", "40"])
        XCTAssertEqual(profile.status, 0, profile.error)
        XCTAssertTrue(profile.output.contains("2 steps queued back to back; kernels ran"), profile.output)
        XCTAssertTrue(
            profile.output.contains("optimizer updates (12: momentum_buffer_update, sgd_update): update_sgd_multi"), profile.output)
        let unknown = try run(["profile", "--workload", "mlp_step"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.error.contains("--workload mlp_step: no such workload"), unknown.error)
        for (option, message) in [
            ("--steps=0", "--steps must be at least 1, not 0"), ("--steps=-1", "--steps must be at least 1, not -1"),
            ("--top=-1", "--top must be at least 1, not -1"), ("--batch-size=0", "--batch-size must be at least 1, not 0"),
        ] {
            let refused = try run(["profile", "--model", "mlp", "--device", "opencl", option])
            XCTAssertEqual(refused.status, 64, "\(option): \(refused.error)")
            XCTAssertTrue(refused.error.contains(message), "\(option): \(refused.error)")
        }
    }
}
