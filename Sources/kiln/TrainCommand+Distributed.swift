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
        } catch where Self.isSharedByAllRanks(error) {
            if communicator.rank == 0 { FileHandle.standardError.write(Data("kiln: \(error)\n".utf8)) }
            try communicator.finalize()
            throw ExitCode.failure
        } catch {
            let text = "\(error)"
            let named = text.hasPrefix("rank ") ? text : "rank \(communicator.rank) on \(communicator.hosts[communicator.rank]): \(text)"
            communicator.abort(named)
        }
    }

    /// Prints (on rank 0) where the steps' time went, leaving out the first tenth (plans compiled, caches
    /// warming), and how long the gradient allreduce takes on its own: what `Benchmarks/mpi-scaling.sh` reads.
    private func reportTimings(_ timings: [StepTimings], distributed: DistributedTrainer) throws {
        let alone = try distributed.step.timeAllreduce(repetitions: 20)
        guard distributed.communicator.rank == 0, !timings.isEmpty else { return }
        let kept = Array(timings.dropFirst(timings.count / 10))
        let median = { (values: [Double]) in values.sorted()[values.count / 2] * 1000 }
        print(String(
            format: "timing (rank 0, median of %d steps): step %.3f ms, waiting for the allreduce after the backward pass %.3f ms, reading gradients %.3f ms; allreduce alone %.3f ms",
            kept.count, median(kept.map(\.stepSeconds)), median(kept.map(\.waitSeconds)), median(kept.map(\.gatherSeconds)), median(alone)))
    }

    /// Errors that every rank meets at the same point with the same values, so one report says it all.
    private static func isSharedByAllRanks(_ error: Error) -> Bool {
        if error is NonFiniteLossError { return true }
        if case DistributedError.drift = error { return true }
        if case DistributedError.mismatch = error { return true }
        return false
    }

    private func trainDistributed(_ communicator: Communicator) throws {
        let isLeader = communicator.rank == 0
        let share = CoreShare(localRank: communicator.localRank, localSize: communicator.localSize)
        let threads = share.apply()
        let configuration = training.configuration(model: model)
        if resume, isLeader { try Self.checkResumable(checkpoint, with: configuration) }
        let query = common.device ?? ProcessInfo.processInfo.environment[Device.environmentVariable] ?? "opencl"
        let device = try Device.forRank(query, localRank: communicator.localRank)
        let trainer = try Trainer(configuration: configuration, data: try common.loadDataset(), device: device)
        let distributed = try DistributedTrainer(
            trainer: trainer, communicator: communicator, firstBucketBytes: distributedOptions.firstBucketBytes,
            bucketBytes: distributedOptions.bucketBytes)
        let placements = try communicator.allgather(
            "\(device), \(device.description.hasPrefix("opencl") ? "POCL_MAX_PTHREAD_COUNT=\(threads) (\(share.reason))" : "no CPU threads to share")",
            operation: "exchanging device names")
        try distributed.start(resumingFrom: resume ? checkpoint : nil)
        var reports: [EpochReport] = []
        let metricsURL = folder.appendingPathComponent("metrics.json")
        let batches = trainer.trainingBatches
        let batchShape = batches.shape(count: batches.batchSize)
        if isLeader {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            if resume {
                reports = (try? JSONDecoder().decode([EpochReport].self, from: Data(contentsOf: metricsURL))) ?? []
                reports = reports.filter { $0.epoch <= distributed.epoch }
                print("resumed from \(checkpoint.path) at epoch \(distributed.epoch + 1), batch \(distributed.batchInEpoch), on \(communicator.size) ranks")
            }
            let shares = (0..<communicator.size).map { DataParallelStep.share(of: batches.batchSize, rank: $0, size: communicator.size).count }
            print("training \(model) (\(trainer.model.parameterCount) parameters) on \(communicator.size) ranks with \(training.optimizer.rawValue), lr \(training.lr), batch \(training.batchSize) (\(Set(shares).sorted().map(String.init).joined(separator: " or ")) per rank), \(trainer.normalization.summary)")
            for (rank, placement) in placements.enumerated() { print("rank \(rank) on \(communicator.hosts[rank]): \(placement)") }
            let layout = distributed.step.layout
            let gradientBytes = trainer.model.parameterCount * MemoryLayout<Float>.size
            print("gradients: \(String(format: "%.2f", Double(gradientBytes) / 1_048_576)) MiB per step in \(layout.buckets.count) allreduce bucket\(layout.buckets.count == 1 ? "" : "s"), each started as soon as the backward pass has finished it")
            print("gradient plan per rank: \(try distributed.step.report(batchShape: batchShape, on: device))")
        }
        let interrupt = InterruptFlag()
        var timings: [StepTimings] = []
        let epochs = training.epochs
        if distributed.epoch >= epochs, isLeader { print("already trained \(distributed.epoch) epochs; raise --epochs to train more") }
        while distributed.epoch < epochs {
            let bar = EpochProgress(label: "epoch \(distributed.epoch + 1)/\(epochs)", batchSize: training.batchSize, enabled: isLeader && progress.drawsBar)
            let report = try distributed.trainEpoch(
                stepLimit: steps,
                progress: { batch, batches, loss in
                    timings.append(distributed.step.timings)
                    guard isLeader else { return }
                    if let steps, distributed.step.step <= steps {
                        print("step \(distributed.step.step) loss \(loss)")
                    } else {
                        bar.update(batch: batch, of: batches, loss: loss)
                    }
                },
                interrupted: { interrupt.raised })
            bar.finish()
            guard let report else {
                try distributed.saveCheckpoint(to: checkpoint)
                if let steps, distributed.step.step >= steps {
                    if isLeader { print("stopped after \(steps) steps: checkpoint written to \(checkpoint.path)") }
                    if distributedOptions.reportTiming { try reportTimings(timings, distributed: distributed) }
                    return
                }
                if isLeader {
                    print("interrupted at epoch \(distributed.epoch + 1), batch \(distributed.batchInEpoch): checkpoint written to \(checkpoint.path); continue with --resume")
                }
                throw ExitCode(130)
            }
            if isLeader {
                reports.append(report)
                print(Metrics.line(report))
                try distributed.saveCheckpoint(to: checkpoint)
                try Metrics.write(reports, to: folder)
                try Metrics.chart(reports, title: "\(model) on \(communicator.size) ranks").write(to: folder.appendingPathComponent("metrics.svg"))
            }
        }
        if isLeader { print("checkpoint: \(checkpoint.path)") }
    }
}
