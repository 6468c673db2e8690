// Communicator: the MPI job this process belongs to (MPI loaded at run time), with the collectives
// data-parallel training needs. Every collective is started nonblocking and waited for with a timeout, so
// a rank that stops answering ends the job with a message that names it instead of hanging it.
import CKilnMPI
import Foundation

/// The processes of one MPI job (MPI_COMM_WORLD). Only the thread that created it may use it.
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
    private let heartbeat: Heartbeat
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
        try Self.load(library: environment[Self.libraryVariable])
        // Gradient sums are large and in place; for those Open MPI's nonblocking collectives (libnbc) pick a
        // binomial tree, which moves every byte log2(N) times through rank 0. The ring moves 2(N-1)/N of
        // them per rank, the least any allreduce can, so ask for it unless the user chose an algorithm.
        if environment[Self.allreduceAlgorithmVariable] == nil { setenv(Self.allreduceAlgorithmVariable, "1", 0) }
        try MPICall.check(kiln_mpi_init(), "MPI_Init_thread", rank: -1)
        var rank: Int32 = 0
        var size: Int32 = 0
        var localRank: Int32 = 0
        var localSize: Int32 = 0
        try MPICall.check(kiln_mpi_rank(&rank), "MPI_Comm_rank", rank: -1)
        try MPICall.check(kiln_mpi_size(&size), "MPI_Comm_size", rank: Int(rank))
        try MPICall.check(kiln_mpi_local_rank(&localRank, &localSize), "MPI_Comm_split_type", rank: Int(rank))
        self.rank = Int(rank)
        self.size = Int(size)
        self.localRank = Int(localRank)
        self.localSize = Int(localSize)
        heartbeat = try Heartbeat(rank: Int(rank), size: Int(size))
        var failure: Int32 = 0
        let host = MPICall.text(capacity: 256) { failure = kiln_mpi_processor_name($0, $1) }
        try MPICall.check(failure, "MPI_Get_processor_name", rank: self.rank)
        hosts = try allgather(host, operation: "exchanging host names")
    }

    // MARK: Collectives

    /// A collective that has started; `wait(for:)` finishes it.
    public final class Pending {
        /// What the collective does, for messages ("gradient allreduce of step 12, bucket 2 of 3").
        public let operation: String
        fileprivate let number: Int64
        fileprivate var request: kiln_mpi_request
        fileprivate init(operation: String, number: Int64, request: kiln_mpi_request) {
            self.operation = operation
            self.number = number
            self.request = request
        }
    }

    /// Starts summing `values` over all ranks in place. The memory must stay put until `wait(for:)` returns.
    public func startSum(_ values: UnsafeMutableBufferPointer<Float>, operation: String) throws -> Pending {
        try start(operation) { request in kiln_mpi_iallreduce_sum_float(values.baseAddress, try count(values.count, operation), &request) }
    }

    /// Waits until `pending` has finished on this rank, letting MPI progress meanwhile. Throws
    /// `DistributedError.timeout` after `timeout` seconds, naming the ranks that never started it.
    public func wait(for pending: Pending) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        var polls = 0
        while true {
            var done: Int32 = 0
            try check(kiln_mpi_test(&pending.request, &done), "MPI_Test")
            if done != 0 { return }
            try heartbeat.poll()
            let waited = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if waited > timeout {
                let late = heartbeat.lateRanks(for: pending.number)
                // Rank 0 hears from every rank, so the others give it a head start to name the late one.
                if late != nil || waited > timeout + min(10, timeout / 4) {
                    throw DistributedError.timeout(rank: rank, operation: pending.operation, seconds: waited, lateRanks: late, hosts: hosts)
                }
            }
            // Spin briefly (a collective usually finishes within microseconds of the last rank joining), then
            // sleep between polls so a long wait leaves the cores to the device.
            polls += 1
            if polls < 20_000 { sched_yield() } else { usleep(200) }
        }
    }

    /// Lets MPI move started collectives along without waiting (call it between other work).
    public func progress(_ pending: [Pending]) throws {
        // MPI_Test marks a finished request null, and a null request tests finished, so `wait(for:)` on it returns at once.
        for collective in pending {
            var done: Int32 = 0
            try check(kiln_mpi_test(&collective.request, &done), "MPI_Test")
        }
        try heartbeat.poll()
    }

    /// Sums `values` over all ranks in place.
    public func sum(_ values: inout [Float], operation: String) throws {
        try values.withUnsafeMutableBufferPointer { buffer in
            for chunk in Self.chunks(buffer.count) {
                let slice = UnsafeMutableBufferPointer(rebasing: buffer[chunk])
                try wait(for: try start(operation) { kiln_mpi_iallreduce_sum_float(slice.baseAddress, Int32(slice.count), &$0) })
            }
        }
    }

    /// Sums `values` over all ranks in place.
    public func sum(_ values: inout [Double], operation: String) throws {
        try values.withUnsafeMutableBufferPointer { buffer in
            for chunk in Self.chunks(buffer.count) {
                let slice = UnsafeMutableBufferPointer(rebasing: buffer[chunk])
                try wait(for: try start(operation) { kiln_mpi_iallreduce_sum_double(slice.baseAddress, Int32(slice.count), &$0) })
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
                try wait(for: try start(operation) {
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
                try wait(for: try start(operation) {
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
        _ = kiln_mpi_abort(code)
        exit(code)
    }

    /// Ends MPI in this process once every rank has called it (MPI_Finalize).
    public func finalize() throws {
        guard !finalized else { return }
        finalized = true
        try heartbeat.close()
        try check(kiln_mpi_finalize(), "MPI_Finalize")
    }

    // MARK: Helpers

    /// The largest count one MPI call takes (its counts are 32-bit).
    static let largestCount = Int(Int32.max)

    /// The ranges of at most `largestCount` elements that cover `count`.
    static func chunks(_ count: Int, largest: Int = largestCount) -> [Range<Int>] {
        stride(from: 0, to: max(count, 1), by: largest).map { $0..<min($0 + largest, count) }
    }

    private func start(_ operation: String, _ call: (inout kiln_mpi_request) throws -> Int32) throws -> Pending {
        let number = try heartbeat.begin()
        var request = kiln_mpi_request()
        try check(try call(&request), operation)
        return Pending(operation: operation, number: number, request: request)
    }

    private func broadcast(bytes: UnsafeMutableRawBufferPointer, from root: Int, operation: String) throws {
        for chunk in Self.chunks(bytes.count) {
            let slice = UnsafeMutableRawBufferPointer(rebasing: bytes[chunk])
            try wait(for: try start(operation) { kiln_mpi_ibroadcast(slice.baseAddress, Int32(slice.count), Int32(root), &$0) })
        }
    }

    private func count(_ count: Int, _ operation: String) throws -> Int32 {
        guard count <= Self.largestCount else {
            throw DistributedError.setting("rank \(rank): \(operation) has \(count) values; one collective takes at most \(Self.largestCount)")
        }
        return Int32(count)
    }

    private func check(_ status: Int32, _ function: String) throws {
        try MPICall.check(status, function, rank: rank)
    }

    private static func load(library path: String?) throws {
        var status: Int32 = 0
        let message = MPICall.text { buffer, capacity in
            status = path.map { path in path.withCString { kiln_mpi_load($0, buffer, capacity) } } ?? kiln_mpi_load(nil, buffer, capacity)
        }
        if status != 0 { throw DistributedError.library(message) }
    }
}
