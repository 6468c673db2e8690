// GradientBuckets: a step's gradients grouped into a few host buffers, each summed over the ranks by one
// allreduce. Buckets follow the order in which the backward pass finishes the gradients (the last layer's
// first), so the first bucket can be on the network while the backward pass computes the rest; as in
// PyTorch's DDP, the first bucket is small (1 MiB) so that it fills early, and the others are large (25 MiB)
// so that few collectives pay the network's latency.
import Foundation

/// Which gradients share a bucket, and where each sits in it.
public struct BucketLayout: Sendable {
    /// One gradient's place: its position in the order gradients finish, and its first float in the bucket.
    public struct Slot: Equatable, Sendable {
        public let gradient: Int
        public let offset: Int
    }

    /// Default capacity of the first bucket (PyTorch DDP: 1 MiB).
    public static let defaultFirstBytes = 1 << 20
    /// Default capacity of the later buckets (PyTorch DDP's `bucket_cap_mb`: 25 MiB).
    public static let defaultBytes = 25 << 20

    /// The gradients of each bucket, as positions in the order they finish, and their offsets in it.
    public let buckets: [[Slot]]
    /// The floats each bucket holds, its gradients and then `extraCount` more in the first bucket.
    public let counts: [Int]
    /// Floats after the first bucket's gradients that travel with them (the loss, the stop flag).
    public let extraCount: Int
    /// Where each gradient goes (by its position in the order they finish): its bucket and its first float there.
    public let places: [(bucket: Int, offset: Int)]

    /// Groups gradients of `gradientCounts` floats (in the order they finish) into buckets of at most
    /// `firstBytes` (the first) and `bytes` (the others); a gradient larger than that gets a bucket of its own.
    public init(gradientCounts: [Int], firstBytes: Int = defaultFirstBytes, bytes: Int = defaultBytes, extraCount: Int = 0) {
        var buckets: [[Slot]] = []
        var counts: [Int] = []
        var current: [Slot] = []
        var filled = 0
        for (gradient, count) in gradientCounts.enumerated() {
            let capacity = (buckets.isEmpty ? firstBytes : bytes) / MemoryLayout<Float>.size
            if !current.isEmpty, filled + count > capacity {
                buckets.append(current)
                counts.append(filled)
                current = []
                filled = 0
            }
            current.append(Slot(gradient: gradient, offset: filled))
            filled += count
        }
        if !current.isEmpty || buckets.isEmpty {
            buckets.append(current)
            counts.append(filled)
        }
        counts[0] += extraCount
        places = buckets.enumerated().flatMap { index, slots in slots.map { (bucket: index, offset: $0.offset) } }
        self.buckets = buckets
        self.counts = counts
        self.extraCount = extraCount
    }
}

/// Host memory for each bucket, at fixed addresses for the nonblocking allreduces that read and write it.
final class BucketStorage {
    let layout: BucketLayout
    private let allocations: [UnsafeMutablePointer<Float>]

    init(_ layout: BucketLayout) {
        self.layout = layout
        allocations = layout.counts.map { count in
            let allocation = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            allocation.initialize(repeating: 0, count: max(count, 1))
            return allocation
        }
    }

    deinit {
        for allocation in allocations { allocation.deallocate() }
    }

    /// Bucket `index`'s floats.
    func bucket(_ index: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: allocations[index], count: layout.counts[index])
    }

    /// The first bucket's extra floats, after its gradients.
    var extras: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: allocations[0] + (layout.counts[0] - layout.extraCount), count: layout.extraCount)
    }
}
