// When one rank of `mpirun -np N kiln train` dies, hangs or fails, the whole job ends within seconds with a
// message naming the rank; a failure every rank meets together is reported once; a Ctrl-C that reaches one
// rank stops every rank after the same step, with a checkpoint.
import Foundation
import Kiln
import XCTest

final class DistributedFailureTests: DistributedTestCase {
    /// How soon a job must end after one of its ranks dies or stops answering.
    static let deadline = 30.0

    /// A job training for a long time on a tiny data set, printing every step's loss.
    private func startLongJob(ranks: Int, options: [String] = [], extra: [String] = []) throws -> (BackgroundCommand, URL) {
        try requireMPI()
        let data = try tinyDataset(trainingCount: 640, testCount: 20)
        addTeardownBlock { try? FileManager.default.removeItem(at: data) }
        let out = try temporaryFolder("failure")
        let arguments = [
            "train", "--model", "mlp", "--device", "opencl", "--dataset", data.path, "--epochs", "1000", "--steps", "1000000", "--out",
            out.path,
        ]
        let job = try BackgroundCommand(Self.mpirun, mpirunArguments(ranks, arguments + extra, options: options))
        addTeardownBlock { if job.process.isRunning { job.process.terminate() } }
        return (job, out)
    }

    /// The process of `rank` among the children of `launcher` (mpirun starts the ranks of this host itself).
    private func process(ofRank rank: Int, launchedBy launcher: Int32) throws -> Int32 {
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") {
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                // The parent's pid is the second field after the command name in parentheses.
                let fields = stat.split(separator: ")").last?.split(separator: " "), fields.count > 1, Int32(fields[1]) == launcher,
                let environment = FileManager.default.contents(atPath: "/proc/\(entry)/environ")
            else { continue }
            let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
        }
        throw XCTSkip("rank \(rank) is not a child of mpirun (\(launcher)) here")
    }

    func testKillingOneRankEndsTheJobNamingIt() throws {
        let (job, _) = try startLongJob(ranks: 3)
        XCTAssertTrue(job.wait(for: "step 5 ", seconds: 300), job.outputText + job.errorText)
        let victim = try process(ofRank: 1, launchedBy: job.process.processIdentifier)
        let start = Date()
        kill(victim, SIGKILL)
        let status = job.finish(seconds: 120)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertNotNil(status, "the job still ran 120 s after rank 1 was killed")
        XCTAssertNotEqual(status, 0)
        XCTAssertLessThan(seconds, Self.deadline)
        let report = job.outputText + job.errorText
        XCTAssertTrue(report.contains("rank 1"), report)
        print("rank 1 killed: the job ended \(String(format: "%.1f", seconds)) s later with status \(status ?? -1)")
    }

    func testARankThatStopsAnsweringIsNamedAfterTheTimeout() throws {
        let (job, _) = try startLongJob(ranks: 3, options: ["-x", "KILN_MPI_TIMEOUT=3"])
        XCTAssertTrue(job.wait(for: "step 5 ", seconds: 300), job.outputText + job.errorText)
        let victim = try process(ofRank: 2, launchedBy: job.process.processIdentifier)
        addTeardownBlock {
            kill(victim, SIGCONT)
            kill(victim, SIGKILL)
        }
        let start = Date()
        kill(victim, SIGSTOP)
        let status = job.finish(seconds: 120)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertNotNil(status, "the job still ran 120 s after rank 2 stopped")
        XCTAssertNotEqual(status, 0)
        XCTAssertLessThan(seconds, Self.deadline)
        let report = job.errorText
        XCTAssertTrue(report.contains("rank 2 on "), report)
        XCTAssertTrue(report.contains("did not take part"), report)
        print(
            "rank 2 stopped: the job ended \(String(format: "%.1f", seconds)) s later: \(report.split(separator: "\n").first { $0.contains("did not take part") } ?? "")"
        )
    }

    func testAFailureOnOneRankEndsTheJobNamingIt() throws {
        try requireMPI()
        let data = try tinyDataset(trainingCount: 128, testCount: 20)
        addTeardownBlock { try? FileManager.default.removeItem(at: data) }
        let out = try temporaryFolder("failure")
        let common = ["train", "--model", "mlp", "--dataset", data.path, "--steps", "20", "--out", out.path]
        // Rank 1 is given a device that does not exist.
        let arguments =
            ["--allow-run-as-root", "--oversubscribe", "-np", "1", executable.path] + common + ["--device", "opencl"]
            + [":", "-np", "1", executable.path] + common + ["--device", "opencl:nosuchdevice"]
        let job = try BackgroundCommand(Self.mpirun, arguments)
        let status = job.finish(seconds: 120)
        XCTAssertNotNil(status)
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(job.errorText.contains("rank 1 on "), job.errorText)
        XCTAssertTrue(job.errorText.contains("nosuchdevice"), job.errorText)
    }

    func testAFailureEveryRankMeetsIsReportedOnce() throws {
        try requireMPI()
        let data = try tinyDataset(trainingCount: 128, testCount: 20)
        addTeardownBlock { try? FileManager.default.removeItem(at: data) }
        let out = try temporaryFolder("failure")
        // A learning rate this large makes the loss infinite within a few steps, on every rank at once.
        let result = try mpirun(
            3,
            ["train", "--model", "mlp", "--device", "opencl", "--dataset", data.path, "--lr", "1e30", "--steps", "20", "--out", out.path])
        XCTAssertEqual(result.status, 1, result.error)
        XCTAssertEqual(result.error.components(separatedBy: "training diverged").count - 1, 1, result.error)
    }

    func testCtrlCOnOneRankStopsEveryRankWithACheckpoint() throws {
        let (job, out) = try startLongJob(ranks: 2)
        XCTAssertTrue(job.wait(for: "step 5 ", seconds: 300), job.outputText + job.errorText)
        kill(try process(ofRank: 1, launchedBy: job.process.processIdentifier), SIGINT)
        let status = job.finish(seconds: 120)
        XCTAssertEqual(status, 130, job.errorText)
        XCTAssertTrue(job.outputText.contains("interrupted at epoch"), job.outputText)
        let checkpoint = out.appendingPathComponent("checkpoint.safetensors")
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint.path))
        // The checkpoint is at the last step rank 0 printed.
        let lastStep = Self.losses(job.outputText).keys.max()
        let stored = try SafeTensorsFile(contentsOf: checkpoint).metadata["kiln.step"].flatMap(Int.init)
        XCTAssertEqual(stored, lastStep)
    }
}
