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
