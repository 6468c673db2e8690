// The sequence commands as a user runs them: `kiln generate` refuses a missing checkpoint, a bad
// temperature and a checkpoint of another model with clear messages; `kiln demo vanishing` refuses bad
// lags and runs a tiny budget on the reference backend.
import Foundation
import XCTest

final class SequenceCommandTests: KilnCommandLineTestCase {
    func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-seq-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder
    }

    func testGenerateWithAMissingCheckpointFails() throws {
        let result = try run([
            "generate", "--checkpoint", "/nonexistent/model.safetensors", "--prompt", "The ", "--temperature", "0.8", "--device", "cpu",
        ])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("--checkpoint: no file at '/nonexistent/model.safetensors'"), result.error)
    }

    func testGenerateWithABadTemperatureFails() throws {
        for temperature in ["0", "-1", "nan"] {
            let result = try run(["generate", "--checkpoint", "x.safetensors", "--prompt", "a", "--temperature=\(temperature)"])
            XCTAssertNotEqual(result.status, 0, temperature)
            XCTAssertTrue(result.error.contains("--temperature must be a positive number"), "\(temperature): \(result.error)")
        }
        let missing = try run(["generate", "--checkpoint", "x.safetensors", "--prompt", "a"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.error.contains("--temperature"), missing.error)
    }

    func testGenerateWithAnotherModelsCheckpointFails() throws {
        // A one-tensor safetensors file whose metadata names another model.
        let header = #"{"__metadata__":{"kiln.model":"mlp"},"weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        var data = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Data($0) }
        data.append(Data(header.utf8))
        data.append(Data(count: 4))
        let url = try temporaryFolder().appendingPathComponent("mlp.safetensors")
        try data.write(to: url)
        let result = try run(["generate", "--checkpoint", url.path, "--prompt", "a", "--temperature", "1", "--device", "cpu"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("not a char-lstm checkpoint"), result.error)
    }

    func testDemoVanishingRejectsBadLags() throws {
        for lengths in ["1", "10,x", ""] {
            let result = try run(["demo", "vanishing", "--lengths", lengths, "--device", "cpu"])
            XCTAssertNotEqual(result.status, 0, lengths)
            XCTAssertTrue(result.error.contains("--lengths"), "\(lengths): \(result.error)")
        }
        let models = try run(["demo", "vanishing", "--models", "gru", "--device", "cpu"])
        XCTAssertNotEqual(models.status, 0)
        XCTAssertTrue(models.error.contains("--models"), models.error)
    }

    func testDemoVanishingRunsATinyBudgetOnTheReferenceBackend() throws {
        let folder = try temporaryFolder()
        let result = try run([
            "demo", "vanishing", "--device", "cpu", "--lengths", "3,5", "--steps", "2", "--hidden", "4", "--batch-size", "4",
            "--exploding-steps", "2", "--out", folder.path, "--json",
        ])
        XCTAssertEqual(result.status, 0, result.error)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        XCTAssertEqual((report["runs"] as? [Any])?.count, 4)
        XCTAssertEqual((report["exploding"] as? [Any])?.count, 2)
        XCTAssertEqual((report["profiles"] as? [Any])?.count, 4, "RNN and LSTM at T = 5, before and after training")
        for name in ["vanishing-gradients.svg", "exploding-loss.svg", "exploding-norm.svg", "report.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path), name)
        }
    }
}
