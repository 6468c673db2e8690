// Issue 15's training-loop cases, run through the executable: labels outside the classes and a model whose
// output does not fit them (train and eval, every device), a batch larger than the training set, impossible
// resume positions, a diverging run that must keep its last good checkpoint, and stale temporary files.
import Foundation
import Kiln
import XCTest

final class TrainingSafetyTests: KilnCommandLineTestCase {
    /// `cpu`, and `opencl` when the machine has an OpenCL device (always in CI, which installs pocl).
    var devices: [String] {
        (try? OpenCLDiscovery.devices().isEmpty) == false ? ["cpu", "opencl"] : ["cpu"]
    }

    func testLabelsOutsideTheClassesAreRefusedBeforeTrainingAndEvaluation() throws {
        // Label 200 at test image 5; the training labels (0 to 9) make 10 classes.
        var testLabels = (0..<32).map { UInt8($0 % 10) }
        testLabels[5] = 200
        let bad = try idxDataset(trainingLabels: (0..<96).map { UInt8($0 % 10) }, testLabels: testLabels)
        let good = try tinyDataset()
        defer {
            try? FileManager.default.removeItem(at: bad)
            try? FileManager.default.removeItem(at: good)
        }
        let trained = good.appendingPathComponent("run")
        let first = try run([
            "train", "--model", "flatten-dense10", "--device", "cpu", "--dataset", good.path, "--epochs", "1", "--batch-size", "16",
            "--out", trained.path,
        ])
        XCTAssertEqual(first.status, 0, first.error)
        for device in devices {
            let out = bad.appendingPathComponent("run-\(device)")
            let training = try run([
                "train", "--model", "flatten-dense10", "--device", device, "--dataset", bad.path, "--epochs", "1", "--batch-size", "16",
                "--out", out.path,
            ])
            assertCleanFailure(training, bad.path, "label 200 at index 5 (test image 5", "10 classes")
            XCTAssertFalse(training.output.contains("epoch 1"), "trained before refusing:\n\(training.output)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("checkpoint.safetensors").path))
            let evaluation = try run([
                "eval", "--checkpoint", trained.appendingPathComponent("checkpoint.safetensors").path, "--device", device, "--dataset",
                bad.path,
            ])
            assertCleanFailure(evaluation, "label 200 at index 5 (test image 5")
        }
    }

    func testAModelThatDoesNotFitTheClassesIsRefusedBeforeTraining() throws {
        let data = try tinyDataset()
        // Labels 0 to 25 (EMNIST letters style): 26 classes, which the 10-way presets do not fit.
        let letters = try idxDataset(trainingLabels: (0..<96).map { UInt8($0 % 26) }, testLabels: (0..<32).map { UInt8($0 % 26) })
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: letters)
        }
        for device in devices {
            let five = try run([
                "train", "--model", "flatten-dense5", "--device", device, "--dataset", data.path, "--out",
                data.appendingPathComponent("five").path,
            ])
            assertCleanFailure(five, "flatten-dense5", "outputs 5 classes", "has 10", "dense10")
            XCTAssertFalse(five.output.contains("epoch 1"), five.output)
            let mlp = try run([
                "train", "--model", "mlp", "--device", device, "--dataset", letters.path, "--out",
                letters.appendingPathComponent("mlp").path, "--steps", "2",
            ])
            // The presets size their last layer to the data (issue 12): 26 classes train.
            XCTAssertEqual(mlp.status, 0, mlp.error)
            let map = try run([
                "train", "--model", "conv2k3", "--device", device, "--dataset", data.path, "--out", data.appendingPathComponent("map").path,
            ])
            assertCleanFailure(map, "[1, 2, 26, 26]", "flatten and dense10")
        }
    }

    func testABatchLargerThanTheTrainingSetIsAnError() throws {
        let data = try tinyDataset()
        defer { try? FileManager.default.removeItem(at: data) }
        let out = data.appendingPathComponent("run")
        let result = try run([
            "train", "--model", "mlp", "--device", "cpu", "--dataset", data.path, "--batch-size", "100000", "--out", out.path,
        ])
        assertCleanFailure(result, "--batch-size 100000", "96 images")
        XCTAssertFalse(result.output.contains("train loss"), result.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("checkpoint.safetensors").path))
    }

    func testResumeRefusesPositionsTheDataCannotHold() throws {
        let data = try tinyDataset()
        defer { try? FileManager.default.removeItem(at: data) }
        let out = data.appendingPathComponent("run")
        let common = [
            "train", "--model", "flatten-dense10", "--device", "cpu", "--dataset", data.path, "--batch-size", "16", "--out", out.path,
        ]
        let first = try run(common + ["--epochs", "1"])
        XCTAssertEqual(first.status, 0, first.error)
        let checkpoint = out.appendingPathComponent("checkpoint.safetensors")
        let original = try SafeTensorsFile(contentsOf: checkpoint)
        for (field, value, message) in [
            ("kiln.epoch", "-5", "0 or more"), ("kiln.batch", "99999999", "6 batches"), ("kiln.batch", "-1", "6 batches"),
            ("kiln.step", "x", "0 or more"),
        ] {
            var damaged = original
            damaged.metadata[field] = value
            try damaged.write(to: checkpoint)
            let resumed = try run(common + ["--epochs", "2", "--resume"])
            assertCleanFailure(resumed, checkpoint.path, "'\(field)' is '\(value)'", message)
        }
    }

    /// Issue 15's data-loss case: a one-batch data set trained one epoch, then resumed with a learning rate that
    /// blows the weights up. The run stops with a message, the checkpoint keeps a finite state, and the metrics
    /// stay readable and agree with it.
    func testADivergedRunKeepsTheLastGoodCheckpoint() throws {
        let data = try tinyDataset(trainingCount: 64, testCount: 32)
        defer { try? FileManager.default.removeItem(at: data) }
        let out = data.appendingPathComponent("run")
        let common = ["train", "--model", "mlp", "--device", "cpu", "--dataset", data.path, "--progress", "plain", "--out", out.path]
        let first = try run(common + ["--epochs", "1"])
        XCTAssertEqual(first.status, 0, first.error)
        let diverged = try run(common + ["--resume", "--lr", "1e9", "--epochs", "6"])
        assertCleanFailure(diverged, "diverged", "keeps the last good state")
        XCTAssertFalse(diverged.error.contains("EncodingError"), diverged.error)
        let checkpoint = try SafeTensorsFile(contentsOf: out.appendingPathComponent("checkpoint.safetensors"))
        XCTAssertTrue(checkpoint.arrays.allSatisfy { $0.values.allSatisfy(\.isFinite) }, "the checkpoint holds NaN or infinity")
        let epochs = try XCTUnwrap(checkpoint.metadata["kiln.epoch"].flatMap(Int.init))
        XCTAssertTrue(diverged.error.contains("(\(epochs) epochs finished"), diverged.error)
        let metrics =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("metrics.json"))) as? [[String: Any]]
        XCTAssertEqual(metrics?.map { $0["epoch"] as? Int }, (1...epochs).map { $0 })
    }

    func testATrainingRunRemovesTemporariesThatKilledRunsLeft() throws {
        let data = try tinyDataset()
        defer { try? FileManager.default.removeItem(at: data) }
        let out = data.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        // A process id that no longer runs: a child that has exited.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let stale = out.appendingPathComponent(".checkpoint.safetensors.\(child.processIdentifier).tmp")
        let live = out.appendingPathComponent(".metrics.json.\(ProcessInfo.processInfo.processIdentifier).tmp")
        for file in [stale, live] { try Data("partial".utf8).write(to: file) }
        let result = try run([
            "train", "--model", "flatten-dense10", "--device", "cpu", "--dataset", data.path, "--epochs", "1", "--batch-size", "16",
            "--out", out.path,
        ])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path), "a killed run's temporary file survived the next start")
        XCTAssertTrue(FileManager.default.fileExists(atPath: live.path), "the temporary file of a process that still runs was removed")
    }
}
