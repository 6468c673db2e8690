// Tests of `kiln compare`, run through the built executable: a short comparison writes its table, chart
// and summary, and bad arguments are refused with a usage line.
import Foundation
import XCTest

final class CompareCommandTests: KilnCommandLineTestCase {
    func testShortComparisonWritesTableChartAndSummary() throws {
        let data = try tinyDataset()
        defer { try? FileManager.default.removeItem(at: data) }
        let out = data.appendingPathComponent("compare")
        let result = try run([
            "compare", "--model", "flatten-dense10", "--model", "conv4k3p1-relu-maxpool4-flatten-dense10", "--device", "cpu",
            "--dataset", data.path, "--epochs", "1", "--batch-size", "16", "--lr", "0.1", "--seed", "3", "--out", out.path,
        ])
        XCTAssertEqual(result.status, 0, result.error)
        // The table: one row per measure, one column per model; the long layer string gets a key line.
        for row in ["parameters", "test accuracy", "test loss", "training time", "images/s"] {
            XCTAssertTrue(result.output.contains(row), "\(row) missing from:\n\(result.output)")
        }
        XCTAssertTrue(result.output.contains("model 2: conv4k3p1-relu-maxpool4-flatten-dense10"), result.output)
        // flatten-dense10 has 784 * 10 + 10 parameters.
        let parameterRow = result.output.split(separator: "\n").first { $0.hasPrefix("parameters") }
        XCTAssertTrue(parameterRow?.contains("7850") ?? false, result.output)

        let summary =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("comparison.json"))) as? [String: Any]
        XCTAssertEqual(summary?["epochs"] as? Int, 1)
        XCTAssertEqual(summary?["batchSize"] as? Int, 16)
        XCTAssertEqual(summary?["seed"] as? Int, 3)
        let models = summary?["models"] as? [[String: Any]] ?? []
        XCTAssertEqual(models.map { $0["model"] as? String }, ["flatten-dense10", "conv4k3p1-relu-maxpool4-flatten-dense10"])
        for model in models {
            XCTAssertEqual(model["parameters"] as? Int ?? 0 > 0, true)
            XCTAssertEqual((model["epochs"] as? [Any])?.count, 1)
            let accuracy = model["finalTestAccuracy"] as? Double ?? -1
            XCTAssertTrue((0...1).contains(accuracy), "\(accuracy)")
            XCTAssertGreaterThan(model["imagesPerSecond"] as? Double ?? 0, 0)
        }
        let svg = try String(contentsOf: out.appendingPathComponent("comparison.svg"), encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<svg"), svg)
        for series in ["model 1 test accuracy", "model 2 test accuracy", "model 1 train loss", "model 2 test loss"] {
            XCTAssertTrue(svg.contains(series), series)
        }
    }

    func testJSONOutputIsTheSummaryOnly() throws {
        let data = try tinyDataset()
        defer { try? FileManager.default.removeItem(at: data) }
        let result = try run([
            "compare", "--model", "flatten-dense10", "--model", "gap-flatten-dense10", "--device", "cpu", "--dataset", data.path,
            "--epochs", "1",
            "--batch-size", "32", "--out", data.appendingPathComponent("compare").path, "--json",
        ])
        XCTAssertEqual(result.status, 0, result.error)
        let summary = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        let names = (summary?["models"] as? [[String: Any]])?.map { $0["name"] as? String }
        XCTAssertEqual(names, ["model 1", "model 2"], result.output)
        XCTAssertTrue(result.error.contains("model 2  epoch 1"), result.error)
    }

    func testBadComparisonArgumentsAreRejected() throws {
        let data = try tinyDataset()
        defer { try? FileManager.default.removeItem(at: data) }
        let cases: [([String], String)] = [
            (["compare", "--model", "cnn"], "twice"),
            (["compare", "--model", "cnn", "--model", "mlp", "--model", "flatten-dense10"], "twice"),
            (["compare", "--epochs", "0"], "--epochs"),
            (["compare", "--batch-size", "-4"], "--batch-size"),
            (["compare", "--lr", "0"], "--lr"),
            (["compare", "--momentum", "1.5"], "--momentum"),
            (["compare", "--optimizer", "rmsprop"], "rmsprop"),
            (["compare", "--progress", "fancy"], "fancy"),
            (["compare", "--dataset", data.appendingPathComponent("missing").path], "missing"),
            (["compare", "--frobnicate"], "frobnicate"),
        ]
        for (arguments, mention) in cases {
            let result = try run(arguments + (arguments.contains("--dataset") ? [] : ["--dataset", data.path]))
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.error.contains("Usage"), "\(arguments): \(result.error)")
            XCTAssertTrue(result.error.contains(mention), "\(arguments): \(result.error)")
        }
        // Both models are built before either trains, so a bad second model fails at once.
        let badModel = try run(["compare", "--model", "mlp", "--model", "flatten-frobnicate", "--device", "cpu", "--dataset", data.path])
        XCTAssertNotEqual(badModel.status, 0)
        XCTAssertTrue(badModel.error.contains("frobnicate"), badModel.error)
    }

    func testHelpListsTheChoices() throws {
        let result = try run(["compare", "--help"])
        XCTAssertEqual(result.status, 0)
        // Help wraps lines; compare with runs of spaces and line breaks made single spaces.
        let help = result.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        XCTAssertTrue(help.contains("values: sgd, momentum, nesterov, adam"), result.output)
        XCTAssertTrue(help.contains("values: auto, bar, plain"), result.output)
        XCTAssertTrue(try run(["--help"]).output.contains("compare"))
    }
}
