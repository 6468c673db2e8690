// `mpirun -np N kiln train ...`: the same training, data-parallel over the N processes of an MPI job. Each
// rank opens its own device (the local rank picks among the host's), trains on its share of every batch,
// and rank 0 prints, writes the checkpoint and the metrics. Without mpirun none of this runs and MPI is
// never loaded.
import ArgumentParser
import Foundation
import Kiln
import KilnDistributed

/// Options that only matter under mpirun.
struct DistributedOptions: ParsableArguments {
    @Option(help: "Under mpirun: MiB of gradients per allreduce after the first bucket (PyTorch DDP's bucket_cap_mb).")
    var bucketMib = Double(BucketLayout.defaultBytes) / 1_048_576
    @Option(help: "Under mpirun: MiB of gradients in the first allreduce, which starts while the backward pass still runs.")
    var firstBucketMib = Double(BucketLayout.defaultFirstBytes) / 1_048_576
    @Flag(help: "Under mpirun, with --steps: print where rank 0's step time went and time the allreduce alone (Benchmarks/mpi-scaling.sh).")
    var reportTiming = false

    func validate() throws {
        guard bucketMib > 0, bucketMib.isFinite, firstBucketMib > 0, firstBucketMib.isFinite else {
            throw ValidationError("--bucket-mib and --first-bucket-mib must be positive")
        }
    }

    var bucketBytes: Int { max(Int(bucketMib * 1_048_576), MemoryLayout<Float>.size) }
    var firstBucketBytes: Int { max(Int(firstBucketMib * 1_048_576), MemoryLayout<Float>.size) }
}

extension TrainCommand {
    /// Whether this process is one rank of an MPI job (mpirun started it).
    static var isDistributed: Bool { Communicator.isLaunched() }

    /// Trains as one rank of the MPI job. A failure on one rank ends the whole job with a message naming
    /// it; a failure every rank meets together (a NaN loss, ranks that drifted apart) is reported once.
    func runDistributed() throws {
        let communicator: Communicator
        do {
            communicator = try Communicator()
        } catch {
            throw ValidationError("\(error)")
        }
        do {
            try trainDistributed(communicator)
            try communicator.finalize()
        } catch let error as ExitCode {
            try communicator.finalize()
            throw error
        } catch  where Self.isSharedByAllRanks(error) || error is TrainingStopped {
            if communicator.rank == 0 { FileHandle.standardError.write(Data("kiln: \(error)\n".utf8)) }
            try communicator.finalize()
            throw ExitCode.failure
        } catch {
            let text = "\(error)"
            let named = text.hasPrefix("rank ") ? text : "rank \(communicator.rank) on \(communicator.hosts[communicator.rank]): \(text)"
            communicator.abort(named)
        }
    }

    /// Errors that every rank meets at the same point with the same values, so one report says it all: the
    /// loss and the test loss are the whole batch's and the whole test set's on every rank, and the checks of
    /// settings and state compare every rank with rank 0.
    private static func isSharedByAllRanks(_ error: Error) -> Bool {
        switch error {
        case is DivergedError, is NonFiniteLossError: true
        case TrainingError.divergedAfterEpoch, TrainingError.noBatches: true
        case DistributedError.drift, DistributedError.mismatch: true
        default: false
        }
    }

