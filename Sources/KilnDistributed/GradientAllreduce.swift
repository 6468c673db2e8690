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
    /// Waiting for the allreduces after the backward pass (the communication nothing hid).
    public var waitSeconds = 0.0
    /// Buckets whose allreduce started from within the backward pass (as its gradients finished), and all buckets.
    public var bucketsStartedEarly = 0
    public var buckets = 0
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

    /// Copies finished gradients into their buckets and starts each bucket's allreduce once it is full and the
    /// buckets before it have started (every rank must start collectives in the same order).
    public func gradientsFinished(_ indices: [Int], read: (Int) throws -> [Float], step: Int) throws {
        guard let storage = prepared(step: step) else { return }
        let start = DispatchTime.now().uptimeNanoseconds
        for index in indices { try deliver(index, values: try read(index), into: storage) }
        exchange.timings.gatherSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        try startFullBuckets(storage, step: step)
        exchange.timings.bucketsStartedEarly = exchange.started.count
    }

    /// Fills what `gradientsFinished` did not deliver from the buffers, finishes every bucket's allreduce and
    /// writes the sums back into the buffers.
    public func reduce(_ gradients: [NamedVariable], step: Int) throws {
        let storage = try buckets(for: gradients)
        _ = prepared(step: step)
        let start = DispatchTime.now().uptimeNanoseconds
        for index in gradients.indices where !exchange.delivered[index] {
            try deliver(index, values: try gradients[index].variable.value.floats(), into: storage)
        }
        exchange.timings.gatherSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        try startFullBuckets(storage, step: step)
        let waitStart = DispatchTime.now().uptimeNanoseconds
        for collective in exchange.started { try communicator.wait(for: collective) }
        exchange.timings.waitSeconds = Double(DispatchTime.now().uptimeNanoseconds - waitStart) / 1e9
        let layout = storage.layout
        for (index, slots) in layout.buckets.enumerated() {
            let bucket = storage.bucket(index)
            for slot in slots {
                let variable = gradients[gradients.count - 1 - slot.gradient].variable
                try variable.load(Array(UnsafeBufferPointer(rebasing: bucket[slot.offset..<slot.offset + variable.shape.count])))
            }
        }
        loss = storage.extras[0]
        anyRankStopped = storage.extras[1] > 0
        exchange.timings.buckets = layout.buckets.count
        timings = exchange.timings
        exchange = Exchange(step: 0, gradients: gradients.count)
    }

    /// One step's progress: which gradients are in their buckets and which allreduces have started.
    private struct Exchange {
        var step: Int
        var delivered: [Bool]
        var started: [Communicator.Pending] = []
        var timings = ExchangeTimings()
        init(step: Int, gradients: Int) {
            self.step = step
            delivered = [Bool](repeating: false, count: gradients)
        }
    }
    private var exchange = Exchange(step: 0, gradients: 0)

    /// The buckets, with the exchange set up for `step` (nil before the first `reduce` has sized them).
    private func prepared(step: Int) -> BucketStorage? {
        guard let storage else { return nil }
        if exchange.step != step { exchange = Exchange(step: step, gradients: exchange.delivered.count) }
        return storage
    }

    /// Writes gradient `index` (in parameter order), times this rank's weight, into its bucket.
    private func deliver(_ index: Int, values: [Float], into storage: BucketStorage) throws {
        let place = storage.layout.places[exchange.delivered.count - 1 - index]
        Self.write(values, scaledBy: weight, into: storage.bucket(place.bucket), at: place.offset)
        exchange.delivered[index] = true
    }

    /// Starts, in order, every bucket whose gradients have all been delivered (the first also takes the loss
    /// and the stop flag).
    private func startFullBuckets(_ storage: BucketStorage, step: Int) throws {
        let layout = storage.layout
        let count = exchange.delivered.count
        while exchange.started.count < layout.buckets.count {
            let index = exchange.started.count
            guard layout.buckets[index].allSatisfy({ exchange.delivered[count - 1 - $0.gradient] }) else { return }
            if index == 0 {
                storage.extras[0] = try localLoss() * weight
                storage.extras[1] = stopRequested ? 1 : 0
            }
            exchange.started.append(
                try communicator.startSum(
                    storage.bucket(index), operation: "gradient allreduce of step \(step) (bucket \(index + 1) of \(layout.buckets.count))")
            )
        }
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

    /// Makes the buckets for gradients of these sizes (in parameter order) before the first step, so that
    /// the first step's exchange can overlap its backward pass too.
    public func prepare(parameterCounts: [Int]) {
        guard storage == nil else { return }
        storage = BucketStorage(layout(parameterCounts: parameterCounts))
        exchange = Exchange(step: exchange.step, gradients: parameterCounts.count)
    }

    /// The bucket memory for these gradients (made on first use).
    private func buckets(for gradients: [NamedVariable]) throws -> BucketStorage {
        prepare(parameterCounts: gradients.map(\.variable.shape.count))
        guard let storage else { preconditionFailure("[gradient allreduce] no buckets after preparing them") }
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
