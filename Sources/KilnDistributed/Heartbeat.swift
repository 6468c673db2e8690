// Heartbeat: one 8-byte message per collective from every rank to rank 0 and from rank 0 to every rank,
// saying how many collectives the sender has started. A collective that times out can then name the
// ranks that never started it, instead of only saying that it waited.
import CKilnMPI

/// How far the other ranks have got, counted in collectives started.
final class Heartbeat {
    /// The MPI tag of heartbeat messages (no other point-to-point traffic uses this communicator).
    static let tag: Int32 = 0x4B31

    let rank: Int
    /// The ranks this one exchanges heartbeats with: every other rank for rank 0, else rank 0.
    let peers: [Int]
    /// Collectives this rank has started.
    private(set) var started: Int64 = 0
    /// The latest count heard from each peer (index in `peers`).
    private var heard: [Int64]
    // Fixed addresses that nonblocking sends and receives read and write until they finish.
    private let outgoing: UnsafeMutablePointer<Int64>
    private let incoming: UnsafeMutablePointer<Int64>
    private var sends: [kiln_mpi_request?]
    private var receives: [kiln_mpi_request?]

    init(rank: Int, size: Int) throws {
        self.rank = rank
        peers = rank == 0 ? Array(1..<max(size, 1)) : [0]
        heard = [Int64](repeating: 0, count: peers.count)
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

    /// Counts a new collective and tells the peers; returns its number. A peer still reading the last
    /// message is not sent another (it is behind anyway, and will see the next one).
    func begin() throws -> Int64 {
        started += 1
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
        return started
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
                try postReceive(index)
            }
        }
    }

    /// The peers that have not started collective `number`, or nil on a rank other than 0 when rank 0 has
    /// (only rank 0 hears from every rank).
    func lateRanks(for number: Int64) -> [Int]? {
        let late = peers.indices.filter { heard[$0] < number }.map { peers[$0] }
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

    private func postReceive(_ index: Int) throws {
        var request = kiln_mpi_request()
        try check(kiln_mpi_irecv_int64(incoming + index, Int32(peers[index]), Self.tag, &request), "MPI_Irecv")
        receives[index] = request
    }

    private func check(_ status: Int32, _ function: String) throws {
        try MPICall.check(status, function, rank: rank)
    }
}
