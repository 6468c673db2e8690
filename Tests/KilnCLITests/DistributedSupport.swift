// Helpers for the tests that run `kiln train` under mpirun: start a job, read the losses it printed, and
// compare two runs' losses and checkpoints within a tolerance.
import Foundation
import Kiln
import XCTest

/// A test case that runs `kiln` as the ranks of an MPI job on this machine.
class DistributedTestCase: KilnCommandLineTestCase {
    /// Open MPI's launcher.
    static let mpirun = URL(fileURLWithPath: "/usr/bin/mpirun")

    /// Relative difference allowed between one process and N ranks: only the order of the sums over the
    /// batch differs (a share's sum, then the sum over the ranks), about 1e-7 per step, compounded over 50 steps.
    static let tolerance = 1e-5

    /// 50 batches of 64, so 50 steps are one epoch, and a small test set.
    static var data: URL?
    /// One process's run of each model: its output and its checkpoint after 50 steps.
    static var baselines: [String: (losses: [Int: Double], checkpoint: URL)] = [:]

    override class func tearDown() {
        if let data { try? FileManager.default.removeItem(at: data) }
        for (_, baseline) in baselines { try? FileManager.default.removeItem(at: baseline.checkpoint.deletingLastPathComponent()) }
        data = nil
        baselines = [:]
        super.tearDown()
    }

    /// The shared data set (made on first use): the tiny learnable set with every third training label
    /// wrong, so that the loss stays far from zero over 50 steps (the relative difference of losses near zero
    /// would only compare the rounding of logarithms of numbers near 1).
    func dataset() throws -> URL {
        if let data = Self.data { return data }
        let data = try tinyDataset(trainingCount: 3_200, testCount: 100)
        let labels = data.appendingPathComponent("train-labels-idx1-ubyte")
        var bytes = [UInt8](try Data(contentsOf: labels))
        let header = 8
        for index in stride(from: header, to: bytes.count, by: 3) { bytes[index] = (bytes[index] + 1 + UInt8(index % 7)) % 10 }
        try Data(bytes).write(to: labels)
        Self.data = data
        return data
    }

    /// `kiln train` of `model` on the shared data set for `steps` steps, writing to `out`.
    func arguments(_ model: String, out: URL, steps: Int = 50) throws -> [String] {
        [
            "train", "--model", model, "--device", "opencl", "--dataset", try dataset().path, "--steps", "\(steps)", "--seed", "3", "--out",
            out.path,
        ]
    }

    /// One process's losses and checkpoint for `model` (run once per test process).
    func baseline(_ model: String) throws -> (losses: [Int: Double], checkpoint: URL) {
        if let baseline = Self.baselines[model] { return baseline }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-baseline-\(UUID().uuidString)")
        let result = try run(try arguments(model, out: out))
        XCTAssertEqual(result.status, 0, result.error)
        let baseline = (Self.losses(result.output), out.appendingPathComponent("checkpoint.safetensors"))
        XCTAssertEqual(baseline.0.count, 50, result.output)
        Self.baselines[model] = baseline
        return baseline
    }

    /// Skips without Open MPI, except in CI (`CI=true`) or with `KILN_REQUIRE_MPI=1`, where it fails.
    func requireMPI() throws {
        guard !FileManager.default.isExecutableFile(atPath: Self.mpirun.path) else { return }
        let environment = ProcessInfo.processInfo.environment
        if environment["CI"] == "true" || environment["KILN_REQUIRE_MPI"] == "1" {
            XCTFail("no \(Self.mpirun.path): install openmpi-bin")
        }
        throw XCTSkip("no \(Self.mpirun.path): install openmpi-bin to run the distributed tests")
    }

    /// The arguments that start `ranks` copies of kiln on this machine (more ranks than cores allowed).
    func mpirunArguments(_ ranks: Int, _ arguments: [String], options: [String] = []) -> [String] {
        ["--allow-run-as-root", "--oversubscribe", "-np", "\(ranks)"] + options + [executable.path] + arguments
    }

