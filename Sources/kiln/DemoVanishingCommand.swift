// `kiln demo vanishing`: a vanilla RNN and an LSTM on symbol recall at several lags, the gradient that
// reaches each input step, and exploding gradients with and without clipping. The work is
// `VanishingGradientDemo` in the library; this prints its tables and writes its charts.
import ArgumentParser
import Foundation
import Kiln
import KilnExamples

struct DemoVanishingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vanishing",
        abstract: "Vanishing and exploding gradients: an RNN and an LSTM recalling a symbol T steps back.",
        discussion: """
            Each sequence starts with one of 4 symbols (marked), then T - 1 random distractor symbols; the \
            model names the first symbol after the last step (chance 25%). The RNN and the LSTM share the \
            hidden size; both train with Adam on fresh batches. The gradient chart shows the norm of the \
            loss's gradient with respect to each step's input at the longest T, before and after training. \
            Then the RNN with its recurrent weight scaled up trains with plain SGD, with and without \
            clipping by global norm. Writes vanishing-gradients.svg, exploding-loss.svg, \
            exploding-norm.svg and report.json into --out.
            """
    )

    @Option(help: "cpu, opencl, opencl:N or opencl:NAME (default: $KILN_DEVICE, else opencl).")
    var device: String?
    @Option(help: "Folder for the charts and report.json.")
    var out = "kiln-vanishing"
    @Option(help: "Training steps per model and lag (the budget; more lets the long lags learn further).")
    var steps = VanishingGradientConfiguration().steps
    @Option(help: "Lags T, comma-separated.")
    var lengths = "10,50,100"
    @Option(help: "Models, comma-separated: \(RecallModel.allCases.map(\.rawValue).joined(separator: ", ")).")
    var models = "rnn,lstm"
    @Option(help: "Adam's learning rate for the recall runs.")
    var lr = VanishingGradientConfiguration().learningRate
    @Option(help: "Hidden units of every model.")
    var hidden = 32
    @Option(help: "Sequences per training batch.")
    var batchSize = 32
    @Option(help: "Training steps of each exploding-gradient run.")
    var explodingSteps = 200
    @Option(help: "Seed for initialisation and data.")
    var seed: UInt64 = 0
    @Flag(help: "Print the report as JSON instead of tables.")
    var json = false

    func validate() throws {
        _ = try configuration()
    }

    func configuration() throws -> VanishingGradientConfiguration {
        var configuration = VanishingGradientConfiguration()
        let lags = lengths.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !lags.isEmpty, lags.allSatisfy({ ($0 ?? 0) >= 2 }) else {
            throw ValidationError("--lengths must be comma-separated lags of at least 2, such as 10,50,100 (got '\(lengths)')")
        }
        configuration.lengths = lags.compactMap { $0 }
        let kinds = models.split(separator: ",").map { RecallModel(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
        guard !kinds.isEmpty, kinds.allSatisfy({ $0 != nil }) else {
            throw ValidationError(
                "--models must be comma-separated names from \(RecallModel.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(models)')"
            )
        }
        configuration.models = kinds.compactMap { $0 }
        configuration.steps = steps
        configuration.learningRate = lr
        configuration.hidden = hidden
        configuration.batchSize = batchSize
        configuration.explodingSteps = explodingSteps
        configuration.seed = seed
        do { try configuration.validate() } catch let error as SequenceError { throw ValidationError(error.description) }
        return configuration
    }

    func run() throws {
        let opened = try device.map(Device.named) ?? Device.fromEnvironment()
        let demo = try VanishingGradientDemo(configuration: configuration(), device: opened)
        let folder = URL(fileURLWithPath: out)
        try OutputFolder.create(folder)
        if !json { print("symbol recall on \(opened): hidden \(hidden), \(steps) Adam steps of \(batchSize) sequences per model and lag") }
        let report = try demo.run { line in if !json { print(line) } }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = try encoder.encode(report)
        try AtomicFile.write(data, to: folder.appendingPathComponent("report.json"))
        try VanishingGradientDemo.gradientChart(report).write(to: folder.appendingPathComponent("vanishing-gradients.svg"))
        try VanishingGradientDemo.explodingChart(report).write(to: folder.appendingPathComponent("exploding-loss.svg"))
        try VanishingGradientDemo.explodingNormChart(report).write(to: folder.appendingPathComponent("exploding-norm.svg"))
        if json {
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("")
        print(VanishingGradientDemo.table(report))
        print("")
        print("gradient norm at distance d before the loss:")
        print(VanishingGradientDemo.profileSummary(report))
        print(String(format: "total %.1f s; charts and report.json in %@", report.seconds, folder.path))
    }
}
