// `kiln compare`: the course's exercise. Trains two models (the CNN and the MLP by default) with the same
// budget on the same device and compares them side by side.
import ArgumentParser
import Foundation
import Kiln
import KilnExamples

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Train two models with the same budget on the same device and compare them side by side.",
        discussion: """
            Trains the CNN and the MLP (or the two --model values given) one after the other with the same \
            epochs, batch size, optimizer, learning rate and seed, then prints their parameters, final test \
            accuracy and loss, training time and images per second. The output folder gets comparison.json \
            (the summary with every epoch's metrics) and comparison.svg (test accuracy and losses per epoch). \
            A model is cnn, mlp or a layer string (see `kiln train --help`).
            """
    )

    @Option(name: .customLong("model"), help: "A model to compare: cnn, mlp or a layer string. Give it twice (default: cnn and mlp).")
    var models: [String] = []
    @OptionGroup var common: CommonOptions
    @OptionGroup var dataOptions: DataSetOptions
    @OptionGroup var training: TrainingOptions
    @Option(help: "Folder for comparison.json and comparison.svg.")
    var out = "kiln-compare"
    @Option(help: "Progress within an epoch (auto: a bar when standard output is a terminal).")
    var progress: ProgressStyle = .auto
    @Flag(help: "Print the summary as one JSON object (progress goes to standard error).")
    var json = false

    /// The models to train: the two given, else the CNN and the MLP.
    var compared: [String] { models.isEmpty ? ["cnn", "mlp"] : models }

    func validate() throws {
        try common.validateDataset()
        guard models.isEmpty || models.count == 2 else {
            throw ValidationError("give --model twice (two models to compare), or leave it out to compare cnn and mlp; got \(models.count)")
        }
    }

    func run() throws {
        let interrupt = InterruptFlag()
        let device = try common.openDevice()
        let data = try common.loadImageDataset(dataOptions.selection(dataset: common.datasetName), quiet: json)
        let folder = URL(fileURLWithPath: out)
        try OutputFolder.create(folder)
        // With --json, standard output carries only the summary.
        let say: (String) -> Void = json ? { FileHandle.standardError.write(Data(($0 + "\n").utf8)) } : { print($0) }
        let budget = training.configuration(model: "")
        say(
            "comparing \(Comparison.names(for: compared).joined(separator: " and ")) on \(device): \(training.epochs) epoch\(training.epochs == 1 ? "" : "s"), \(training.optimizer.rawValue), lr \(training.lr), batch \(training.batchSize), seed \(training.seed)"
        )
        var bar: EpochProgress?
        let drawsBar = progress.drawsBar && !json
        let result = try Comparison.run(
            models: compared, budget: budget, epochs: training.epochs, data: data, device: device,
            events: { event in
                switch event {
                case .started(let name, let trainer):
                    say("\(name): \(trainer.model.parameterCount) parameters")
                case .batch(let name, let epoch, let batch, let batches, let loss):
                    if bar == nil {
                        bar = EpochProgress(
                            label: "\(name) epoch \(epoch + 1)/\(training.epochs)", batchSize: training.batchSize, enabled: drawsBar)
                    }
                    bar?.update(batch: batch, of: batches, loss: loss)
                case .epoch(let name, let report):
                    bar?.finish()
                    bar = nil
                    say(Metrics.line(report, prefix: "\(name)  "))
                }
            },
            shouldStop: { interrupt.raised })
        bar?.finish()
        guard let result else {
            say("interrupted: nothing written")
            throw ExitCode(130)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let summary = folder.appendingPathComponent("comparison.json")
        try AtomicFile.write(try encoder.encode(result), to: summary)
        let chart = folder.appendingPathComponent("comparison.svg")
        try result.chart.write(to: chart)
        if json {
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
            return
        }
        print("")
        print(result.table)
        print("summary: \(summary.path)")
        print("chart: \(chart.path)")
    }
}
