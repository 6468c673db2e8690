// `kiln train`: trains a classifier on Fashion-MNIST or a data set folder (IDX, NumPy or image folders) and
// writes checkpoints (the last and the best by validation accuracy), metrics and per-step metrics.
import ArgumentParser
import Foundation
import Kiln
import KilnDistributed

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a classifier on Fashion-MNIST, MNIST, or a folder of IDX files, .npy files or class folders of images.",
        discussion: """
            MODEL is cnn, mlp (both end in one output per class of the data), or a layer string such as
            conv32k3p1-relu-maxpool2-conv64k3p1-relu-maxpool2-flatten-dense128-relu-dense10
            (tokens: conv{out}k{kernel}[s{stride}][p{pad}][d{dilation}][g{groups}], maxpool{k}[s{stride}][p{pad}][c1],
            avgpool{k}[s{stride}][p{pad}][c1] (c1: ceil mode), gap, flatten, dense{out}, bn, dropout{percent}, res(layers) (a residual block:
            its input added to its layers' output, through a 1x1 convolution when the shapes differ),
            \(ModelSpec.activationTokens.joined(separator: ", "))).

            With a validation set (--validation-split, or the data set's own val/), every epoch reports validation \
            loss and accuracy, best.safetensors keeps the weights of the best epoch, and --early-stop N stops after \
            N epochs without a better one. The test set is measured once, at the end (on the best weights when \
            there are some), and by kiln eval.

            The output folder gets checkpoint.safetensors (after every epoch), best.safetensors, metrics.json, \
            metrics.csv, metrics.svg and steps.jsonl (loss, learning rate and images/s of every step). Ctrl-C \
            writes the checkpoint at the next batch and exits with status 130; run the same command with \
            --resume to continue from it.
            """
    )

    @Option(help: "cnn, mlp, or a layer string (see below).")
    var model = "cnn"
    @OptionGroup var common: CommonOptions
    @OptionGroup var dataOptions: DataSetOptions
    @OptionGroup var training: TrainingOptions
    @Option(help: "Stop after this many epochs without a better validation accuracy (needs a validation set).")
    var earlyStop: Int?
    @Option(help: "Folder for the checkpoint and metrics.")
    var out = "kiln-run"
    @Flag(help: "Continue from the checkpoint in --out.")
    var resume = false
    @Option(help: "Progress within an epoch (auto: a bar when standard output is a terminal).")
    var progress: ProgressStyle = .auto
    @Option(help: "With --model char-lstm: the text file to learn (a character-level language model).")
    var text: String?
    @Flag(help: "Also measure the test set after every epoch (for time to accuracy; it selects nothing).")
    var testEveryEpoch = false
    @Option(help: "Stop after this many steps, printing each step's loss (to compare devices step by step).")
    var steps: Int?
    @OptionGroup(title: "Distributed training (under mpirun)") var distributedOptions: DistributedOptions

    var folder: URL { URL(fileURLWithPath: out) }
    var checkpoint: URL { RunFolder(folder).checkpoint }

    /// The character-level language model trains on text, not on an image data set.
    private var isCharacterModel: Bool { model.lowercased() == "char-lstm" }

    func validate() throws {
        if isCharacterModel {
            guard let text else { throw ValidationError("--model char-lstm needs --text FILE, the text to learn") }
            guard FileManager.default.fileExists(atPath: text) else { throw ValidationError("--text: no file \(text)") }
            guard !resume else { throw ValidationError("--resume is not supported for char-lstm yet") }
            return
        }
        if text != nil { throw ValidationError("--text is only for --model char-lstm") }
        if let steps, steps <= 0 { throw ValidationError("--steps must be positive, got \(steps)") }
        if let earlyStop, earlyStop <= 0 { throw ValidationError("--early-stop must be a positive number of epochs, got \(earlyStop)") }
        try common.validateDataset()
        // Under mpirun only rank 0 reads the checkpoint; the other ranks' hosts need not have it.
        if resume, Communicator.launchRank() ?? 0 == 0, !FileManager.default.fileExists(atPath: checkpoint.path) {
            throw ValidationError(
                "--resume: no checkpoint \(checkpoint.path); point --out at the folder of an earlier run, or leave out --resume to start one"
            )
        }
    }

    func run() throws {
        if isCharacterModel, let text {
            // Its own defaults (Adam 3e-3, batch 32) suit it better than the image models'; use --lr and
            // --batch-size only when given.
            let given = { (flag: String) in CommandLine.arguments.contains { $0 == flag || $0.hasPrefix(flag + "=") } }
            try trainCharacterModel(
                text: URL(fileURLWithPath: text), device: try common.openDevice(), epochs: training.epochs, out: folder,
                batchSize: given("--batch-size") ? training.batchSize : nil, learningRate: given("--lr") ? training.lr : nil,
                clipNorm: training.clipNorm, seed: training.seed)
            return
        }
        if Self.isDistributed { return try runDistributed() }
        // Catch Ctrl-C from the start, so an early one still ends with a checkpoint.
        let interrupt = InterruptFlag()
        var configuration = training.configuration(model: model)
        configuration.data = dataOptions.selection(dataset: common.datasetName)
        let run = RunFolder(folder)
        if resume { try Self.checkResumable(run.checkpoint, with: configuration) }
        let device = try common.openDevice()
        let data = try common.loadImageDataset(configuration.data)
        if earlyStop != nil, data.validation == nil {
            throw ValidationError("--early-stop needs a validation set: add --validation-split 0.1, or give the data set a val/ split")
        }
        let trainer = try Trainer(configuration: configuration, data: data, device: device)
        try trainer.loop.check(trainer)
        try run.prepare()
        var reports: [EpochReport] = []
        // What the checkpoint on disk holds, for the message when training diverges.
        var saved: TrainingPosition?
        if resume {
            reports = try run.resume(trainer)
            saved = trainer.loop.position
            print("resumed from \(checkpoint.path) at epoch \(trainer.epoch + 1), batch \(trainer.batchInEpoch)")
        }
        let stepLog = try StepLog(run.steps, keepingThrough: resume ? trainer.step.step : nil)
        let epochs = training.epochs
        print(Self.summary(of: data))
        print(
            "training \(model) (\(trainer.model.parameterCount) parameters) on \(device) with \(training.optimizer.rawValue), lr \(training.lr), batch \(training.batchSize), \(trainer.normalization.summary)"
        )
        let plan = try trainer.step.plan(for: trainer.batchShape, on: device)
        print("training step plan: \(plan.report)")
        if let budget = try LaunchBudget.line(plan, on: device) { print(budget) }
        if trainer.epoch >= epochs {
            print("already trained \(trainer.epoch) epochs; raise --epochs to train more")
        }
        while trainer.epoch < epochs, !stoppedEarly(reports) {
            let bar = EpochProgress(
                label: "epoch \(trainer.epoch + 1)/\(epochs)", batchSize: training.batchSize, enabled: progress.drawsBar)
            let report: EpochReport?
            var stepStart = Date()
            do {
                report = try trainer.trainEpoch(
                    progress: { batch, batches, loss in
                        let now = Date()
                        let record = StepRecord(
                            step: trainer.step.step, epoch: trainer.epoch + 1, batch: batch, loss: Double(loss),
                            learningRate: trainer.configuration.learningRate(epoch: trainer.epoch),
                            imagesPerSecond: Double(training.batchSize) / max(now.timeIntervalSince(stepStart), 1e-9))
                        stepStart = now
                        // A full disk or a removed folder must not stop training; the checkpoint says what was done.
                        try? stepLog.append(record)
                        if let steps, trainer.step.step <= steps {
                            print("step \(trainer.step.step) loss \(loss)")
                        } else {
                            bar.update(batch: batch, of: batches, loss: loss)
                        }
                    },
                    shouldStop: { interrupt.raised || steps.map { trainer.step.step >= $0 } ?? false })
            } catch {
                bar.finish()
                throw TrainingStopped.isDivergence(error) ? TrainingStopped(cause: "\(error)", checkpoint: checkpoint, saved: saved) : error
            }
            bar.finish()
            if report == nil, !interrupt.raised, let steps {
                try run.save(trainer, reports: reports)
                print("stopped after \(steps) steps: checkpoint written to \(checkpoint.path)")
                return
            }
            guard var report else {
                try run.save(trainer, reports: reports)
                print(
                    "interrupted at epoch \(trainer.epoch + 1), batch \(trainer.batchInEpoch): checkpoint written to \(checkpoint.path); continue with --resume"
                )
                throw ExitCode(130)
            }
            if testEveryEpoch {
                let test = try trainer.evaluate(trainer.data.test)
                (report.testLoss, report.testAccuracy) = (test.loss, test.accuracy)
            }
            reports.append(report)
            print(Metrics.line(report) + (reports.bestValidationEpoch == report.epoch ? "  (best)" : ""))
            try run.save(trainer, reports: reports)
            saved = trainer.loop.position
            try Metrics.chart(reports, title: "\(model) on \(device)").write(to: folder.appendingPathComponent("metrics.svg"))
        }
        if let earlyStop, stoppedEarly(reports), let best = reports.bestValidationEpoch {
            print("stopped early: no better validation accuracy in the \(earlyStop) epochs since epoch \(best)")
        }
        try measureTest(trainer, run: run, reports: &reports)
        print("checkpoint: \(checkpoint.path)")
    }

    /// Whether `--early-stop N` ends the run: N epochs have passed since the best validation accuracy.
    func stoppedEarly(_ reports: [EpochReport]) -> Bool {
        guard let earlyStop, let since = reports.epochsSinceBestValidation else { return false }
        return since >= earlyStop
    }

    /// Measures the test set once, on the best weights when a validation set chose some (else the last), prints
    /// the result and records it in the last epoch's metrics.
    func measureTest(_ trainer: Trainer, run: RunFolder, reports: inout [EpochReport]) throws {
        // A held-out share of a class with one image is no image: say so rather than print 0% and a loss of 0.
        guard trainer.data.test.count > 0 else {
            print("test set: no images, so no test accuracy or loss (a held-out share of a very small class rounds to 0 images)")
            return
        }
        let bestEpoch = reports.bestValidationEpoch
        if bestEpoch != nil, FileManager.default.fileExists(atPath: run.best.path) { try trainer.loadWeights(from: run.best) }
        let test = try trainer.evaluate(trainer.data.test)
        let weights = bestEpoch.map { "best epoch \($0) by validation accuracy, \(run.best.lastPathComponent)" } ?? "last epoch"
        print(
            String(
                format: "test accuracy %.2f%%  test loss %.4f  (%d images; %@)", test.accuracy * 100, test.loss, trainer.data.test.count,
                weights))
        guard !reports.isEmpty else { return }
        reports[reports.count - 1].testLoss = test.loss
        reports[reports.count - 1].testAccuracy = test.accuracy
        try run.writeMetrics(reports)
        try Metrics.chart(reports, title: "\(model) on \(trainer.device)").write(to: folder.appendingPathComponent("metrics.svg"))
    }

    /// One line on the data: its splits, image shape and classes.
    static func summary(of data: ImageDataset) -> String {
        let shape = data.imageShape
        let splits = data.splits.map { "\($0.set.count) \($0.name)" }.joined(separator: ", ")
        let names =
            data.classNames.map { names in ": " + (names.count <= 12 ? names : Array(names.prefix(10)) + ["..."]).joined(separator: ", ") }
            ?? ""
        return "data: \(data.name): \(splits) images of \(shape[0])×\(shape[1])×\(shape[2]), \(data.classCount) classes\(names)"
    }

    /// Refuses to resume with settings that do not fit the checkpoint (another model or optimizer cannot
    /// load its tensors; another batch size or seed would not continue the same run).
    static func checkResumable(_ checkpoint: URL, with configuration: TrainingConfiguration) throws {
        let file = try SafeTensorsFile(contentsOf: checkpoint)
        if let diverged = file.nonFiniteError(file: checkpoint.path) { throw diverged }
        guard let text = file.metadata["kiln.configuration"],
            let stored = try? JSONDecoder().decode(TrainingConfiguration.self, from: Data(text.utf8))
        else { throw ValidationError("--resume: \(checkpoint.path) is not a Kiln training checkpoint (no kiln.configuration)") }
        var differences: [String] = []
        if ModelSpec(stored.model).text != ModelSpec(configuration.model).text { differences.append("--model \(stored.model)") }
        if stored.optimizer != configuration.optimizer { differences.append("--optimizer \(stored.optimizer.rawValue)") }
        if stored.batchSize != configuration.batchSize { differences.append("--batch-size \(stored.batchSize)") }
        if stored.seed != configuration.seed { differences.append("--seed \(stored.seed)") }
        if let data = stored.data, data != configuration.data {
            differences.append("--dataset \(data.dataset) (and the same data options)")
        }
        guard differences.isEmpty else {
            throw ValidationError(
                "--resume: \(checkpoint.path) was trained with \(differences.joined(separator: ", ")); pass the same to continue it")
        }
    }
}

/// Training diverged: the run stops, keeps the last good checkpoint and says which state it holds.
struct TrainingStopped: Error, CustomStringConvertible {
    let cause: String
    let checkpoint: URL
    /// The position the checkpoint on disk holds; nil when none was written.
    let saved: TrainingPosition?

    /// Whether `error` says the training diverged (a NaN or infinite loss, or evaluation after an epoch).
    static func isDivergence(_ error: any Error) -> Bool {
        if error is NonFiniteLossError || error is DivergedError { return true }
        if case .divergedAfterEpoch = error as? TrainingError { return true }
        return false
    }

    var description: String {
        let kept =
            saved.map {
                "\(checkpoint.path) keeps the last good state (\($0.epoch) epochs finished"
                    + ($0.batch > 0 ? " and \($0.batch) batches of the next" : "") + "); continue from it with --resume and a lower --lr"
            } ?? "no checkpoint was written"
        return "\(cause)\nstopped: \(kept)"
    }
}
