// Heartbeat: small messages from every rank to rank 0 and from rank 0 to every rank, each saying how many
// collectives the sender has started: one when it starts a collective, and one every half second in any
// case. A collective that times out can then name the ranks that never started it, and those that stopped
// answering altogether (a stopped or frozen process), instead of only saying that it waited.
import CKilnMPI
import Dispatch

/// How far the other ranks have got, counted in collectives started, and when each was last heard.
final class Heartbeat {
    /// The MPI tag of heartbeat messages (no other point-to-point traffic uses this communicator).
    static let tag: Int32 = 0x4B31
    /// Seconds between heartbeats when no collective starts.
    static let interval = 0.5

    let rank: Int
    /// The ranks this one exchanges heartbeats with: every other rank for rank 0, else rank 0.
    let peers: [Int]
    /// Collectives this rank has started.
    private(set) var started: Int64 = 0
    /// The latest count heard from each peer (index in `peers`), and when (uptime in nanoseconds).
    private var heard: [Int64]
    private var heardAt: [UInt64]
    private var sentAt: UInt64 = 0
    // Fixed addresses that nonblocking sends and receives read and write until they finish.
    private let outgoing: UnsafeMutablePointer<Int64>
    private let incoming: UnsafeMutablePointer<Int64>
    private var sends: [kiln_mpi_request?]
    private var receives: [kiln_mpi_request?]

    init(rank: Int, size: Int) throws {
        self.rank = rank
        peers = rank == 0 ? Array(1..<max(size, 1)) : [0]
        heard = [Int64](repeating: 0, count: peers.count)
        heardAt = [UInt64](repeating: DispatchTime.now().uptimeNanoseconds, count: peers.count)
        outgoing = .allocate(capacity: max(peers.count, 1))
        incoming = .allocate(capacity: max(peers.count, 1))
        sends = [kiln_mpi_request?](repeating: nil, count: peers.count)
        receives = [kiln_mpi_request?](repeating: nil, count: peers.count)
        for index in peers.indices { try postReceive(index) }
    }

    deinit {
        outgoing.deallocate()
        incoming.deallocate()
    }

    /// Counts a new collective and tells the peers; returns its number.
    func begin() throws -> Int64 {
        started += 1
        try send()
        return started
    }

    /// Tells the peers the count again when the last message is `interval` old, and takes in theirs.
    func keepAlive() throws {
        if Double(DispatchTime.now().uptimeNanoseconds - sentAt) / 1e9 >= Self.interval { try send() }
        try poll()
    }

    /// Takes in the messages that have arrived.
    func poll() throws {
        for index in peers.indices {
            guard var pending = receives[index] else { continue }
            var done: Int32 = 0
            try check(kiln_mpi_test(&pending, &done), "MPI_Test")
            receives[index] = pending
            if done != 0 {
                heard[index] = max(heard[index], incoming[index])
                heardAt[index] = DispatchTime.now().uptimeNanoseconds
                try postReceive(index)
            }
        }
    }

    /// The peers that have not started collective `number` or have been silent for `silence` seconds, or
    /// nil on a rank other than 0 when rank 0 has started it and answers (only rank 0 hears from every rank).
    func lateRanks(for number: Int64, silence: Double) -> [Int]? {
        let now = DispatchTime.now().uptimeNanoseconds
        let late = peers.indices.filter { heard[$0] < number || Double(now - heardAt[$0]) / 1e9 > silence }.map { peers[$0] }
        return rank != 0 && late.isEmpty ? nil : late
    }

    /// Cancels the receives still posted and lets the last sends finish on their own, before MPI ends.
    func close() throws {
        for index in peers.indices {
            if var pending = receives[index] { try check(kiln_mpi_cancel(&pending), "MPI_Cancel") }
            if var pending = sends[index] { try check(kiln_mpi_release(&pending), "MPI_Request_free") }
            receives[index] = nil
            sends[index] = nil
        }
    }

    /// Sends the count to every peer that has taken in the last message (one that has not is behind
    /// anyway, and will see the next one).
    private func send() throws {
        sentAt = DispatchTime.now().uptimeNanoseconds
        for index in peers.indices {
            if var pending = sends[index] {
                var done: Int32 = 0
                try check(kiln_mpi_test(&pending, &done), "MPI_Test")
                sends[index] = done != 0 ? nil : pending
                if done == 0 { continue }
            }
            outgoing[index] = started
            var request = kiln_mpi_request()
            try check(kiln_mpi_isend_int64(outgoing + index, Int32(peers[index]), Self.tag, &request), "MPI_Isend")
            sends[index] = request
        }
        try poll()
    }

    private func postReceive(_ index: Int) throws {
        var request = kiln_mpi_request()
        try check(kiln_mpi_irecv_int64(incoming + index, Int32(peers[index]), Self.tag, &request), "MPI_Irecv")
        receives[index] = request
    }

    private func check(_ status: Int32, _ function: String) throws {
        try MPICall.check(status, function, rank: rank)
    }
}
