// The kiln command line: a thin layer over the Kiln library.
import ArgumentParser
import Kiln

@main
struct KilnCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "A deep-learning engine on OpenCL, with a CPU reference backend.",
        subcommands: [DevicesCommand.self, TrainCommand.self, EvalCommand.self]
    )
}
