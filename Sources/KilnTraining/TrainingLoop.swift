// TrainingLoop: the one epoch loop every trainer runs (the image classifier, the character LSTM, the GAN).
// A task says how many batches an epoch has and trains one batch; the loop keeps the position (epoch and
// batch, so a run resumes mid-epoch), takes the learning rate from the schedule, guards against a NaN or
// infinite loss, polls for an interrupt between batches, and calls the hooks (per-batch metrics and
// progress, per-epoch checkpoints and metrics files).
import Foundation
import KilnNN

/// Where a run is: epochs finished, and batches done in the current epoch.
public struct TrainingPosition: Codable, Equatable, Sendable {
    public var epoch: Int
    public var batch: Int

    public init(epoch: Int = 0, batch: Int = 0) {
        self.epoch = epoch
        self.batch = batch
    }
}

/// What the loop measured while training one epoch.
public struct EpochTraining: Sendable {
    /// The mean loss over the batches this run of the epoch trained (a resumed epoch counts from where it resumed).
    public var meanLoss: Double
    /// Batches trained in this run of the epoch.
    public var batches: Int
    /// Seconds spent training them (the task's end-of-epoch measurement excluded).
    public var seconds: Double
}

/// Something a `TrainingLoop` trains, an epoch of batches at a time.
public protocol TrainingTask: AnyObject {
    /// What the task reports at the end of an epoch.
    associatedtype EpochReport
    /// Batches in one epoch. The loop refuses to run an epoch with none (`emptyEpochReason` says why).
    var batchesPerEpoch: Int { get }
    /// Why an epoch would have no batches, in words that say what to change (a batch larger than the data set).
    var emptyEpochReason: String { get }
    /// Prepares epoch `epoch`, which starts at batch `batch` (a resumed run starts mid-epoch): shuffles,
    /// resets carried state, starts prefetching.
    func beginEpoch(_ epoch: Int, at batch: Int) throws
    /// Trains the epoch's batch `batch` at `learningRate` and returns its loss (checked by the loop's NaN guard).
    func trainBatch(_ batch: Int, learningRate: Double) throws -> Float
    /// Ends epoch `epoch` (counted from 0) and measures it.
    func endEpoch(_ epoch: Int, training: EpochTraining) throws -> EpochReport
}

/// A batch's loss was NaN or infinite; the loop stops before anything records it.
public struct DivergedError: Error, CustomStringConvertible {
    /// Where it happened (the epoch counted from 1, the batch within it from 1).
    public let epoch: Int
    public let batch: Int
    /// What was not finite, in words (`the loss is nan`).
    public let reason: String

    public init(epoch: Int, batch: Int, reason: String) {
        self.epoch = epoch
        self.batch = batch
        self.reason = reason
    }

    public var description: String {
        "training diverged in epoch \(epoch), batch \(batch): \(reason); lower the learning rate or clip the gradients (--clip-norm)"
    }
}

/// The hooks a loop calls; each is optional.
public struct TrainingHooks<Report> {
    /// The learning rate of an epoch (counted from 0): the schedule.
    public var learningRate: (Int) -> Double
    /// Polled before every batch: true ends the epoch early (an interrupt, a step budget) so the caller can checkpoint.
    public var shouldStop: () -> Bool
    /// After every batch: the position after it, the batches in an epoch and the batch's loss (metrics, progress).
    public var batchEnded: (_ position: TrainingPosition, _ batches: Int, _ loss: Float) throws -> Void
    /// After every finished epoch, with its report: checkpoints and metrics files.
    public var epochEnded: (Report) throws -> Void

    public init(
        learningRate: @escaping (Int) -> Double, shouldStop: @escaping () -> Bool = { false },
        batchEnded: @escaping (_ position: TrainingPosition, _ batches: Int, _ loss: Float) throws -> Void = { _, _, _ in },
        epochEnded: @escaping (Report) throws -> Void = { _ in }
    ) {
        self.learningRate = learningRate
        self.shouldStop = shouldStop
        self.batchEnded = batchEnded
        self.epochEnded = epochEnded
    }
}

/// Runs a task's epochs batch by batch from a position it keeps.
public final class TrainingLoop {
    /// The next epoch to train (from 0) and the next batch within it.
    public var position: TrainingPosition

    public init(position: TrainingPosition = TrainingPosition()) { self.position = position }

    /// Trains the rest of the current epoch (from `position.batch`), then ends it and calls `epochEnded`.
    /// Returns the epoch's report, or nil when `shouldStop` ended it early (the position then names the next
    /// batch, for a checkpoint). Throws `DivergedError` at a NaN or infinite loss, before any hook sees it.
    public func runEpoch<Task: TrainingTask>(_ task: Task, hooks: TrainingHooks<Task.EpochReport>) throws -> Task.EpochReport? {
        try check(task)
        let batches = task.batchesPerEpoch
        let learningRate = hooks.learningRate(position.epoch)
        try task.beginEpoch(position.epoch, at: position.batch)
        let start = Date()
        var lossSum = 0.0
        var trained = 0
        while position.batch < batches {
            if hooks.shouldStop() { return nil }
            let loss = try task.trainBatch(position.batch, learningRate: learningRate)
            guard loss.isFinite else {
                throw DivergedError(epoch: position.epoch + 1, batch: position.batch + 1, reason: "the loss is \(loss)")
            }
            lossSum += Double(loss)
            trained += 1
            position.batch += 1
            try hooks.batchEnded(position, batches, loss)
        }
        let training = EpochTraining(
            meanLoss: lossSum / Double(max(trained, 1)), batches: trained, seconds: Date().timeIntervalSince(start))
        let report = try task.endEpoch(position.epoch, training: training)
        position = TrainingPosition(epoch: position.epoch + 1, batch: 0)
        try hooks.epochEnded(report)
        return report
    }

    /// Throws unless `task`'s epochs have batches and the position lies within one: what `runEpoch` checks
    /// first, for a caller that wants the error before it prepares anything else.
    public func check<Task: TrainingTask>(_ task: Task) throws {
        let batches = task.batchesPerEpoch
        guard batches > 0 else { throw TrainingError.noBatches(reason: task.emptyEpochReason) }
        guard (0..<batches).contains(position.batch) else {
            throw TrainingError.invalidPosition("batch \(position.batch) is outside the \(batches) batches of an epoch")
        }
    }

    /// Trains epochs until `epochs` are finished; returns false when `shouldStop` ended one early.
    @discardableResult
    public func run<Task: TrainingTask>(_ task: Task, epochs: Int, hooks: TrainingHooks<Task.EpochReport>) throws -> Bool {
        while position.epoch < epochs {
            guard try runEpoch(task, hooks: hooks) != nil else { return false }
        }
        return true
    }
}
