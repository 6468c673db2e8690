// Running another program from a test: its exit status and its standard output and error together.
import Foundation

/// Runs `executable` with `arguments` (and `environment` when given, else the test's own) to completion; returns its
/// exit status and everything it wrote to standard output and standard error, interleaved as written.
public func runCapturingOutput(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil) throws -> (
    status: Int32, output: String
) {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
}
