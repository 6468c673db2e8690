// Ctrl-C during `kiln train` writes a checkpoint and exits with status 130; `--resume` finishes the run
// where it stopped, with the same result as a run that was never interrupted.
import Foundation
import XCTest

final class InterruptTests: KilnCommandLineTestCase {
    func testCtrlCWritesACheckpointAndResumeFinishesTheRun() throws {
        let data = try tinyDataset(trainingCount: 128)
        defer { try? FileManager.default.removeItem(at: data) }
        func arguments(_ out: URL) -> [String] {
            [
                "train", "--model", "flatten-dense10", "--device", "cpu", "--dataset", data.path, "--epochs", "2",
                "--batch-size", "8", "--lr", "0.05", "--seed", "7", "--out", out.path,
            ]
        }
        let out = data.appendingPathComponent("interrupted")
        let checkpoint = out.appendingPathComponent("checkpoint.safetensors")

        // `--progress bar` draws the bar into the pipe too; its first frame means training has begun.
        let training = try BackgroundCommand(executable, arguments(out) + ["--progress", "bar"])
        XCTAssertTrue(training.wait(for: "img/s", seconds: 120), "no progress bar:\n\(training.outputText)\n\(training.errorText)")
        XCTAssertTrue(training.outputText.contains("\r"), "the bar is redrawn with carriage returns")
        kill(training.process.processIdentifier, SIGINT)
        let status = training.finish(seconds: 60)
        XCTAssertEqual(status, 130, "stdout:\n\(training.outputText)\nstderr:\n\(training.errorText)")
        XCTAssertTrue(training.outputText.contains("interrupted at epoch"), training.outputText)
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint.path), "no checkpoint after Ctrl-C")

        let resumed = try run(arguments(out) + ["--resume", "--progress", "plain"])
        XCTAssertEqual(resumed.status, 0, resumed.error)
        XCTAssertTrue(resumed.output.contains("resumed from \(checkpoint.path)"), resumed.output)
        XCTAssertTrue(resumed.output.contains("epoch 2 "), resumed.output)
        XCTAssertFalse(resumed.output.contains("\r"), "--progress plain draws no bar")
        let metrics =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("metrics.json"))) as? [[String: Any]]
        XCTAssertEqual(metrics?.map { $0["epoch"] as? Int }, [1, 2])

        // The same run without an interruption ends with the same test loss (the CPU reference is deterministic).
        let straight = try run(arguments(data.appendingPathComponent("straight")) + ["--progress", "plain"])
        XCTAssertEqual(straight.status, 0, straight.error)
        let straightMetrics =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: data.appendingPathComponent("straight/metrics.json"))) as? [[String: Any]]
        let resumedLoss = try XCTUnwrap(metrics?.last?["testLoss"] as? Double)
        let straightLoss = try XCTUnwrap(straightMetrics?.last?["testLoss"] as? Double)
        XCTAssertEqual(resumedLoss, straightLoss, accuracy: 1e-5 * max(1, abs(straightLoss)))
    }

    func testResumeWithoutACheckpointNamesTheFile() throws {
        let data = try tinyDataset()
        defer { try? FileManager.default.removeItem(at: data) }
        let out = data.appendingPathComponent("empty")
        let result = try run(["train", "--device", "cpu", "--dataset", data.path, "--out", out.path, "--resume"])
        XCTAssertEqual(result.status, 64, result.error)
        XCTAssertTrue(result.error.contains(out.appendingPathComponent("checkpoint.safetensors").path), result.error)
        XCTAssertTrue(result.error.contains("Usage"), result.error)
    }

    func testResumeWithAnotherModelIsRefused() throws {
        let data = try tinyDataset()
        defer { try? FileManager.default.removeItem(at: data) }
        let out = data.appendingPathComponent("run")
        let common = ["train", "--device", "cpu", "--dataset", data.path, "--out", out.path, "--epochs", "1", "--batch-size", "16"]
        let first = try run(common + ["--model", "flatten-dense10"])
        XCTAssertEqual(first.status, 0, first.error)
        let other = try run(common + ["--model", "flatten-dense12-relu-dense10", "--epochs", "2", "--resume"])
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.error.contains("--model flatten-dense10"), other.error)
    }
}
