// `mpirun -np N kiln train`: N ranks sharing each global batch compute the losses and parameters of one
// process with the same global batch, up to the order of the sums (1e-5 relative over 50 steps); one rank is
// exactly one process; a checkpoint resumes with any number of ranks.
import Foundation
import XCTest

final class DistributedTrainingTests: DistributedTestCase {
    /// Trains `model` on `ranks` ranks and compares every loss and the final checkpoint with one process.
    /// Returns the job's output.
    @discardableResult
    private func assertMatchesOneProcess(_ model: String, ranks: Int, extra: [String] = [], tolerance: Double = tolerance) throws -> String
    {
        try requireMPI()
        let expected = try baseline(model)
        let out = try temporaryFolder("ranks")
        let result = try mpirun(ranks, try arguments(model, out: out) + extra)
        XCTAssertEqual(result.status, 0, result.error + result.output)
        XCTAssertTrue(result.output.contains("on \(ranks) ranks"), result.output)
        let label = "\(model) on \(ranks) ranks"
        let lossDifference = assertSameLosses(Self.losses(result.output), expected.losses, steps: 1...50, tolerance: tolerance, label)
        let parameterDifference = try assertSameCheckpoint(
            out.appendingPathComponent("checkpoint.safetensors"), expected.checkpoint, tolerance: tolerance, label)
        print(
            "\(label) \(extra.joined(separator: " ")): largest relative difference from one process: losses \(lossDifference), checkpoint \(parameterDifference)"
        )
        return result.output
    }

    func testOneRankIsExactlyOneProcess() throws {
        try assertMatchesOneProcess("mlp", ranks: 1, tolerance: 0)
    }

    func testTwoRanksMatchOneProcess() throws {
        try assertMatchesOneProcess("mlp", ranks: 2)
    }

    func testFourRanksWithSmallBucketsMatchOneProcess() throws {
        // 0.05 MiB first and 0.25 MiB later buckets: the MLP's gradients go in three allreduces, each started
        // as the backward pass finishes its gradients.
        let extra = ["--first-bucket-mib", "0.05", "--bucket-mib", "0.25", "--report-timing"]
        let output = try assertMatchesOneProcess("mlp", ranks: 4, extra: extra)
        XCTAssertTrue(output.contains("in 3 allreduce buckets"), output)
        XCTAssertTrue(output.contains("3.0 of 3 buckets started from within the backward pass"), output)
    }

    func testThreeRanksWithUnequalSharesMatchOneProcessForTheCNN() throws {
        // 64 examples over 3 ranks: shares of 21, 21 and 22, weighted by their size.
        try assertMatchesOneProcess("cnn", ranks: 3)
    }

    func testACheckpointResumesWithAnotherNumberOfRanks() throws {
        try requireMPI()
        let expected = try baseline("mlp")
        let out = try temporaryFolder("resume")
        // One process to step 20, two ranks to step 35, three ranks to step 50.
        let first = try run(try arguments("mlp", out: out, steps: 20))
        XCTAssertEqual(first.status, 0, first.error)
        let second = try mpirun(2, try arguments("mlp", out: out, steps: 35) + ["--resume"])
        XCTAssertEqual(second.status, 0, second.error + second.output)
        XCTAssertTrue(second.output.contains("resumed from"), second.output)
        let third = try mpirun(3, try arguments("mlp", out: out, steps: 50) + ["--resume"])
        XCTAssertEqual(third.status, 0, third.error + third.output)
        assertSameLosses(Self.losses(first.output), expected.losses, steps: 1...20, tolerance: 0, "one process, steps 1-20")
        assertSameLosses(Self.losses(second.output), expected.losses, steps: 21...35, "two ranks, steps 21-35")
        assertSameLosses(Self.losses(third.output), expected.losses, steps: 36...50, "three ranks, steps 36-50")
        try assertSameCheckpoint(out.appendingPathComponent("checkpoint.safetensors"), expected.checkpoint, "after resuming twice")
    }
}
