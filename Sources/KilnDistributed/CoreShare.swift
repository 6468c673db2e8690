// CoreShare: how the ranks on one host divide its cores between their CPU devices. pocl's CPU device starts
// one worker thread per core it sees, so N ranks on one host would each start one per core and fight over
// them; each rank gets its share instead, through pocl's POCL_MAX_PTHREAD_COUNT.
import Foundation

/// This rank's share of its host's cores.
public struct CoreShare: Equatable, CustomStringConvertible {
    /// pocl's variable for the worker threads of its CPU device.
    public static let poclThreadsVariable = "POCL_MAX_PTHREAD_COUNT"

    /// Worker threads this rank's CPU device should run.
    public let threads: Int
    /// Where the number came from, for the log line.
    public let reason: String

    /// The share of local rank `localRank` of `localSize` on a host with `onlineCores` cores, when this
    /// process may run on `allowedCores` of them. A launcher that bound the rank to fewer cores than the
    /// host has (Open MPI binds each of two ranks to a core) already chose its share; otherwise the cores
    /// are divided evenly, the first ranks taking one more when they do not divide.
    public init(localRank: Int, localSize: Int, onlineCores: Int, allowedCores: Int) {
        if allowedCores < onlineCores {
            threads = max(allowedCores, 1)
            reason = "the \(allowedCores) core\(allowedCores == 1 ? "" : "s") the launcher bound this rank to"
        } else {
            let ranks = max(localSize, 1)
            threads = max(onlineCores / ranks + (localRank < onlineCores % ranks ? 1 : 0), 1)
            reason = "\(onlineCores) cores shared by \(ranks) rank\(ranks == 1 ? "" : "s") on this host"
        }
    }

    /// The share of this process, from the host's cores and this process's CPU affinity.
    public init(localRank: Int, localSize: Int) {
        self.init(
            localRank: localRank, localSize: localSize, onlineCores: max(sysconf(Int32(_SC_NPROCESSORS_ONLN)), 1),
            allowedCores: Self.allowedCores() ?? max(sysconf(Int32(_SC_NPROCESSORS_ONLN)), 1))
    }

    public var description: String { "\(threads) CPU device thread\(threads == 1 ? "" : "s") (\(reason))" }

    /// Sets `POCL_MAX_PTHREAD_COUNT` to the share unless the user set it; returns the value in force.
    /// Must run before the first OpenCL call of the process: pocl reads it once.
    @discardableResult
    public func apply(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let chosen = environment[Self.poclThreadsVariable] { return chosen }
        setenv(Self.poclThreadsVariable, String(threads), 1)
        return String(threads)
    }

    /// The number of cores this process may run on (its CPU affinity, the bits of `Cpus_allowed` in
    /// /proc/self/status, e.g. `00000003`), or nil when it cannot be read.
    static func allowedCores() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") })
        else { return nil }
        let digits = line.dropFirst("Cpus_allowed:".count).filter(\.isHexDigit)
        let count = digits.reduce(0) { $0 + (Int(String($1), radix: 16) ?? 0).nonzeroBitCount }
        return count > 0 ? count : nil
    }
}
