// DistributedTrainer: a `Trainer`'s run, data-parallel over the ranks of an MPI job. Every rank builds the
// same trainer (model, optimizer, data, normalisation) and walks the same global batches; each trains on its
// share of every batch through `DataParallelStep`, evaluates its share of the test set, and after every
// epoch the ranks check that their copies are still identical. Rank 0 alone writes checkpoints, which hold
// the global position (epoch, batch, step) and so resume with any number of ranks.
import Foundation
import Kiln

/// Trains a `Trainer`'s model on every rank of `communicator` together.
public final class DistributedTrainer {
    public let trainer: Trainer
    public let communicator: Communicator
    public let step: DataParallelStep
    /// The next epoch to train (from 0) and the next global batch within it.
    public private(set) var epoch = 0
    public private(set) var batchInEpoch = 0

    /// Wraps `trainer` (built alike on every rank) and compiles its data-parallel step.
    public init(
        trainer: Trainer, communicator: Communicator, firstBucketBytes: Int = BucketLayout.defaultFirstBytes,
        bucketBytes: Int = BucketLayout.defaultBytes
    ) throws {
        self.trainer = trainer
        self.communicator = communicator
        step = DataParallelStep(
            model: trainer.model, optimizer: trainer.optimizer, loss: .softmaxCrossEntropy, clipNorm: trainer.configuration.clipNorm,
            seed: trainer.configuration.seed, communicator: communicator, firstBucketBytes: firstBucketBytes, bucketBytes: bucketBytes)
        let batches = trainer.trainingBatches
        try step.prepare(batchShape: batches.shape(count: batches.batchSize), on: trainer.device)
    }

    /// Everything the ranks must hold alike: the model's parameters and buffers and the optimizer's state.
    public var replica: ReplicaState { ReplicaState(trainer.model.state + trainer.optimizer.state, communicator: communicator) }

    /// Starts every rank from rank 0's state: a fresh model, or the checkpoint at `checkpoint`, which only
    /// rank 0 reads (the other ranks' hosts need not have it).
    public func start(resumingFrom checkpoint: URL? = nil) throws {
        try checkSettingsAgree()
        var position = ""
        if communicator.rank == 0, let checkpoint {
            try trainer.resume(from: checkpoint)
            position = "\(trainer.epoch) \(trainer.batchInEpoch) \(trainer.step.step)"
        }
        position = try communicator.broadcast(position, operation: "broadcast of the position in training")
        let numbers = position.split(separator: " ").compactMap { Int($0) }
        if numbers.count == 3 {
            epoch = numbers[0]
            batchInEpoch = numbers[1]
            step.step = numbers[2]
        }
        try replica.broadcastFromRankZero()
    }

