// DataParallelStep: one optimisation step of a model replicated on every rank. Each rank runs the forward and
// backward pass on its share of the global batch; the gradients, weighted by each share's size, are summed
// over the ranks in buckets, each bucket's allreduce starting as soon as the backward pass has finished its
// gradients; then every rank applies the same optimizer update to the same summed gradients, so the
// parameters stay identical. With one rank it computes what `TrainingStep` computes.
import Foundation
import Kiln

/// Where a step's time went on this rank.
public struct StepTimings: Sendable {
    /// The whole step, from the first input copied to the update enqueued.
    public var stepSeconds = 0.0
    /// Waiting for allreduces after the backward pass was enqueued (the communication the backward pass did not hide).
    public var waitSeconds = 0.0
    /// Reading finished gradients into the buckets (this waits for the device to reach them).
    public var gatherSeconds = 0.0
}

/// A data-parallel training step: forward, backward, gradient allreduce, update.
public final class DataParallelStep {
    public let model: any Layer
    public let optimizer: any Optimizer
    public let loss: Loss
    /// Clip the summed gradients' global norm to this before the update (nil: no clipping).
    public let clipNorm: Double?
    /// Base seed for dropout masks (each rank mixes in its rank, so shares draw different masks).
    public let seed: UInt64
    public let communicator: Communicator
    /// Bucket capacities in bytes: the first, then the others.
    public let firstBucketBytes: Int
    public let bucketBytes: Int
    /// Steps taken so far (Adam's bias correction counts them).
    public var step = 0
    /// The last step's timings on this rank.
    public private(set) var timings = StepTimings()

    /// Gradients finish in the reverse order of the parameters (the backward pass starts at the last layer).
    private var parameters: [NamedVariable] { model.parameters }
    private var gradientPlans: [Shape: Plan] = [:]
    private var updatePlan: Plan?
    private var storage: BucketStorage?

    public init(
        model: any Layer, optimizer: any Optimizer, loss: Loss, clipNorm: Double? = nil, seed: UInt64 = 0,
        communicator: Communicator, firstBucketBytes: Int = BucketLayout.defaultFirstBytes, bucketBytes: Int = BucketLayout.defaultBytes
    ) {
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.clipNorm = clipNorm
        self.seed = seed
        self.communicator = communicator
        self.firstBucketBytes = firstBucketBytes
        self.bucketBytes = bucketBytes
    }

    /// The rows of a global batch of `count` examples that `rank` of `size` trains on: contiguous, sizes
    /// differing by at most one.
    public static func share(of count: Int, rank: Int, size: Int) -> Range<Int> {
        (rank * count / size)..<((rank + 1) * count / size)
    }

    /// The bucket layout of this model's gradients (the loss and the stop flag travel in the first bucket).
    public var layout: BucketLayout {
        BucketLayout(
            gradientCounts: parameters.reversed().map(\.variable.shape.count), firstBytes: firstBucketBytes, bytes: bucketBytes,
            extraCount: 2)
    }

    /// Compiles the plans for global batches of `shape` and creates the optimizer's state, so that it can be
    /// loaded or broadcast before the first step.
    public func prepare(batchShape shape: Shape, on device: Device) throws {
        _ = try gradientPlan(for: try shareShape(of: shape), batch: shape[0], on: device)
        _ = try update(on: device)
    }

    /// What compiling the forward and backward pass for global batches of `shape` decided, for the log.
    public func report(batchShape shape: Shape, on device: Device) throws -> Plan.Report {
        try gradientPlan(for: try shareShape(of: shape), batch: shape[0], on: device).report
    }

    /// Runs one step on this rank's share of a global batch (`inputs` of `shape`, `targets` per example) and
    /// returns the loss of the whole batch, and whether any rank asked to stop (`stop`) at this step.
    /// Throws `NonFiniteLossError`, on every rank alike, when that loss is NaN or infinite.
    public func callAsFunction(
        inputs: [Float], shape: Shape, targets: [Float], learningRate: Double, on device: Device, stop: Bool = false
    ) throws -> (loss: Float, stop: Bool) {
        let clock = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        let start = clock()
        var timings = StepTimings()
        let batch = shape[0]
        let rows = Self.share(of: batch, rank: communicator.rank, size: communicator.size)
        let inputWidth = inputs.count / batch
        let targetWidth = targets.count / batch
        let plan = try gradientPlan(for: try shareShape(of: shape), batch: batch, on: device)
        let storage = try bucketStorage()
        let layout = storage.layout
        let gradientCount = parameters.count
        var unfinished = layout.buckets.map(\.count)
        let bucketOf = Dictionary(uniqueKeysWithValues: layout.buckets.enumerated().flatMap { bucket, slots in slots.map { ($0.gradient, bucket) } })
        var pending: [Communicator.Pending] = []

        // Buckets start in order (every rank must start collectives in the same order), each once complete.
        func startFinishedBuckets() throws {
            while pending.count < layout.buckets.count, unfinished[pending.count] == 0 {
                let index = pending.count
                let gatherStart = clock()
                let bucket = storage.bucket(index)
                for slot in layout.buckets[index] {
                    let values = try plan.output(1 + slot.gradient)
                    _ = UnsafeMutableBufferPointer(rebasing: bucket[slot.offset..<slot.offset + values.count]).update(fromContentsOf: values)
                }
                if index == 0 {
                    storage.extras[0] = try plan.output(0)[0]
                    storage.extras[1] = stop ? 1 : 0
                }
                timings.gatherSeconds += clock() - gatherStart
                pending.append(try communicator.startSum(
                    bucket, operation: "gradient allreduce of step \(step + 1) (bucket \(index + 1) of \(layout.buckets.count))"))
            }
        }

        try plan.run([Array(inputs[rows.lowerBound * inputWidth..<rows.upperBound * inputWidth]),
                      Array(targets[rows.lowerBound * targetWidth..<rows.upperBound * targetWidth])],
                     salt: UInt64(step + 1)) { outputs in
            for output in outputs where output > 0 {
                if let bucket = bucketOf[output - 1] { unfinished[bucket] -= 1 }
            }
            try startFinishedBuckets()
        }
        try startFinishedBuckets()
        let waitStart = clock()
        for collective in pending { try communicator.wait(for: collective) }
        timings.waitSeconds = clock() - waitStart

        // The summed gradients, back in parameter order, into the update.
        var gradients = [[Float]](repeating: [], count: gradientCount)
        for (index, slots) in layout.buckets.enumerated() {
            let bucket = storage.bucket(index)
            for slot in slots {
                let count = parameters[gradientCount - 1 - slot.gradient].variable.shape.count
                gradients[gradientCount - 1 - slot.gradient] = Array(UnsafeBufferPointer(rebasing: bucket[slot.offset..<slot.offset + count]))
            }
        }
        let update = try update(on: device)
        try update.run(gradients + [optimizer.scalars(step: step + 1, learningRate: learningRate)])
        step += 1
        timings.stepSeconds = clock() - start
        self.timings = timings
        let value = storage.extras[0]
        guard value.isFinite else { throw NonFiniteLossError(step: step, loss: value) }
        return (value, storage.extras[1] > 0)
    }

