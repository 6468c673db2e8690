// ReplicaState: what keeps the ranks' copies of one model identical. Rank 0's state is broadcast at the start
// (a fresh model or a resumed checkpoint that only rank 0 read); running statistics, which each rank computes
// on its own share, are averaged; and a fingerprint of every tensor is compared across ranks after each epoch,
// so ranks that drift apart stop the job instead of silently training different models.
import Foundation
import Kiln

/// The tensors every rank must hold alike: parameters, buffers and optimizer state.
public struct ReplicaState {
    public let variables: [NamedVariable]
    public let communicator: Communicator

    public init(_ variables: [NamedVariable], communicator: Communicator) {
        self.variables = variables
        self.communicator = communicator
    }

    /// Replaces every rank's values with rank 0's.
    public func broadcastFromRankZero() throws {
        for (name, variable) in variables {
            var values = try variable.value.floats()
            try communicator.broadcast(&values, from: 0, operation: "broadcast of \(name) from rank 0")
            if communicator.rank != 0 { try variable.load(values) }
        }
    }

    /// Replaces every rank's values with their mean over the ranks (for running statistics).
    public func average() throws {
        for (name, variable) in variables {
            var values = try variable.value.floats().map(Double.init)
            try communicator.sum(&values, operation: "averaging \(name)")
            try variable.load(values.map { Float($0 / Double(communicator.size)) })
        }
    }

    /// FNV-1a over the bits of every value, in order: equal on two ranks exactly when their values are.
    public func fingerprint() throws -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for (_, variable) in variables {
            for value in try variable.value.floats() {
                hash = (hash ^ UInt64(value.bitPattern)) &* 0x0000_0100_0000_01B3
            }
        }
        return hash
    }

    /// Compares the ranks' fingerprints; when any differs from rank 0's, finds the largest difference
    /// from rank 0's values and throws `DistributedError.drift` on every rank.
    public func verify(epoch: Int) throws {
        let fingerprints = try communicator.allgather(try fingerprint(), operation: "parameter checksum after epoch \(epoch)")
        let differing = fingerprints.indices.filter { fingerprints[$0] != fingerprints[0] }
        guard !differing.isEmpty else { return }
        // Each rank's largest difference from rank 0 and the tensor it is in, packed into one word to share.
        var largest: Float = 0
        var worstTensor = 0
        for (index, (name, variable)) in variables.enumerated() {
            let own = try variable.value.floats()
            var reference = own
            try communicator.broadcast(&reference, from: 0, operation: "rank 0's \(name) to find the drift")
            for (mine, theirs) in zip(own, reference) where abs(mine - theirs) > largest || (mine - theirs).isNaN {
                largest = abs(mine - theirs)
                worstTensor = index
            }
        }
        let packed = try communicator.allgather(UInt64(worstTensor) << 32 | UInt64(largest.bitPattern), operation: "sharing the drift")
        let worst = packed.map { (tensor: Int($0 >> 32), difference: Float(bitPattern: UInt32(truncatingIfNeeded: $0))) }
            .max { $0.difference < $1.difference || $1.difference.isNaN }
        throw DistributedError.drift(
            rank: communicator.rank, epoch: epoch, differingRanks: differing, largestDifference: worst?.difference,
            tensor: worst.map { variables[$0.tensor].name })
    }
}