    /// Refuses to start when some rank was given another configuration or another data set than rank 0:
    /// its shares and gradients would not fit the others'.
    private func checkSettingsAgree() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = trainer.data
        let text = String(decoding: try encoder.encode(trainer.configuration), as: UTF8.self)
            + " \(data.training.count) \(data.test.count) \(data.training.rows)x\(data.training.columns)"
        let fingerprints = try communicator.allgather(Self.fingerprint(text), operation: "comparing the ranks' settings")
        let differing = fingerprints.indices.filter { fingerprints[$0] != fingerprints[0] }
        guard differing.isEmpty else {
            throw DistributedError.mismatch(
                rank: communicator.rank,
                "rank\(differing.count == 1 ? "" : "s") \(differing.map(String.init).joined(separator: ", ")) got other settings or another data set than rank 0 (\(data.training.count) training images); give every rank the same command line and data")
        }
    }

    /// FNV-1a of `text`'s bytes.
    static func fingerprint(_ text: String) -> UInt64 {
        text.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
    }

    /// Trains until the end of the current epoch, or after the step numbered `stepLimit`, or after the step
    /// at which any rank's `interrupted()` was true (all ranks stop after the same step); returns nil when it
    /// stopped early. `progress(batch, batches, loss)` sees the whole batch's loss after each step. At the end
    /// of an epoch it averages running statistics, checks that the ranks agree, and evaluates on the test set.
    public func trainEpoch(
        stepLimit: Int? = nil, progress: (Int, Int, Float) -> Void = { _, _, _ in }, interrupted: () -> Bool = { false }
    ) throws -> EpochReport? {
        let batches = trainer.trainingBatches
        let order = batches.order(epoch: epoch)
        let learningRate = trainer.configuration.learningRate(epoch: epoch)
        let prefetch = Prefetcher(batchInEpoch..<batches.count) { batches.batch($0, order: order) }
        let start = Date()
        var lossSum = 0.0
        var images = 0
        while let batch = prefetch.next() {
            if let stepLimit, step.step >= stepLimit { return nil }
            let result = try step(
                inputs: batch.inputs, shape: batches.shape(count: batch.count), targets: batch.labels, learningRate: learningRate,
                on: trainer.device, stop: interrupted())
            lossSum += Double(result.loss) * Double(batch.count)
            images += batch.count
            batchInEpoch += 1
            progress(batchInEpoch, batches.count, result.loss)
            if result.stop { return nil }
        }
        let seconds = Date().timeIntervalSince(start)
        let buffers = trainer.model.buffers
        if !buffers.isEmpty { try ReplicaState(buffers, communicator: communicator).average() }
        try replica.verify(epoch: epoch + 1)
        let test = try evaluate(trainer.data.test)
        let report = EpochReport(
            epoch: epoch + 1, trainLoss: lossSum / Double(max(images, 1)), testLoss: test.loss, testAccuracy: test.accuracy,
            imagesPerSecond: Double(images) / max(seconds, 1e-9), seconds: seconds, learningRate: learningRate)
        epoch += 1
        batchInEpoch = 0
        return report
    }

    /// The trainer's evaluation on `set`, each rank evaluating its share of the examples.
    public func evaluate(_ set: LabeledImages) throws -> EvaluationReport {
        let rows = DataParallelStep.share(of: set.count, rank: communicator.rank, size: communicator.size)
        let pixels = set.rows * set.columns
        let share = LabeledImages(
            pixels: Array(set.pixels[rows.lowerBound * pixels..<rows.upperBound * pixels]), labels: Array(set.labels[rows]),
            rows: set.rows, columns: set.columns)
        let own = try rows.isEmpty ? nil : trainer.evaluate(share)
        let classes = try communicator.allgather(UInt64(own?.confusion.count ?? 0), operation: "evaluation's class count")
        let width = Int(classes.max() ?? 0)
        // Sums over the ranks: loss, correct answers, and the confusion matrix (every count exact in a double).
        var sums = [(own?.loss ?? 0) * Double(rows.count), ((own?.accuracy ?? 0) * Double(rows.count)).rounded()]
        sums += (0..<width * width).map { index in
            guard let confusion = own?.confusion, index / width < confusion.count, index % width < confusion[index / width].count else { return 0 }
            return Double(confusion[index / width][index % width])
        }
        try communicator.sum(&sums, operation: "evaluation sums")
        return EvaluationReport(
            loss: sums[0] / Double(max(set.count, 1)), accuracy: sums[1] / Double(max(set.count, 1)),
            confusion: (0..<width).map { row in (0..<width).map { Int(sums[2 + row * width + $0]) } })
    }

    /// Writes the checkpoint on rank 0 (the other ranks return at once): the model, the optimizer state and
    /// the global position, as `Trainer.saveCheckpoint` writes them.
    public func saveCheckpoint(to url: URL) throws {
        guard communicator.rank == 0 else { return }
        let configuration = String(decoding: try JSONEncoder().encode(trainer.configuration), as: UTF8.self)
        try Checkpoint.save(
            model: trainer.model.state, optimizer: trainer.optimizer.state,
            metadata: [
                "format": "pt", "kiln.epoch": "\(epoch)", "kiln.batch": "\(batchInEpoch)", "kiln.step": "\(step.step)",
                "kiln.configuration": configuration,
            ], to: url)
    }
}
