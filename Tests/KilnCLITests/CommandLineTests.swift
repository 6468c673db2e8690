// Tests that run the built `kiln` executable as a user would.
import Foundation
import XCTest

final class CommandLineTests: KilnCommandLineTestCase {
    typealias Result = CommandResult

    func testHelpListsSubcommands() throws {
        let result = try run(["--help"])
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("devices"), result.output)
    }

    func testBadArgumentGivesUsageAndFailure() throws {
        let result = try run(["devices", "--no-such-flag"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("Usage"), result.error)
        let unknown = try run(["frobnicate"])
        XCTAssertNotEqual(unknown.status, 0)
    }

    func testDevicesListsTheReferenceBackend() throws {
        let result = try run(["devices", "--json"])
        XCTAssertEqual(result.status, 0, result.error)
        let lines = result.output.split(separator: "\n")
        XCTAssertTrue(lines.first?.contains(#""device":"cpu""#) ?? false, result.output)
        for line in lines {
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(line.utf8)), String(line))
        }
    }
}

extension CommandLineTests {
    func testShortTrainingWritesALoadableCheckpointAndMetrics() throws {
        let data = try tinyDataset()
        let out = data.appendingPathComponent("run")
        defer { try? FileManager.default.removeItem(at: data) }
        let train = try run([
            "train", "--model", "flatten-dense16-relu-dense10", "--device", "cpu", "--dataset", data.path, "--epochs", "2",
            "--batch-size", "16", "--lr", "0.1", "--out", out.path,
        ])
        XCTAssertEqual(train.status, 0, train.error)
        XCTAssertTrue(train.output.contains("epoch 2"), train.output)
        for file in ["checkpoint.safetensors", "metrics.json", "metrics.csv"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), file)
        }
        let metrics =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("metrics.json"))) as? [[String: Any]]
        XCTAssertEqual(metrics?.count, 2)
        let evaluation = try run([
            "eval", "--checkpoint", out.appendingPathComponent("checkpoint.safetensors").path, "--device", "cpu", "--dataset", data.path,
            "--json",
        ])
        XCTAssertEqual(evaluation.status, 0, evaluation.error)
        let report = try JSONSerialization.jsonObject(with: Data(evaluation.output.utf8)) as? [String: Any]
        XCTAssertNotNil(report?["accuracy"] as? Double, evaluation.output)
        XCTAssertEqual((report?["confusion"] as? [[Int]])?.joined().reduce(0, +), 32)
    }

    func testBadTrainingArgumentsAreRejected() throws {
        for arguments in [
            ["train", "--epochs", "0"], ["train", "--lr", "-1"], ["train", "--optimizer", "rmsprop"], ["train", "--batch-size", "x"],
        ] {
            let result = try run(arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.error.contains("Usage") || result.error.contains("Error"), "\(arguments): \(result.error)")
        }
        let badModel = try run(["train", "--model", "conv8k3-frobnicate", "--device", "cpu", "--dataset", try tinyDataset().path])
        XCTAssertNotEqual(badModel.status, 0)
        XCTAssertTrue(badModel.error.contains("frobnicate"), badModel.error)
        let badDevice = try run(["train", "--device", "opencl:nosuchdevice", "--dataset", try tinyDataset().path])
        XCTAssertNotEqual(badDevice.status, 0)
        XCTAssertTrue(badDevice.error.contains("nosuchdevice"), badDevice.error)
    }
}

extension CommandLineTests {
    func testStepsStopsEarlyAndPrintsEachLoss() throws {
        let data = try tinyDataset()
        defer { try? FileManager.default.removeItem(at: data) }
        let out = data.appendingPathComponent("steps")
        let result = try run([
            "train", "--model", "flatten-dense10", "--device", "cpu", "--dataset", data.path, "--steps", "3", "--batch-size", "16",
            "--out", out.path,
        ])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertEqual(result.output.split(separator: "\n").filter { $0.hasPrefix("step ") }.count, 3, result.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("checkpoint.safetensors").path))
        let bad = try run(["train", "--steps", "0"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.error.contains("--steps"), bad.error)
    }
}
