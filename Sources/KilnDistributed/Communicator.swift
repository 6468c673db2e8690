// Communicator: the MPI job this process belongs to (MPI loaded at run time), with the collectives
// data-parallel training needs. Every MPI call runs on one thread (`MPIThread`), which keeps started
// collectives moving while the caller works and ends one that waits too long, so a rank that stops answering
// ends the job with a message that names it instead of hanging it.
import CKilnMPI
import Foundation

/// The processes of one MPI job (MPI_COMM_WORLD). One thread at a time may use it.
public final class Communicator {
    /// Environment variable: seconds a collective may wait for the other ranks (default 120).
    public static let timeoutVariable = "KILN_MPI_TIMEOUT"
    /// Environment variable: the MPI library to load instead of Open MPI's libmpi.so.40.
    public static let libraryVariable = "KILN_MPI_LIBRARY"
    /// Open MPI's setting for its nonblocking allreduce (1: ring), read when MPI starts.
    public static let allreduceAlgorithmVariable = "OMPI_MCA_coll_libnbc_iallreduce_algorithm"
    /// Seconds a collective waits when `KILN_MPI_TIMEOUT` is not set: longer than any step, evaluation or
    /// checkpoint write that the other ranks may be waiting on.
    public static let defaultTimeout = 120.0

    /// This process's rank, from 0.
    public let rank: Int
    /// The number of processes.
    public let size: Int
    /// This process's rank among the processes on its host, and their number.
    public let localRank: Int
    public let localSize: Int
    /// Every rank's host name, in rank order.
    public private(set) var hosts: [String] = []
    /// Seconds a collective waits for the other ranks before it gives up.
    public let timeout: Double
    private let thread = MPIThread()
    private var finalized = false

    /// Whether an MPI launcher (mpirun, mpiexec, or srun with PMIx) started this process.
    public static func isLaunched(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"].contains { environment[$0] != nil }
    }

    /// This process's rank as the launcher announced it, before MPI is loaded (nil when no launcher did).
    public static func launchRank(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"].lazy.compactMap { environment[$0].flatMap { Int($0) } }.first
    }

