// DistributedTrainer: a `Trainer`'s run, data-parallel over the ranks of an MPI job, as a task of the one
// training loop. Every rank builds the same trainer (model, optimizer, data, normalisation) and walks the
// same global batches; each trains on its share of every batch through the trainer's step, whose gradient
// reducer (`GradientAllreduce`) sums the gradients over the ranks before the update. After every epoch the
// ranks average their running statistics, check that their copies are still identical, and evaluate. Rank 0
// alone writes checkpoints (the caller does); they hold the global position and so resume with any number
// of ranks.
import Foundation
import Kiln

/// Trains a `Trainer`'s model on every rank of `communicator` together.
public final class DistributedTrainer: TrainingTask {
    public let trainer: Trainer
    public let communicator: Communicator
    public let reducer: GradientAllreduce
    /// Polled before every step: true on any rank stops every rank after that step (a Ctrl-C one rank got).
    public var interrupted: () -> Bool = { false }
    /// Whether some rank asked to stop at the last step; the loop's `shouldStop` hook should include it.
    public private(set) var stopAgreed = false
    private var prefetch: Prefetcher<Batch>?

    /// Wraps `trainer` (built alike on every rank) and gives its step the gradient allreduce.
    public init(
        trainer: Trainer, communicator: Communicator, firstBucketBytes: Int = BucketLayout.defaultFirstBytes,
        bucketBytes: Int = BucketLayout.defaultBytes
    ) throws {
        self.trainer = trainer
        self.communicator = communicator
        reducer = GradientAllreduce(communicator: communicator, firstBucketBytes: firstBucketBytes, bucketBytes: bucketBytes)
        reducer.prepare(parameterCounts: trainer.step.parameters.map(\.variable.shape.count))
        trainer.step.gradientReducer = reducer
        guard trainer.configuration.batchSize >= communicator.size else {
            throw DistributedError.mismatch(
                rank: communicator.rank,
                "a batch of \(trainer.configuration.batchSize) cannot be split across \(communicator.size) ranks; give each rank at least one example (--batch-size \(communicator.size) or more)"
            )
        }
    }

    /// The rows of a global batch of `count` examples that `rank` of `size` trains on: contiguous, sizes
    /// differing by at most one.
    public static func share(of count: Int, rank: Int, size: Int) -> Range<Int> {
        (rank * count / size)..<((rank + 1) * count / size)
    }

    /// This rank's share of a global batch.
    public var shareShape: Shape {
        let batch = trainer.batchShape
        let rows = Self.share(of: batch[0], rank: communicator.rank, size: communicator.size)
        return Shape([rows.count] + batch.dimensions.dropFirst())
    }

    /// Everything the ranks must hold alike: the model's parameters and buffers and the optimizer's state.
    public var replica: ReplicaState { ReplicaState(trainer.model.state + trainer.optimizer.state, communicator: communicator) }

    /// Starts every rank from rank 0's state: a fresh model, or the run in `resuming` (only rank 0 reads
    /// it: the other ranks' hosts need not have it). Returns the finished epochs' metrics, the same on every
    /// rank (decisions such as early stopping read them).
    public func start(resuming run: RunFolder? = nil) throws -> [EpochReport] {
        try checkSettingsAgree()
        // Compiling the step creates the optimizer's state, which the broadcast below fills.
        _ = try trainer.step.plans(for: [shareShape])
        var reports: [EpochReport] = []
        var position = ""
        if communicator.rank == 0, let run {
            reports = try run.resume(trainer)
            position = "\(trainer.epoch) \(trainer.batchInEpoch) \(trainer.step.step)"
        }
        position = try communicator.broadcast(position, operation: "broadcast of the position in training")
        // Property lists carry any double, NaN included, which JSON does not.
        let metrics = try communicator.broadcast(
            communicator.rank == 0 ? try PropertyListEncoder().encode(reports).base64EncodedString() : "",
            operation: "broadcast of the finished epochs' metrics")
        reports = try PropertyListDecoder().decode([EpochReport].self, from: Data(base64Encoded: metrics) ?? Data())
        let numbers = position.split(separator: " ").compactMap { Int($0) }
        if numbers.count == 3 {
            trainer.loop.position = TrainingPosition(epoch: numbers[0], batch: numbers[1])
            trainer.step.step = numbers[2]
        }
        try replica.broadcastFromRankZero()
        return reports
    }

