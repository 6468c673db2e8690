// `kiln demo batching`: the MLP trained with the cost computed over the whole set, mini-batches, or single examples.
import ArgumentParser
import Foundation
import Kiln
import KilnExamples

struct DemoBatchingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batching",
        abstract: "Train the MLP with batch, mini-batch and per-example gradient descent over the same passes.",
        discussion: """
            Every mode uses plain SGD from the same initial weights. Batch gradient descent takes one update per \
            epoch from the gradient of the mean loss over all the training examples (accumulated in chunks); \
            mini-batch takes one per --batch-size examples; stochastic one per example. The loss on the charts is \
            the mean over the first 2000 training examples, measured outside the timed training. Writes \
            batching-epochs.svg, batching-time.svg and batching.json to --out.
            """
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "Folder for the charts and the measurements.")
    var out = "kiln-demo"
    @Option(help: "Passes over the training examples, the same for every mode.")
    var epochs = 3
    @Option(help: "Train on the first N training examples (0 means all 60000; per-example SGD on all of them is slow).")
    var examples = 5000
    @Option(help: "Examples per mini-batch.")
    var batchSize = 64
    @Option(help: "Learning rate of batch gradient descent.")
    var fullBatchLr = 0.5
    @Option(help: "Learning rate of mini-batch SGD.")
    var miniBatchLr = 0.1
    @Option(help: "Learning rate of per-example SGD.")
    var exampleLr = 0.005
    @Option(help: "Model: mlp, or a layer string (see `kiln train --help`).")
    var model = "mlp"
    @Option(help: "Seed for initialisation and shuffling.")
    var seed: UInt64 = 0

    var settings: BatchingDemo.Settings {
        var settings = BatchingDemo.Settings()
        settings.model = model
        settings.epochs = epochs
        settings.examples = examples == 0 ? nil : examples
        settings.miniBatchSize = batchSize
        settings.fullBatchLearningRate = fullBatchLr
        settings.miniBatchLearningRate = miniBatchLr
        settings.perExampleLearningRate = exampleLr
        settings.seed = seed
        return settings
    }

    func validate() throws {
        guard epochs > 0 else { throw ValidationError("--epochs must be a positive number of passes, got \(epochs)") }
        guard examples >= 0 else { throw ValidationError("--examples must be zero (all) or positive, got \(examples)") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
        for (name, value) in [("--full-batch-lr", fullBatchLr), ("--mini-batch-lr", miniBatchLr), ("--example-lr", exampleLr)] {
            guard value > 0, value.isFinite else { throw ValidationError("\(name) must be a positive number, got \(value)") }
        }
    }

    func run() throws {
        let device = try common.openDevice()
        let data = try common.loadDataset()
        let folder = URL(fileURLWithPath: out)
        try OutputFolder.create(folder)
        let used = examples == 0 ? data.training.count : min(examples, data.training.count)
        print(
            "\(model): \(epochs) epochs over \(used) training examples on \(device); plain SGD, lr: batch \(fullBatchLr), mini-batch \(miniBatchLr), per example \(exampleLr)"
        )
        let start = Date()
        let comparison = try BatchingDemo.run(data: data, settings: settings, on: device) { print($0) }
        print("\n\(comparison.table)\n(\(elapsed(since: start)) in all, loss measurements included)")
        try comparison.epochChart.write(to: folder.appendingPathComponent("batching-epochs.svg"))
        try comparison.timeChart.write(to: folder.appendingPathComponent("batching-time.svg"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(comparison), to: folder.appendingPathComponent("batching.json"))
        print("wrote \(folder.path)/batching-epochs.svg, batching-time.svg, batching.json")
    }
}