    /// Loads MPI, initialises it, and learns the ranks and their hosts. A process can do this once.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        if let text = environment[Self.timeoutVariable] {
            guard let seconds = Double(text), seconds > 0, seconds.isFinite else {
                throw DistributedError.setting("\(Self.timeoutVariable)=\(text): give the seconds a collective may wait, a positive number")
            }
            timeout = seconds
        } else {
            timeout = Self.defaultTimeout
        }
        let algorithmChosen = environment[Self.allreduceAlgorithmVariable] != nil
        let library = environment[Self.libraryVariable]
        let (rank, size, localRank, localSize, host) = try thread.sync { () throws -> (Int, Int, Int, Int, String) in
            try Self.load(library: library)
            // Gradient sums are large and in place; for those Open MPI's nonblocking collectives (libnbc) pick a
            // binomial tree, which moves every byte log2(N) times through rank 0. The ring moves 2(N-1)/N of
            // them per rank, the least any allreduce can, so ask for it unless the user chose an algorithm.
            if !algorithmChosen { setenv(Self.allreduceAlgorithmVariable, "1", 0) }
            try MPICall.check(kiln_mpi_init(), "MPI_Init_thread", rank: -1)
            var rank: Int32 = 0
            var size: Int32 = 0
            var localRank: Int32 = 0
            var localSize: Int32 = 0
            try MPICall.check(kiln_mpi_rank(&rank), "MPI_Comm_rank", rank: -1)
            try MPICall.check(kiln_mpi_size(&size), "MPI_Comm_size", rank: Int(rank))
            try MPICall.check(kiln_mpi_local_rank(&localRank, &localSize), "MPI_Comm_split_type", rank: Int(rank))
            var failure: Int32 = 0
            let host = MPICall.text(capacity: 256) { failure = kiln_mpi_processor_name($0, $1) }
            try MPICall.check(failure, "MPI_Get_processor_name", rank: Int(rank))
            return (Int(rank), Int(size), Int(localRank), Int(localSize), host)
        }
        self.rank = rank
        self.size = size
        self.localRank = localRank
        self.localSize = localSize
        let timeout = self.timeout
        try thread.sync { [thread] in
            thread.rank = rank
            thread.timeout = timeout
            thread.heartbeat = try Heartbeat(rank: rank, size: size)
        }
        hosts = try allgather(host, operation: "exchanging host names")
        let hosts = self.hosts
        try thread.sync { [thread] in thread.hosts = hosts }
    }

    // MARK: Collectives

    /// Starts summing `values` over all ranks in place. The memory must stay put until `wait(for:)` returns.
    public func startSum(_ values: UnsafeMutableBufferPointer<Float>, operation: String) throws -> Pending {
        let count = try count(values.count, operation)
        return start(operation) { kiln_mpi_iallreduce_sum_float(values.baseAddress, count, &$0) }
    }

    /// Waits until `pending` has finished on this rank. Throws `DistributedError.timeout` after `timeout`
    /// seconds, naming the ranks that did not take part.
    public func wait(for pending: Pending) throws {
        try thread.wait(pending)
    }

    /// Sums `values` over all ranks in place.
    public func sum(_ values: inout [Double], operation: String) throws {
        try values.withUnsafeMutableBufferPointer { buffer in
            for chunk in Self.chunks(buffer.count) {
                let slice = UnsafeMutableBufferPointer(rebasing: buffer[chunk])
                try wait(for: start(operation) { kiln_mpi_iallreduce_sum_double(slice.baseAddress, Int32(slice.count), &$0) })
            }
        }
    }

    /// Replaces `values` on every rank with `root`'s (every rank passes an array of the same count).
    public func broadcast(_ values: inout [Float], from root: Int = 0, operation: String) throws {
        try values.withUnsafeMutableBytes { try broadcast(bytes: $0, from: root, operation: operation) }
    }

    /// `root`'s text on every rank.
    public func broadcast(_ text: String, from root: Int = 0, operation: String) throws -> String {
        var bytes = Array(text.utf8)
        var length = UInt64(bytes.count)
        try withUnsafeMutableBytes(of: &length) { try broadcast(bytes: $0, from: root, operation: operation) }
        if rank != root { bytes = [UInt8](repeating: 0, count: Int(length)) }
        try bytes.withUnsafeMutableBytes { try broadcast(bytes: $0, from: root, operation: operation) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Every rank's `value`, in rank order.
    public func allgather(_ value: UInt64, operation: String) throws -> [UInt64] {
        var sent = value
        var received = [UInt64](repeating: 0, count: size)
        try withUnsafeBytes(of: &sent) { sentBytes in
            try received.withUnsafeMutableBytes { receivedBytes in
                try wait(
                    for: start(operation) {
                        kiln_mpi_iallgather(sentBytes.baseAddress, receivedBytes.baseAddress, Int32(sentBytes.count), &$0)
                    })
            }
        }
        return received
    }

    /// Every rank's `text` (cut to 255 bytes), in rank order.
    public func allgather(_ text: String, operation: String) throws -> [String] {
        let width = 256
        var sent = [UInt8](repeating: 0, count: width)
        for (index, byte) in text.utf8.prefix(width - 1).enumerated() { sent[index] = byte }
        var received = [UInt8](repeating: 0, count: width * size)
        try sent.withUnsafeBytes { sentBytes in
            try received.withUnsafeMutableBytes { receivedBytes in
                try wait(
                    for: start(operation) {
                        kiln_mpi_iallgather(sentBytes.baseAddress, receivedBytes.baseAddress, Int32(width), &$0)
                    })
            }
        }
        return (0..<size).map { rank in
            String(decoding: received[rank * width..<(rank + 1) * width].prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    // MARK: Ending

    /// Prints `message` and ends every process of the job with `code` (MPI_Abort); mpirun then reports
    /// which rank called it.
    public func abort(_ message: String, code: Int32 = 1) -> Never {
        FileHandle.standardError.write(Data("kiln: \(message)\n".utf8))
        thread.enqueue { _ = kiln_mpi_abort(code) }
        // MPI_Abort ends this process too; should it not within seconds, end it here.
        sleep(10)
        exit(code)
    }

    /// Ends MPI in this process once every rank has called it (MPI_Finalize), and its thread.
    public func finalize() throws {
        guard !finalized else { return }
        finalized = true
        try thread.sync { [thread, rank] in
            try thread.heartbeat?.close()
            thread.heartbeat = nil
            try MPICall.check(kiln_mpi_finalize(), "MPI_Finalize", rank: rank)
        }
        thread.stop()
    }

    // MARK: Helpers

    /// The largest count one MPI call takes (its counts are 32-bit).
    static let largestCount = Int(Int32.max)

    /// The ranges of at most `largestCount` elements that cover `count`.
    static func chunks(_ count: Int, largest: Int = largestCount) -> [Range<Int>] {
        stride(from: 0, to: max(count, 1), by: largest).map { $0..<min($0 + largest, count) }
    }

    private func start(_ operation: String, _ call: @escaping (inout kiln_mpi_request) -> Int32) -> Pending {
        let pending = Pending(name: operation)
        thread.start(pending, call)
        return pending
    }

    private func broadcast(bytes: UnsafeMutableRawBufferPointer, from root: Int, operation: String) throws {
        for chunk in Self.chunks(bytes.count) {
            let slice = UnsafeMutableRawBufferPointer(rebasing: bytes[chunk])
            try wait(for: start(operation) { kiln_mpi_ibroadcast(slice.baseAddress, Int32(slice.count), Int32(root), &$0) })
        }
    }

    private func count(_ count: Int, _ operation: String) throws -> Int32 {
        guard count <= Self.largestCount else {
            throw DistributedError.setting(
                "rank \(rank): \(operation) has \(count) values; one collective takes at most \(Self.largestCount)")
        }
        return Int32(count)
    }

    private static func load(library path: String?) throws {
        var status: Int32 = 0
        let message = MPICall.text { buffer, capacity in
            status = path.map { path in path.withCString { kiln_mpi_load($0, buffer, capacity) } } ?? kiln_mpi_load(nil, buffer, capacity)
        }
        if status != 0 { throw DistributedError.library(message) }
    }
}
