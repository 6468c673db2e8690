// GradientAllreduce: the `GradientReducer` of data-parallel training. Between a step's backward pass and its
// update it sums every rank's gradients over MPI, each weighted by the rank's part of the global batch, so
// every rank applies the update of the whole batch. Gradients travel in buckets (`BucketLayout`), each summed
// by one allreduce started as soon as its gradients are on the host; the first bucket also carries the loss
// and a stop flag, so one step costs no other collective.
import Foundation
import Kiln

/// Where this rank's time went in the last step's gradient exchange.
public struct ExchangeTimings: Sendable {
    /// Reading finished gradients into the buckets (this waits for the device to compute them).
    public var gatherSeconds = 0.0
    /// Waiting for the allreduces after the last bucket started (the communication nothing hid).
    public var waitSeconds = 0.0
}

/// Sums gradients over the ranks of `communicator`, bucketed.
public final class GradientAllreduce: GradientReducer {
    public let communicator: Communicator
    /// Bucket capacities in bytes: the first bucket, then the others.
    public let firstBucketBytes: Int
    public let bucketBytes: Int

    /// This rank's part of the global batch (its examples over the batch's): the factor on its gradients and
    /// loss, each a mean over its own examples, before the sum. 1 on one rank, a power of two for equal
    /// shares on 2, 4, ... ranks (exact in floating point).
    public var weight: Float = 1
    /// Reads this rank's loss for the step being reduced (set by the trainer before each step).
    public var localLoss: () throws -> Float = { .nan }
    /// Whether this rank asks every rank to stop after the step being reduced (a Ctrl-C it received).
    public var stopRequested = false

    /// After a step: the global batch's loss, and whether any rank asked to stop.
    public private(set) var loss: Float = .nan
    public private(set) var anyRankStopped = false
    /// The last step's timings on this rank.
    public private(set) var timings = ExchangeTimings()

    private var storage: BucketStorage?
    private var pending: [Communicator.Pending] = []

    public init(
        communicator: Communicator, firstBucketBytes: Int = BucketLayout.defaultFirstBytes, bucketBytes: Int = BucketLayout.defaultBytes
    ) {
        self.communicator = communicator
        self.firstBucketBytes = firstBucketBytes
        self.bucketBytes = bucketBytes
    }

    /// The buckets for gradients of these sizes, in parameter order; they are filled last parameter first,
    /// the order in which the backward pass finishes them.
    public func layout(parameterCounts: [Int]) -> BucketLayout {
        BucketLayout(gradientCounts: parameterCounts.reversed(), firstBytes: firstBucketBytes, bytes: bucketBytes, extraCount: 2)
    }

    public func reduce(_ gradients: [NamedVariable], step: Int) throws {
        let storage = try buckets(for: gradients)
        let layout = storage.layout
        let count = gradients.count
        var timings = ExchangeTimings()
        pending = []
        for (index, slots) in layout.buckets.enumerated() {
            let start = DispatchTime.now().uptimeNanoseconds
            let bucket = storage.bucket(index)
            for slot in slots {
                let values = try gradients[count - 1 - slot.gradient].variable.value.floats()
                Self.write(values, scaledBy: weight, into: bucket, at: slot.offset)
            }
            if index == 0 {
                storage.extras[0] = try localLoss() * weight
                storage.extras[1] = stopRequested ? 1 : 0
            }
            timings.gatherSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            pending.append(try communicator.startSum(bucket, operation: "gradient allreduce of step \(step) (bucket \(index + 1) of \(layout.buckets.count))"))
        }
        let waitStart = DispatchTime.now().uptimeNanoseconds
        for collective in pending { try communicator.wait(for: collective) }
        timings.waitSeconds = Double(DispatchTime.now().uptimeNanoseconds - waitStart) / 1e9
        pending = []
        for (index, slots) in layout.buckets.enumerated() {
            let bucket = storage.bucket(index)
            for slot in slots {
                let variable = gradients[count - 1 - slot.gradient].variable
                try variable.load(Array(UnsafeBufferPointer(rebasing: bucket[slot.offset..<slot.offset + variable.shape.count])))
            }
        }
        loss = storage.extras[0]
        anyRankStopped = storage.extras[1] > 0
        self.timings = timings
    }

    /// Seconds each of `repetitions` rounds of the bucket allreduces takes on its own, with nothing to hide
    /// behind (after at least one step; every rank must call it). The buckets' contents are left undefined.
    public func timeAllreduce(repetitions: Int) throws -> [Double] {
        guard let storage else { return [] }
        return try (0..<repetitions).map { repetition in
            let start = DispatchTime.now().uptimeNanoseconds
            let started = try storage.layout.counts.indices.map { index in
                try communicator.startSum(storage.bucket(index), operation: "timed allreduce \(repetition + 1) (bucket \(index + 1))")
            }
            for collective in started { try communicator.wait(for: collective) }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
    }

    /// The bucket memory for these gradients (made on first use).
    private func buckets(for gradients: [NamedVariable]) throws -> BucketStorage {
        if let storage { return storage }
        let storage = BucketStorage(layout(parameterCounts: gradients.map(\.variable.shape.count)))
        self.storage = storage
        return storage
    }

    /// Copies `values`, times `scale` (skipped for 1, so one rank adds no rounding), into `bucket` from `offset`.
    private static func write(_ values: [Float], scaledBy scale: Float, into bucket: UnsafeMutableBufferPointer<Float>, at offset: Int) {
        let destination = UnsafeMutableBufferPointer(rebasing: bucket[offset..<offset + values.count])
        guard scale != 1 else {
            _ = destination.update(fromContentsOf: values)
            return
        }
        values.withUnsafeBufferPointer { source in
            for index in source.indices { destination[index] = source[index] * scale }
        }
    }
}
