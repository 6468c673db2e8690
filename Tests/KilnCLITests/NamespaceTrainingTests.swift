// `kiln train` with one rank in each of three network namespaces, over TCP through veth links and a bridge,
// as on three machines: the same losses and parameters as one process, and on the wire the ring
// allreduce's 2(N-1)/N of the gradient bytes per rank per step.
import Foundation
import XCTest

final class NamespaceTrainingTests: DistributedTestCase {
    /// Namespaces need root and iproute2; in CI (`CI=true`) or with `KILN_REQUIRE_NAMESPACES=1` their
    /// absence fails the test, elsewhere it skips it.
    private func makeHosts(_ count: Int) throws -> NetworkNamespaces {
        let environment = ProcessInfo.processInfo.environment
        let required = environment["CI"] == "true" || environment["KILN_REQUIRE_NAMESPACES"] == "1"
        do {
            guard geteuid() == 0 else { throw NamespaceError("network namespaces need root") }
            return try NetworkNamespaces(count: count)
        } catch {
            if required { throw error }
            throw XCTSkip("\(error)")
        }
    }

    func testOneRankPerNamespaceOverTCPMatchesOneProcess() throws {
        try requireMPI()
        let expected = try baseline("mlp")
        let hosts = try makeHosts(3)
        defer { hosts.remove() }
        let folder = try temporaryFolder("namespaces")
        let out = folder.appendingPathComponent("run")
        let sentBefore = try (0..<3).map(hosts.sentBytes)
        // mpirun runs on the first host and reaches the others through the launch agent, as through ssh.
        let launch = [
            "netns", "exec", hosts.namespaces[0], Self.mpirun.path, "--allow-run-as-root", "--hostfile",
            try hosts.hostfile(in: folder).path,
            "-np", "3", "--mca", "plm_rsh_agent", try hosts.launchAgent(in: folder).path, "--mca", "btl", "tcp,self",
            "--mca", "btl_tcp_if_include", NetworkNamespaces.subnet, "--mca", "oob_tcp_if_include", NetworkNamespaces.subnet,
            executable.path,
        ]
        let job = try BackgroundCommand(
            URL(fileURLWithPath: try XCTUnwrap(NetworkNamespaces.ip)), launch + (try arguments("mlp", out: out)))
        let status = job.finish(seconds: 600)
        XCTAssertEqual(status, 0, job.errorText + job.outputText)
        XCTAssertTrue(job.outputText.contains("on 3 ranks"), job.outputText)
        let difference = assertSameLosses(Self.losses(job.outputText), expected.losses, steps: 1...50, "three namespaces")
        let parameters = try assertSameCheckpoint(
            out.appendingPathComponent("checkpoint.safetensors"), expected.checkpoint, "three namespaces")

        // Each rank sent at least the ring's share of every step's gradients (and the loss beside them), and
        // not much more: a tree through rank 0 would send it twice the gradients per step.
        let parameterCount = try XCTUnwrap(
            job.outputText.split(separator: "(").dropFirst().first?.split(separator: " ").first.flatMap { Int($0) })
        let ring = 50.0 * 2 * 2 / 3 * Double((parameterCount + 2) * 4)
        for host in 0..<3 {
            let sent = Double(try hosts.sentBytes(host) - sentBefore[host])
            XCTAssertGreaterThanOrEqual(sent, ring, "host \(host) sent \(sent) bytes")
            // Beyond the steps: the first broadcast of the parameters from rank 0 (twice them at most), messages
            // that start MPI, and heartbeats.
            XCTAssertLessThanOrEqual(sent, ring * 1.1 + 2.2 * Double(parameterCount * 4) + 1_000_000, "host \(host) sent \(sent) bytes")
            print("host \(host) sent \(Int(sent)) bytes: \(String(format: "%.3f", sent / ring)) of the ring allreduce's \(Int(ring))")
        }
        print("three namespaces: largest relative difference from one process: losses \(difference), checkpoint \(parameters)")
    }
}
