// Building and running the C programs of Tests/KilnCTests/Programs (and the README's examples) against the
// libKilnC.so that `swift build` and `swift test` produce, with the system's `cc`.
import Foundation
import XCTest

enum CProgram {
    /// The repository root, found from this source file.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The folder holding libKilnC.so: the build products folder next to the test bundle.
    static var libraryDirectory: URL {
        get throws {
            var directory = Bundle(for: CAPITests.self).bundleURL
            while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("libKilnC.so").path) {
                guard directory.path != "/" else { throw CAPITestError("libKilnC.so is not in the build folder; run `swift build`") }
                directory.deleteLastPathComponent()
            }
            return directory
        }
    }

    static let scratch: URL = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-c-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }()

    /// Compiles the C file `source` with `cc -Wall -Werror` against kiln.h and libKilnC.so (and zlib) into an
    /// executable named `name`.
    static func compile(_ source: URL, name: String) throws -> URL {
        let library = try libraryDirectory.path
        let output = scratch.appendingPathComponent(name)
        let result = try run(
            "/usr/bin/env",
            [
                "cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", root.appendingPathComponent("Sources/KilnC/include").path,
                source.path,
                "-L", library, "-lKilnC", "-Wl,-rpath," + library, "-lz", "-lm", "-o", output.path,
            ])
        guard result.status == 0 else { throw CAPITestError("cc failed for \(source.lastPathComponent):\n\(result.output)") }
        return output
    }

    /// A program in Tests/KilnCTests/Programs, compiled.
    static func program(_ name: String) throws -> URL {
        try compile(root.appendingPathComponent("Tests/KilnCTests/Programs/\(name).c"), name: name)
    }

    /// Runs `executable arguments` to the end, standard output and error together.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (
        status: Int32, output: String
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The fenced code block of `language` that follows the HTML comment `<!-- test: marker -->` in README.md.
    static func readmeExample(_ marker: String, language: String) throws -> String {
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        guard let start = readme.range(of: "<!-- test: \(marker) -->"),
            let open = readme.range(of: "```\(language)\n", range: start.upperBound..<readme.endIndex),
            let close = readme.range(of: "\n```", range: open.upperBound..<readme.endIndex)
        else { throw CAPITestError("README.md has no ```\(language) block after <!-- test: \(marker) -->") }
        return String(readme[open.upperBound..<close.lowerBound]) + "\n"
    }
}

struct CAPITestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
