// `kiln demo momentum` and `kiln demo batching` as a user runs them: bad arguments fail with a clear
// message, and a short quadratic run writes its chart.
import Foundation
import XCTest

final class DemoCommandTests: KilnCommandLineTestCase {
    private func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    func testDemoListsItsSubcommands() throws {
        let result = try run(["demo", "--help"])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("momentum") && result.output.contains("batching"), result.output)
    }

    func testMomentumRejectsBadArguments() throws {
        let cases: [([String], String)] = [
            (["--steps", "0"], "--steps must be a positive number"),
            (["--condition", "1"], "--condition must be a number above 1"),
            (["--target", "2"], "--target must be a fraction"),
            (["--mlp-steps=-1"], "--mlp-steps must be zero or positive"),
        ]
        for (arguments, message) in cases {
            let result = try run(["demo", "momentum"] + arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.error.contains(message), "\(arguments): \(result.error)")
        }
    }

    func testBatchingRejectsBadArguments() throws {
        let cases: [([String], String)] = [
            (["--epochs", "0"], "--epochs must be a positive number"),
            (["--examples=-5"], "--examples must be zero (all) or positive"),
            (["--full-batch-lr", "0"], "--full-batch-lr must be a positive number"),
            (["--batch-size", "0"], "--batch-size must be positive"),
        ]
        for (arguments, message) in cases {
            let result = try run(["demo", "batching"] + arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.error.contains(message), "\(arguments): \(result.error)")
        }
    }

    func testMomentumOnTheQuadraticWritesItsChart() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // --mlp-steps 0 skips the network, so no data set is read.
        let result = try run([
            "demo", "momentum", "--device", "cpu", "--steps", "60", "--mlp-steps", "0", "--dataset", folder.path, "--out", folder.path,
        ])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("steps to target"), result.output)
        let chart = try String(contentsOf: folder.appendingPathComponent("momentum-quadratic.svg"), encoding: .utf8)
        XCTAssertTrue(chart.contains("Nesterov"), chart)
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("momentum.json")))
        XCTAssertNotNil((record as? [String: Any])?["quadratic"])
    }
}