    private func trainDistributed(_ communicator: Communicator) throws {
        let isLeader = communicator.rank == 0
        let share = CoreShare(localRank: communicator.localRank, localSize: communicator.localSize)
        let threads = share.apply()
        var configuration = training.configuration(model: model)
        configuration.data = dataOptions.selection(dataset: common.datasetName)
        let run = RunFolder(folder)
        if resume, isLeader { try Self.checkResumable(run.checkpoint, with: configuration) }
        let query = common.device ?? ProcessInfo.processInfo.environment[Device.environmentVariable] ?? "opencl"
        let device = try Device.forRank(query, localRank: communicator.localRank)
        let data = try common.loadImageDataset(configuration.data)
        if earlyStop != nil, data.validation == nil {
            throw ValidationError("--early-stop needs a validation set: add --validation-split 0.1, or give the data set a val/ split")
        }
        let trainer = try Trainer(configuration: configuration, data: data, device: device)
        try trainer.loop.check(trainer)
        let distributed = try DistributedTrainer(
            trainer: trainer, communicator: communicator, firstBucketBytes: distributedOptions.firstBucketBytes,
            bucketBytes: distributedOptions.bucketBytes)
        let placement =
            device.description.hasPrefix("opencl") ? "POCL_MAX_PTHREAD_COUNT=\(threads) (\(share.reason))" : "no CPU threads to share"
        let placements = try communicator.allgather("\(device), \(placement)", operation: "exchanging device names")
        if isLeader { try run.prepare() }
        var reports = try distributed.start(resuming: resume ? run : nil)
        var saved: TrainingPosition? = resume ? trainer.loop.position : nil
        let stepLog = isLeader ? try StepLog(run.steps, keepingThrough: resume ? trainer.step.step : nil) : nil
        if isLeader {
            if resume {
                print(
                    "resumed from \(checkpoint.path) at epoch \(trainer.epoch + 1), batch \(trainer.batchInEpoch), on \(communicator.size) ranks"
                )
            }
            print(Self.summary(of: data))
            let shares = Set(
                (0..<communicator.size).map { DistributedTrainer.share(of: training.batchSize, rank: $0, size: communicator.size).count })
            print(
                "training \(model) (\(trainer.model.parameterCount) parameters) on \(communicator.size) ranks with \(training.optimizer.rawValue), lr \(training.lr), batch \(training.batchSize) (\(shares.sorted().map(String.init).joined(separator: " or ")) per rank), \(trainer.normalization.summary)"
            )
            for (rank, placement) in placements.enumerated() { print("rank \(rank) on \(communicator.hosts[rank]): \(placement)") }
            let layout = distributed.reducer.layout(parameterCounts: trainer.model.parameters.map(\.variable.shape.count))
            let megabytes = Double(trainer.model.parameterCount * MemoryLayout<Float>.size) / 1_048_576
            print(
                "gradients: \(String(format: "%.2f", megabytes)) MiB per step in \(layout.buckets.count) allreduce bucket\(layout.buckets.count == 1 ? "" : "s")"
            )
            print(
                "training step plans per rank: \(try trainer.step.plans(for: [distributed.shareShape]).map { "\($0.report)" }.joined(separator: "; then "))"
            )
        }
        let interrupt = InterruptFlag()
        distributed.interrupted = { interrupt.raised }
        var timings: [(step: Double, exchange: ExchangeTimings)] = []
        var stepStart = DispatchTime.now().uptimeNanoseconds
        let epochs = training.epochs
        if trainer.epoch >= epochs, isLeader { print("already trained \(trainer.epoch) epochs; raise --epochs to train more") }
        // Every rank has the same reports (evaluation runs on identical weights), so every rank stops early alike.
        while trainer.epoch < epochs, !stoppedEarly(reports) {
            // mpirun hands the ranks a terminal of its own whatever its output is, so `auto` means plain lines here.
            let bar = EpochProgress(
                label: "epoch \(trainer.epoch + 1)/\(epochs)", batchSize: training.batchSize, enabled: isLeader && progress == .bar)
            let hooks = distributed.hooks(
                shouldStop: { steps.map { trainer.step.step >= $0 } ?? false },
                batchEnded: { position, batches, loss in
                    let now = DispatchTime.now().uptimeNanoseconds
                    let seconds = Double(now - stepStart) / 1e9
                    timings.append((seconds, distributed.reducer.timings))
                    stepStart = now
                    guard isLeader else { return }
                    let record = StepRecord(
                        step: trainer.step.step, epoch: trainer.epoch + 1, batch: position.batch, loss: Double(loss),
                        learningRate: trainer.configuration.learningRate(epoch: trainer.epoch),
                        imagesPerSecond: Double(training.batchSize) / max(seconds, 1e-9))
                    // A full disk or a removed folder must not stop training; the checkpoint says what was done.
                    try? stepLog?.append(record)
                    if let steps, trainer.step.step <= steps {
                        print("step \(trainer.step.step) loss \(loss)")
                    } else {
                        bar.update(batch: position.batch, of: batches, loss: loss)
                    }
                })
            let report: EpochReport?
            do {
                report = try trainer.loop.runEpoch(distributed, hooks: hooks)
            } catch  where Self.isSharedByAllRanks(error) {
                bar.finish()
                throw TrainingStopped(cause: "\(error)", checkpoint: checkpoint, saved: saved)
            }
            bar.finish()
            guard let report else {
                if isLeader { try run.save(trainer, reports: reports) }
                if let steps, trainer.step.step >= steps {
                    if isLeader { print("stopped after \(steps) steps: checkpoint written to \(checkpoint.path)") }
                    if distributedOptions.reportTiming { try reportTimings(timings, reducer: distributed.reducer, isLeader: isLeader) }
                    return
                }
                if isLeader {
                    print(
                        "interrupted at epoch \(trainer.epoch + 1), batch \(trainer.batchInEpoch): checkpoint written to \(checkpoint.path); continue with --resume"
                    )
                }
                throw ExitCode(130)
            }
            reports.append(report)
            if isLeader {
                print(Metrics.line(report) + (reports.bestValidationEpoch == report.epoch ? "  (best)" : ""))
                try run.save(trainer, reports: reports)
                try Metrics.chart(reports, title: "\(model) on \(communicator.size) ranks").write(
                    to: folder.appendingPathComponent("metrics.svg"))
            }
            saved = trainer.loop.position
            stepStart = DispatchTime.now().uptimeNanoseconds
        }
        guard isLeader else { return }
        if let earlyStop, stoppedEarly(reports), let best = reports.bestValidationEpoch {
            print("stopped early: no better validation accuracy in the \(earlyStop) epochs since epoch \(best)")
        }
        try measureTest(trainer, run: run, reports: &reports)
        print("checkpoint: \(checkpoint.path)")
    }

    /// Prints (on rank 0) where the steps' time went, leaving out the first tenth (plans compiled, caches
    /// warming), and how long the gradient allreduce takes on its own: what `Benchmarks/mpi-scaling.sh` reads.
    private func reportTimings(_ timings: [(step: Double, exchange: ExchangeTimings)], reducer: GradientAllreduce, isLeader: Bool) throws {
        let alone = try reducer.timeAllreduce(repetitions: 20)
        guard isLeader, !timings.isEmpty, !alone.isEmpty else { return }
        let kept = Array(timings.dropFirst(timings.count / 10))
        let median = { (values: [Double]) in values.sorted()[values.count / 2] * 1000 }
        let early = kept.map { Double($0.exchange.bucketsStartedEarly) }.reduce(0, +) / Double(kept.count)
        print(
            String(
                format:
                    "timing (rank 0, median of %d steps): step %.3f ms, waiting for the allreduce after the backward pass %.3f ms, reading gradients %.3f ms; allreduce alone %.3f ms; %.1f of %d buckets started from within the backward pass",
                kept.count, median(kept.map(\.step)), median(kept.map(\.exchange.waitSeconds)), median(kept.map(\.exchange.gatherSeconds)),
                median(alone),
                early, kept.last?.exchange.buckets ?? 0))
    }
}
