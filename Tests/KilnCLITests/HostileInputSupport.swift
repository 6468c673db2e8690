// Helpers for the hostile-input tests: a run must fail with status 1 and a message that names the
// problem, never trap (132), abort (134) or crash (139); and ways to make damaged files.
import Foundation
import XCTest

extension KilnCommandLineTestCase {
    /// Asserts that `result` failed cleanly (status 1) and that its standard error contains every one of `fragments`.
    func assertCleanFailure(_ result: CommandResult, _ fragments: String..., file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 1, "exit status; stderr: \(result.error)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(result.error.contains(fragment), "expected '\(fragment)' in: \(result.error)", file: file, line: line)
        }
        XCTAssertFalse(result.error.contains("Fatal error"), result.error, file: file, line: line)
    }

    /// A new empty folder under the temporary directory, removed when the test ends.
    func scratchFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder
    }

    /// Trains `model` for one step on `data` into a new folder and returns its checkpoint.
    func oneStepCheckpoint(model: String = "flatten-dense10", data: URL, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let out = try scratchFolder()
        let train = try run([
            "train", "--model", model, "--device", "cpu", "--dataset", data.path, "--steps", "1", "--batch-size", "16", "--out", out.path,
        ])
        XCTAssertEqual(train.status, 0, train.error, file: file, line: line)
        return out.appendingPathComponent("checkpoint.safetensors")
    }

    /// The safetensors file `bytes` with its JSON header replaced by `edit(header)` (padded to 8 bytes again).
    func safetensors(_ bytes: Data, editingHeader edit: (String) -> String) -> Data {
        let length = bytes.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
        var header = Data(edit(String(decoding: bytes[8..<8 + length], as: UTF8.self)).utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var result = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Data($0) }
        result.append(header)
        result.append(bytes[(8 + length)...])
        return result
    }
}
