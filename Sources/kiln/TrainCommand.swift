// `kiln train`: trains a classifier on Fashion-MNIST (or any IDX data set) and writes a checkpoint and metrics.
import ArgumentParser
import Foundation
import Kiln

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a classifier on Fashion-MNIST (or MNIST, or any IDX folder).",
        discussion: """
            MODEL is cnn, mlp, or a layer string such as
            conv32k3p1-relu-maxpool2-conv64k3p1-relu-maxpool2-flatten-dense128-relu-dense10
            (tokens: conv{out}k{kernel}[s{stride}][p{pad}][d{dilation}][g{groups}], maxpool{k}[s{stride}],
            avgpool{k}[s{stride}], gap, flatten, dense{out}, bn, dropout{percent}, relu, leakyrelu, sigmoid, tanh).

            The output folder gets checkpoint.safetensors (after every epoch), metrics.json, metrics.csv and \
            metrics.svg. Ctrl-C writes the checkpoint at the next batch and exits with status 130; run the same \
            command with --resume to continue from it.
            """
    )

    @Option(help: "cnn, mlp, or a layer string (see below).")
    var model = "cnn"
    @OptionGroup var common: CommonOptions
    @OptionGroup var training: TrainingOptions
    @Option(help: "Folder for the checkpoint and metrics.")
    var out = "kiln-run"
    @Flag(help: "Continue from the checkpoint in --out.")
    var resume = false
    @Option(help: "Progress within an epoch (auto: a bar when standard output is a terminal).")
    var progress: ProgressStyle = .auto
    @Option(help: "With --model char-lstm: the text file to learn (a character-level language model).")
    var text: String?
    @Option(help: "Stop after this many steps, printing each step's loss (to compare devices step by step).")
    var steps: Int?

    private var folder: URL { URL(fileURLWithPath: out) }
    private var checkpoint: URL { RunFolder(folder).checkpoint }

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
        try common.validateDataset()
        if resume, !FileManager.default.fileExists(atPath: checkpoint.path) {
            throw ValidationError(
                "--resume: no checkpoint \(checkpoint.path); point --out at the folder of an earlier run, or leave out --resume to start one")
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
        // Catch Ctrl-C from the start, so an early one still ends with a checkpoint.
        let interrupt = InterruptFlag()
        let configuration = training.configuration(model: model)
        let run = RunFolder(folder)
        if resume { try Self.checkResumable(run.checkpoint, with: configuration) }
        let device = try common.openDevice()
        let trainer = try Trainer(configuration: configuration, data: common.loadImageDataset(), device: device)
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
        let epochs = training.epochs
        print("training \(model) (\(trainer.model.parameterCount) parameters) on \(device) with \(training.optimizer.rawValue), lr \(training.lr), batch \(training.batchSize), \(trainer.normalization.summary)")
        print("training step plan: \(try trainer.step.plan(for: trainer.batchShape, on: device).report)")
        if trainer.epoch >= epochs {
            print("already trained \(trainer.epoch) epochs; raise --epochs to train more")
        }
        while trainer.epoch < epochs {
            let bar = EpochProgress(label: "epoch \(trainer.epoch + 1)/\(epochs)", batchSize: training.batchSize, enabled: progress.drawsBar)
            let report: EpochReport?
            do {
                report = try trainer.trainEpoch(
                    progress: { batch, batches, loss in
                        if let steps, trainer.step.step <= steps {
                            print("step \(trainer.step.step) loss \(loss)")
                        } else {
                            bar.update(batch: batch, of: batches, loss: loss)
                        }
                    },
                    shouldStop: { interrupt.raised || steps.map { trainer.step.step >= $0 } ?? false })
            } catch let error as NonFiniteLossError {
                bar.finish()
                throw TrainingStopped(cause: "\(error)", checkpoint: checkpoint, saved: saved)
            } catch let error as TrainingError {
                bar.finish()
                guard case .divergedAfterEpoch = error else { throw error }
                throw TrainingStopped(cause: "\(error)", checkpoint: checkpoint, saved: saved)
            }
            bar.finish()
            if report == nil, !interrupt.raised, let steps {
                try run.save(trainer, reports: reports)
                print("stopped after \(steps) steps: checkpoint written to \(checkpoint.path)")
                return
            }
            guard let report else {
                try run.save(trainer, reports: reports)
                print("interrupted at epoch \(trainer.epoch + 1), batch \(trainer.batchInEpoch): checkpoint written to \(checkpoint.path); continue with --resume")
                throw ExitCode(130)
            }
            reports.append(report)
            print(Metrics.line(report))
            try run.save(trainer, reports: reports)
            saved = trainer.loop.position
            try Metrics.chart(reports, title: "\(model) on \(device)").write(to: folder.appendingPathComponent("metrics.svg"))
        }
        print("checkpoint: \(checkpoint.path)")
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
        guard differences.isEmpty else {
            throw ValidationError("--resume: \(checkpoint.path) was trained with \(differences.joined(separator: ", ")); pass the same to continue it")
        }
    }
}

/// Training diverged: the run stops, keeps the last good checkpoint and says which state it holds.
struct TrainingStopped: Error, CustomStringConvertible {
    let cause: String
    let checkpoint: URL
    /// The position the checkpoint on disk holds; nil when none was written.
    let saved: TrainingPosition?

    var description: String {
        let kept =
            saved.map {
                "\(checkpoint.path) keeps the last good state (\($0.epoch) epochs finished"
                    + ($0.batch > 0 ? " and \($0.batch) batches of the next" : "") + "); continue from it with --resume and a lower --lr"
            } ?? "no checkpoint was written"
        return "\(cause)\nstopped: \(kept)"
    }
}
