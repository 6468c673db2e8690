// Tests that run the built `kiln` executable as a user would.
import Foundation
import XCTest

final class CommandLineTests: XCTestCase {
    struct Result {
        let status: Int32
        let output: String
        let error: String
    }

    /// The `kiln` binary next to the test bundle.
    var executable: URL {
        var directory = Bundle(for: CommandLineTests.self).bundleURL
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("kiln").path), directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("kiln")
    }

    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
            error: String(decoding: errorData, as: UTF8.self))
    }

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
    /// Writes a tiny IDX data set (the four MNIST file names) of 28×28 images into a new folder.
    func tinyDataset() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func idx(_ dimensions: [Int], _ payload: [UInt8]) -> Data {
            var bytes: [UInt8] = [0, 0, 8, UInt8(dimensions.count)]
            for dimension in dimensions { bytes += withUnsafeBytes(of: UInt32(dimension).bigEndian, Array.init) }
            return Data(bytes + payload)
        }
        for (prefix, count) in [("train", 96), ("t10k", 32)] {
            let labels = (0..<count).map { UInt8($0 % 10) }
            // Class k lights up row 2k + 3, so the classes are learnable.
            var pixels: [UInt8] = []
            for label in labels {
                for pixel in 0..<784 {
                    let lit = pixel / 28 == Int(label) * 2 + 3
                    pixels.append(lit ? 220 : UInt8((pixel * 7) % 40))
                }
            }
            try idx([count, 28, 28], pixels).write(to: folder.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try idx([count], labels).write(to: folder.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
        return folder
    }

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
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("metrics.json"))) as? [[String: Any]]
        XCTAssertEqual(metrics?.count, 2)
        let evaluation = try run([
            "eval", "--checkpoint", out.appendingPathComponent("checkpoint.safetensors").path, "--device", "cpu", "--dataset", data.path, "--json",
        ])
        XCTAssertEqual(evaluation.status, 0, evaluation.error)
        let report = try JSONSerialization.jsonObject(with: Data(evaluation.output.utf8)) as? [String: Any]
        XCTAssertNotNil(report?["accuracy"] as? Double, evaluation.output)
        XCTAssertEqual((report?["confusion"] as? [[Int]])?.joined().reduce(0, +), 32)
    }

    func testBadTrainingArgumentsAreRejected() throws {
        for arguments in [["train", "--epochs", "0"], ["train", "--lr", "-1"], ["train", "--optimizer", "rmsprop"], ["train", "--batch-size", "x"]] {
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
