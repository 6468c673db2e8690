// Helpers for tests that run the built `kiln` executable: find it, run it to the end or start it in the
// background, and write small IDX data sets to train on.
import Foundation
import XCTest

/// What a finished `kiln` process printed and how it ended.
struct CommandResult {
    let status: Int32
    let output: String
    let error: String
}

/// A test case that runs the `kiln` executable.
class KilnCommandLineTestCase: XCTestCase {
    /// The `kiln` binary next to the test bundle.
    var executable: URL {
        var directory = Bundle(for: KilnCommandLineTestCase.self).bundleURL
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("kiln").path), directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("kiln")
    }

    /// Runs `kiln arguments` to the end (in `directory`, else this process's); with a `launcher` (a program and
    /// its options, such as `oclgrind --data-races`), runs `launcher kiln arguments`.
    func run(_ arguments: [String], environment: [String: String] = [:], launcher: [String] = [], in directory: URL? = nil) throws
        -> CommandResult
    {
        let process = Process()
        if let directory { process.currentDirectoryURL = directory }
        if let program = launcher.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(launcher.dropFirst()) + [executable.path] + arguments
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // Drain standard error on another thread so a chatty process cannot block on a full pipe.
        let errorData = LockedData()
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            errorData.append(error.fileHandleForReading.readDataToEndOfFile())
            drained.signal()
        }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        process.waitUntilExit()
        return CommandResult(
            status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
            error: String(decoding: errorData.data, as: UTF8.self))
    }

    /// Writes a tiny IDX data set (the four MNIST file names) of 28×28 images into a new folder:
    /// `trainingCount` training images and `testCount` test images, labelled 0 to 9 in turn.
    func tinyDataset(trainingCount: Int = 96, testCount: Int = 32) throws -> URL {
        try idxDataset(trainingLabels: (0..<trainingCount).map { UInt8($0 % 10) }, testLabels: (0..<testCount).map { UInt8($0 % 10) })
    }

    /// Writes an IDX data set of 28×28 images with these labels into a new folder. Class k lights up row
    /// 2k + 3 (k below 12), so the classes are learnable.
    func idxDataset(trainingLabels: [UInt8], testLabels: [UInt8]) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func idx(_ dimensions: [Int], _ payload: [UInt8]) -> Data {
            var bytes: [UInt8] = [0, 0, 8, UInt8(dimensions.count)]
            for dimension in dimensions { bytes += withUnsafeBytes(of: UInt32(dimension).bigEndian, Array.init) }
            return Data(bytes + payload)
        }
        for (prefix, labels) in [("train", trainingLabels), ("t10k", testLabels)] {
            var pixels: [UInt8] = []
            for label in labels {
                for pixel in 0..<784 {
                    let lit = pixel / 28 == Int(label) * 2 + 3
                    pixels.append(lit ? 220 : UInt8((pixel * 7) % 40))
                }
            }
            try idx([labels.count, 28, 28], pixels).write(to: folder.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try idx([labels.count], labels).write(to: folder.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
        return folder
    }
}

/// A `kiln` process in the background whose standard output is collected as it arrives.
final class BackgroundCommand {
    let process = Process()
    let output = LockedData()
    let error = LockedData()

    init(_ executable: URL, _ arguments: [String]) throws {
        process.executableURL = executable
        process.arguments = arguments
        let outputPipe = Pipe()
        let errorPipe = Pipe()
        process.standardOutput = outputPipe
        process.standardError = errorPipe
        outputPipe.fileHandleForReading.readabilityHandler = { [output] in output.append($0.availableData) }
        errorPipe.fileHandleForReading.readabilityHandler = { [error] in error.append($0.availableData) }
        try process.run()
    }

    var outputText: String { String(decoding: output.data, as: UTF8.self) }
    var errorText: String { String(decoding: error.data, as: UTF8.self) }

    /// Waits until standard output contains `text` (true) or the process ended or time ran out (false).
    func wait(for text: String, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if outputText.contains(text) { return true }
            if !process.isRunning { return outputText.contains(text) }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return false
    }

    /// Waits for the end (at most `seconds`) and gives the exit status, or nil if it still runs.
    func finish(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            process.terminate()
            return nil
        }
        // Let the readability handlers take the last bytes.
        Thread.sleep(forTimeInterval: 0.1)
        return process.terminationStatus
    }
}

/// Bytes appended from one thread and read from another.
final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes = Data()

    func append(_ more: Data) {
        lock.lock()
        bytes.append(more)
        lock.unlock()
    }

    var data: Data {
        lock.lock()
        defer { lock.unlock() }
        return bytes
    }
}
