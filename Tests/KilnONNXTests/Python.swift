// Running the Python tools in Tools/ from a test: ONNX Runtime checks Kiln's exports. A missing Python module
// skips the test on a developer's machine and fails it in CI (CI=true), where .ci/run installs it.
import Foundation
import XCTest

enum Python {
    /// What a finished process printed (standard output and error together) and how it ended.
    struct Result {
        let status: Int32
        let output: String
    }

    /// The repository's Tools folder, found from this source file.
    static func tool(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tools").appendingPathComponent(name).path
    }

    /// Runs `python3 arguments` after checking that `module` imports.
    static func run(_ arguments: [String], requiring module: String) throws -> Result {
        let check = try launch(["-c", "import \(module)"])
        if check.status != 0 {
            let reason = "python3 cannot import \(module) (pip install \(module)); \(check.output)"
            if ProcessInfo.processInfo.environment["CI"] != nil { throw XCTSkipFailure(reason) }
            throw XCTSkip(reason)
        }
        return try launch(arguments)
    }

    private static func launch(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self))
    }
}

/// A required tool is missing where it must be present (CI): the test fails with the reason.
struct XCTSkipFailure: Error, CustomStringConvertible {
    let reason: String
    init(_ reason: String) { self.reason = reason }
    var description: String { "required in CI: \(reason)" }
}
