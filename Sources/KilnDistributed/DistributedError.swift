// DistributedError: what can go wrong between ranks, in words that name the rank, the host and the remedy.

/// A failure of data-parallel training: MPI itself, a collective that waited too long, or ranks that no
/// longer agree. Every description starts with the rank that saw it.
public enum DistributedError: Error, CustomStringConvertible {
    /// The MPI library could not be loaded or resolved.
    case library(String)
    /// A distributed setting (an environment variable or option) has a value that cannot work.
    case setting(String)
    /// An MPI call failed with the library's error text.
    case call(rank: Int, function: String, code: Int32, message: String)
    /// A collective did not finish within the timeout. `lateRanks` had not started it or stopped answering:
    /// empty when every rank took part (the network or the library stalls), nil when this rank cannot tell
    /// (only rank 0 hears from all).
    case timeout(rank: Int, operation: String, seconds: Double, lateRanks: [Int]?, hosts: [String])
    /// The parameters (or optimizer state) of some ranks differ from rank 0's after `epoch`.
    case drift(rank: Int, epoch: Int, differingRanks: [Int], largestDifference: Float?, tensor: String?)
    /// Ranks were given settings that make them disagree (a batch they cannot split, a different model).
    case mismatch(rank: Int, String)

    public var description: String {
        switch self {
        case .library(let message), .setting(let message):
            return message
        case .call(let rank, let function, let code, let message):
            return "rank \(rank): \(function) failed (MPI error \(code)): \(message)"
        case .timeout(let rank, let operation, let seconds, let lateRanks, let hosts):
            let waited = "rank \(rank): \(operation) waited \(Int(seconds.rounded())) s for the other ranks"
            guard let lateRanks else { return waited + "; rank 0 started it and names the rank that did not" }
            guard !lateRanks.isEmpty else {
                return waited + "; every rank started it, so the network or MPI stalls (raise KILN_MPI_TIMEOUT if a step is this slow)"
            }
            let named = lateRanks.map { late in late < hosts.count ? "rank \(late) on \(hosts[late])" : "rank \(late)" }
            return waited + "; \(named.joined(separator: ", ")) did not take part (stopped answering or never started it; "
                + "raise KILN_MPI_TIMEOUT if a step can be this slow)"
        case .drift(let rank, let epoch, let differingRanks, let largestDifference, let tensor):
            var text =
                "rank \(rank): after epoch \(epoch) the parameters of rank\(differingRanks.count == 1 ? "" : "s") "
                + "\(differingRanks.map(String.init).joined(separator: ", ")) differ from rank 0's"
            if let largestDifference, let tensor { text += " (largest difference \(largestDifference) in \(tensor))" }
            return text + "; the ranks no longer train one model (devices that round differently?), so training stops"
        case .mismatch(let rank, let message):
            return "rank \(rank): \(message)"
        }
    }
}