    /// Seconds each of `repetitions` rounds of this step's bucket allreduces takes on its own, without a
    /// backward pass to hide behind (after at least one step; every rank must call it). The buckets' contents
    /// are left undefined until the next step fills them.
    public func timeAllreduce(repetitions: Int) throws -> [Double] {
        let storage = try bucketStorage()
        return try (0..<repetitions).map { repetition in
            let start = DispatchTime.now().uptimeNanoseconds
            let pending = try storage.layout.counts.indices.map { index in
                try communicator.startSum(storage.bucket(index), operation: "timed allreduce \(repetition + 1) (bucket \(index + 1))")
            }
            for collective in pending { try communicator.wait(for: collective) }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
    }

    // MARK: Compiling

    /// This rank's share of a global batch of `shape`.
    private func shareShape(of shape: Shape) throws -> Shape {
        let rows = Self.share(of: shape[0], rank: communicator.rank, size: communicator.size)
        // Checked the same way on every rank, so every rank stops here together.
        guard shape[0] >= communicator.size else {
            throw DistributedError.mismatch(
                rank: communicator.rank,
                "a batch of \(shape[0]) cannot be split across \(communicator.size) ranks; give each rank at least one example (--batch-size \(communicator.size) or more)")
        }
        return Shape([rows.count] + shape.dimensions.dropFirst())
    }

    /// Forward and backward for a share of `shape`, of a global batch of `batch`: outputs the loss, then the
    /// gradients last layer first; updates running statistics. The loss, a mean over the share, is weighted
    /// by the share's part of the global batch, so that the sums over the ranks are the global batch's mean
    /// loss and its gradients (a weight of 1 for one rank, and a power of two for equal shares on 2, 4, ...
    /// ranks, which rounds nothing).
    private func gradientPlan(for shape: Shape, batch: Int, on device: Device) throws -> Plan {
        if let plan = gradientPlans[shape] { return plan }
        let x = try Tensor([Float](repeating: 0, count: shape.count), shape: shape, on: device)
        let context = ForwardContext(training: true, seed: seed &+ UInt64(communicator.rank) &* 0x9E37_79B9_7F4A_7C15)
        let output = try model.forward(x, context: context)
        let targetShape = loss.targetShape(for: output.shape)
        let targets = try Tensor([Float](repeating: 0, count: targetShape.count), shape: targetShape, on: device)
        let share = shape[0]
        let value = share == batch ? try loss(output, targets) : try loss(output, targets) * (Double(share) / Double(batch))
        let gradients = try KilnCore.gradients(of: value, withRespectTo: parameters.map(\.variable.value))
        let plan = try Plan(inputs: [x, targets], outputs: [value] + gradients.reversed(), updates: context.stateUpdates)
        gradientPlans[shape] = plan
        return plan
    }

    /// The update from summed gradients (clipped when asked), the same on every rank.
    private func update(on device: Device) throws -> Plan {
        if let updatePlan { return updatePlan }
        let inputs = try parameters.map { try Tensor([Float](repeating: 0, count: $0.variable.shape.count), shape: $0.variable.shape, on: device) }
        let scalars = try Tensor([Float](repeating: 0, count: optimizer.scalarCount), shape: [optimizer.scalarCount], on: device)
        var gradients = inputs
        if let clipNorm { gradients = try clipByGlobalNorm(gradients, maxNorm: clipNorm).clipped }
        let plan = try Plan(inputs: inputs + [scalars], outputs: [], updates: try optimizer.updates(parameters: parameters, gradients: gradients, scalars: scalars))
        updatePlan = plan
        return plan
    }

    private func bucketStorage() throws -> BucketStorage {
        if let storage { return storage }
        let storage = BucketStorage(layout)
        self.storage = storage
        return storage
    }
}