    /// The trainer's hooks, with `shouldStop` also true once the ranks agreed to stop.
    public func hooks(
        shouldStop: @escaping () -> Bool = { false },
        batchEnded: @escaping (_ position: TrainingPosition, _ batches: Int, _ loss: Float) throws -> Void = { _, _, _ in },
        epochEnded: @escaping (EpochReport) throws -> Void = { _ in }
    ) -> TrainingHooks<EpochReport> {
        trainer.hooks(shouldStop: { [unowned self] in stopAgreed || shouldStop() }, batchEnded: batchEnded, epochEnded: epochEnded)
    }

    // MARK: The loop's task

    public var batchesPerEpoch: Int { trainer.batchesPerEpoch }
    public var emptyEpochReason: String { trainer.emptyEpochReason }

    public func beginEpoch(_ epoch: Int, at batch: Int) throws {
        let batches = trainer.trainingBatches
        let order = batches.order(epoch: epoch)
        prefetch = Prefetcher(batch..<batches.count) { try batches.batch($0, order: order) }
    }

    /// Trains this rank's share of global batch `batch`; returns the whole batch's loss (the same on every rank).
    public func trainBatch(_ batch: Int, learningRate: Double) throws -> Float {
        guard let next = try prefetch?.next() else { preconditionFailure("[distributed trainer] batch \(batch) was not prepared") }
        let rows = Self.share(of: next.count, rank: communicator.rank, size: communicator.size)
        let inputWidth = next.inputs.count / next.count
        let shape = shareShape
        let step = trainer.step
        reducer.weight = Float(rows.count) / Float(next.count)
        reducer.stopRequested = interrupted()
        reducer.localLoss = { try step.plans(for: [shape])[0].output(0)[0] }
        try step(
            [Array(next.inputs[rows.lowerBound * inputWidth..<rows.upperBound * inputWidth]), Array(next.labels[rows])], shapes: [shape],
            learningRate: learningRate)
        stopAgreed = reducer.anyRankStopped
        return reducer.loss
    }

    /// Averages running statistics over the ranks, checks that every rank holds the same state, then lets the
    /// trainer evaluate (every rank alike, on identical weights) and report the epoch.
    public func endEpoch(_ epoch: Int, training: EpochTraining) throws -> EpochReport {
        prefetch = nil
        let buffers = trainer.model.buffers
        if !buffers.isEmpty { try ReplicaState(buffers, communicator: communicator).average() }
        try replica.verify(epoch: epoch + 1)
        return try trainer.endEpoch(epoch, training: training)
    }

    // MARK: Agreement

    /// Refuses to start when some rank was given another configuration or another data set than rank 0:
    /// its shares and gradients would not fit the others'.
    private func checkSettingsAgree() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = trainer.data
        let text =
            String(decoding: try encoder.encode(trainer.configuration), as: UTF8.self)
            + " \(data.training.count) \(data.test.count) \(data.imageShape) \(data.classCount)"
        let fingerprints = try communicator.allgather(Self.fingerprint(text), operation: "comparing the ranks' settings")
        let differing = fingerprints.indices.filter { fingerprints[$0] != fingerprints[0] }
        guard differing.isEmpty else {
            throw DistributedError.mismatch(
                rank: communicator.rank,
                "rank\(differing.count == 1 ? "" : "s") \(differing.map(String.init).joined(separator: ", ")) got other settings or another data set than rank 0 (\(data.name): \(data.training.count) training images); give every rank the same command line and data"
            )
        }
    }

    /// FNV-1a of `text`'s bytes.
    static func fingerprint(_ text: String) -> UInt64 {
        text.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
    }
}