    /// Runs `ranks` ranks of `kiln arguments` to the end (at most `seconds`), failing the test on a timeout.
    func mpirun(_ ranks: Int, _ arguments: [String], options: [String] = [], seconds: Double = 600) throws -> CommandResult {
        let job = try BackgroundCommand(Self.mpirun, mpirunArguments(ranks, arguments, options: options))
        guard let status = job.finish(seconds: seconds) else {
            XCTFail("mpirun -np \(ranks) kiln \(arguments.joined(separator: " ")) ran past \(seconds) s")
            return CommandResult(status: -1, output: job.outputText, error: job.errorText)
        }
        return CommandResult(status: status, output: job.outputText, error: job.errorText)
    }

    /// The losses of `step N loss X` lines, by step.
    static func losses(_ output: String) -> [Int: Double] {
        var losses: [Int: Double] = [:]
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.count == 4, words[0] == "step", words[2] == "loss", let step = Int(words[1]), let loss = Double(words[3]) {
                losses[step] = loss
            }
        }
        return losses
    }

    /// Asserts that `actual` has a loss for every step in `steps` within `tolerance` relative of `expected`'s,
    /// and returns the largest relative difference.
    @discardableResult
    func assertSameLosses(
        _ actual: [Int: Double], _ expected: [Int: Double], steps: ClosedRange<Int>, tolerance: Double = tolerance, _ label: String,
        file: StaticString = #filePath, line: UInt = #line
    ) -> Double {
        var worst = 0.0
        for step in steps {
            guard let value = actual[step], let reference = expected[step] else {
                XCTFail("\(label): no loss for step \(step)", file: file, line: line)
                return .infinity
            }
            let difference = abs(value - reference) / abs(reference)
            worst = max(worst, difference)
            XCTAssertLessThanOrEqual(
                difference, tolerance, "\(label): step \(step) loss \(value), one process \(reference)", file: file, line: line)
        }
        return worst
    }

    /// Asserts that two checkpoints hold the same tensors, each within `tolerance` of the largest magnitude
    /// in the reference tensor, and returns the largest such relative difference.
    @discardableResult
    func assertSameCheckpoint(
        _ actual: URL, _ expected: URL, tolerance: Double = tolerance, _ label: String, file: StaticString = #filePath, line: UInt = #line
    ) throws -> Double {
        let left = try SafeTensorsFile(contentsOf: actual)
        let right = try SafeTensorsFile(contentsOf: expected)
        XCTAssertEqual(
            left.arrays.map(\.name).sorted(), right.arrays.map(\.name).sorted(), "\(label): tensor names", file: file, line: line)
        var worst = 0.0
        for reference in right.arrays {
            let name = reference.name
            let values = try left.array(name, shape: reference.shape, file: actual.path).values
            let scale = Double(reference.values.map { abs($0) }.max() ?? 0)
            let difference = zip(values, reference.values).map { Double(abs($0 - $1)) }.max() ?? 0
            let relative = scale > 0 ? difference / scale : difference
            worst = max(worst, relative)
            XCTAssertLessThanOrEqual(
                relative, tolerance, "\(label): \(name) differs by \(difference) (largest value \(scale))", file: file, line: line)
        }
        XCTAssertEqual(left.metadata["kiln.step"], right.metadata["kiln.step"], "\(label): step", file: file, line: line)
        XCTAssertEqual(left.metadata["kiln.epoch"], right.metadata["kiln.epoch"], "\(label): epoch", file: file, line: line)
        XCTAssertEqual(left.metadata["kiln.batch"], right.metadata["kiln.batch"], "\(label): batch", file: file, line: line)
        return worst
    }

    /// A fresh folder under the temporary directory, removed when the test ends.
    func temporaryFolder(_ name: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder
    }
}
