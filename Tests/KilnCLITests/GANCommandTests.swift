// Tests that run `kiln gan` and `kiln features` as a user would: on the reference backend with a tiny data set
// and a tiny CNN, and with bad arguments.
import Foundation
import XCTest

final class GANCommandTests: KilnCommandLineTestCase {
    /// A folder with a tiny IDX data set (48 training and 12 test images, 28×28, class k lights row 2k + 3) and a
    /// tiny CNN trained on it for one epoch on the reference backend (`cnn.safetensors`).
    func tinyDatasetAndCNN() throws -> URL {
        let folder = try tinyDataset(trainingCount: 48, testCount: 12)
        let train = try run([
            "train", "--model", "conv4k3p1-relu-maxpool2-conv6k3p1-relu-maxpool2-flatten-dense10", "--device", "cpu",
            "--dataset", folder.path, "--epochs", "1", "--batch-size", "16", "--out", folder.appendingPathComponent("cnn").path,
        ])
        XCTAssertEqual(train.status, 0, train.error)
        return folder
    }

    func testFeaturesWritesTheKernelsAndEveryConvolutionsMaps() throws {
        let folder = try tinyDatasetAndCNN()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("features")
        let result = try run([
            "features", "--checkpoint", folder.appendingPathComponent("cnn/checkpoint.safetensors").path, "--index", "11",
            "--device", "cpu", "--dataset", folder.path, "--out", out.path,
        ])
        XCTAssertEqual(result.status, 0, result.error)
        let expected = ["image.png", "kernels-conv1.png", "conv1.png", "conv1-relu.png", "conv2.png", "conv2-relu.png"]
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(), expected.sorted())
        for file in expected {
            let bytes = try Data(contentsOf: out.appendingPathComponent(file))
            XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], file)
            XCTAssertTrue(result.output.contains(file), result.output)
        }
    }

    func testFeaturesRejectsBadArguments() throws {
        let folder = try tinyDatasetAndCNN()
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("cnn/checkpoint.safetensors").path
        let common = ["--device", "cpu", "--dataset", folder.path, "--out", folder.appendingPathComponent("features").path]
        let cases: [(arguments: [String], message: String)] = [
            (["features", "--checkpoint", folder.appendingPathComponent("missing.safetensors").path, "--index", "0"], "no such file"),
            (["features", "--checkpoint", checkpoint, "--index", "-1"], "--index must be 0 or more"),
            (["features", "--checkpoint", checkpoint, "--index", "12"], "the test set has 12 images"),
            (["features", "--checkpoint", checkpoint], "--index"),
            (["features", "--checkpoint", checkpoint, "--index", "0", "--model", "mlp"], "no tensor named"),
        ]
        for (arguments, message) in cases {
            let result = try run(arguments + common)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.error.contains(message), "\(arguments): \(result.error)")
        }
    }

    func testGANTrainsOnTheReferenceBackendAndScoresItsSamples() throws {
        let folder = try tinyDatasetAndCNN()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("gan")
        let result = try run([
            "gan", "--device", "cpu", "--dataset", folder.path, "--limit", "32", "--batch-size", "16", "--width", "4", "--noise", "8",
            "--samples", "20", "--classifier", folder.appendingPathComponent("cnn/checkpoint.safetensors").path, "--out", out.path,
        ])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("untrained generator: mean top-class probability"), result.output)
        XCTAssertTrue(result.output.contains("trained generator:   mean top-class probability"), result.output)
        let files = [
            "samples-epoch0.png", "samples-epoch1.png", "losses.svg", "losses.csv", "generator.safetensors", "discriminator.safetensors",
            "score.json",
        ]
        for file in files { XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), file) }
        let score =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("score.json"))) as? [String: [String: Any]]
        XCTAssertEqual(score?["trained"]?["samples"] as? Int, 20)
        XCTAssertEqual((score?["untrained"]?["histogram"] as? [Int])?.reduce(0, +), 20)
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("losses.csv"), encoding: .utf8).split(separator: "\n").count, 3)
    }

    func testGANRejectsBadArguments() throws {
        let cases: [(arguments: [String], message: String)] = [
            (["gan", "--epochs", "0"], "--epochs must be positive"),
            (["gan", "--batch-size", "64", "--limit", "10"], "--limit must be at least the batch size"),
            (["gan", "--lr=-1"], "--lr must be a positive number"),
            (["gan", "--classifier", "/no/such/classifier.safetensors"], "no such file"),
            (["gan", "--width", "x"], "width"),
        ]
        for (arguments, message) in cases {
            let result = try run(arguments + ["--device", "cpu"])
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.error.contains(message), "\(arguments): \(result.error)")
        }
    }
}
