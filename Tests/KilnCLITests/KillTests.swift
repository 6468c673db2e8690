// The kill test (issue 15): `kill -9` at random moments of a short training run that checkpoints every
// epoch, again and again. After every kill the checkpoint loads, `--resume` continues from it, the metrics
// hold every epoch the checkpoint finished, and no temporary file a killed run left survives the next start.
import Foundation
import Kiln
import XCTest

final class KillTests: KilnCommandLineTestCase {
    /// Kills in the test; enough to land in every phase of an epoch (steps, evaluation, the metrics files,
    /// the checkpoint's write, fsync and rename) many times.
    static let kills = 60

    func testKillNineAtRandomPointsLosesNothing() throws {
        // One batch per epoch: an epoch is short, so much of a run's time is spent writing its files.
        let data = try tinyDataset(trainingCount: 10, testCount: 10)
        defer { try? FileManager.default.removeItem(at: data) }
        let out = data.appendingPathComponent("run")
        let checkpoint = out.appendingPathComponent("checkpoint.safetensors")
        func arguments(epochs: Int) -> [String] {
            [
                "train", "--model", "flatten-dense10", "--device", "cpu", "--dataset", data.path, "--batch-size", "10", "--lr", "0.05",
                "--progress", "plain", "--out", out.path, "--epochs", "\(epochs)",
            ]
        }
        let first = try run(arguments(epochs: 1))
        XCTAssertEqual(first.status, 0, first.error)

        var random = RandomSource(seed: 15)
        var finished = try checkRun(out, checkpoint: checkpoint, after: "the first run")
        var leftBehind = try temporaries(in: out)
        var killsInWrites = 0
        let start = Date()
        for kill in 1...Self.kills {
            let running = try BackgroundCommand(executable, arguments(epochs: 1_000_000) + ["--resume"])
            // Past this line the run has cleaned its folder and loaded the checkpoint.
            XCTAssertTrue(running.wait(for: "resumed from", seconds: 60), "kill \(kill): \(running.outputText)\n\(running.errorText)")
            XCTAssertTrue(
                running.outputText.contains("at epoch \(finished.epoch + 1), batch \(finished.batch)"),
                "kill \(kill): resumed elsewhere than the checkpoint (\(finished)):\n\(running.outputText)")
            XCTAssertTrue(
                leftBehind.isDisjoint(with: try temporaries(in: out)), "kill \(kill): a temporary file survived the next start")
            Thread.sleep(forTimeInterval: Double(random.next() % 300) / 1000)
            Foundation.kill(running.process.processIdentifier, SIGKILL)
            running.process.waitUntilExit()
            XCTAssertEqual(running.process.terminationReason, .uncaughtSignal, "kill \(kill): the run ended before the kill")
            let now = try checkRun(out, checkpoint: checkpoint, after: "kill \(kill)")
            XCTAssertGreaterThanOrEqual(now.epoch, finished.epoch, "kill \(kill): the checkpoint went back")
            finished = now
            leftBehind = try temporaries(in: out)
            if !leftBehind.isEmpty { killsInWrites += 1 }
        }
        let seconds = Date().timeIntervalSince(start)
        print(
            "\(Self.kills) kills in \(String(format: "%.1f", seconds)) s, \(killsInWrites) of them inside a file's write; "
                + "the checkpoint reached epoch \(finished.epoch)")

        let last = try run(arguments(epochs: finished.epoch + 2) + ["--resume"])
        XCTAssertEqual(last.status, 0, last.error)
        let end = try checkRun(out, checkpoint: checkpoint, after: "the last run")
        XCTAssertEqual(end.epoch, finished.epoch + 2)
        XCTAssertEqual(try temporaries(in: out), [], "temporary files after a clean end")
    }

    /// Loads the checkpoint and checks the metrics against it; returns its position (epochs finished, next batch).
    func checkRun(_ out: URL, checkpoint: URL, after moment: String) throws -> TrainingPosition {
        let file = try SafeTensorsFile(contentsOf: checkpoint)
        var random = RandomSource(seed: 0)
        let model = try ModelSpec("flatten-dense10").build(inputShape: [1, 28, 28], random: &random, on: Device.named("cpu"))
        XCTAssertNoThrow(try Checkpoint.load(from: checkpoint, model: model.state), moment)
        let epoch = try XCTUnwrap(file.metadata["kiln.epoch"].flatMap(Int.init), moment)
        let batch = try XCTUnwrap(file.metadata["kiln.batch"].flatMap(Int.init), moment)
        // The checkpoint's own metrics: exactly the epochs it finished.
        let stored =
            try JSONSerialization.jsonObject(with: Data(try XCTUnwrap(file.metadata[RunFolder.metricsKey], moment).utf8))
            as? [[String: Any]]
        XCTAssertEqual(stored?.map { $0["epoch"] as? Int }, epoch == 0 ? [] : (1...epoch).map { $0 }, moment)
        // metrics.json is written before the checkpoint: every epoch the checkpoint finished, at most one more.
        let metrics =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("metrics.json"))) as? [[String: Any]]
        let epochs = metrics?.compactMap { $0["epoch"] as? Int } ?? []
        XCTAssertEqual(epochs, epochs.isEmpty ? [] : (1...epochs.count).map { $0 }, "\(moment): metrics.json epochs \(epochs)")
        XCTAssertTrue((epoch...epoch + 1).contains(epochs.count), "\(moment): checkpoint at epoch \(epoch), metrics.json \(epochs)")
        return TrainingPosition(epoch: epoch, batch: batch)
    }

    /// The temporary files in `folder` (a writer's `.NAME....tmp`).
    func temporaries(in folder: URL) throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix(".") && $0.hasSuffix(".tmp") })
    }
}
