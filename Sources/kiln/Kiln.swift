// The kiln command line: a thin layer over the Kiln library.
import ArgumentParser
import Foundation
import Kiln

@main
struct KilnCommand: ParsableCommand {
    /// Line-buffered output, so progress shows up promptly when stdout is a file or a pipe.
    static func main() {
        setvbuf(stdout, nil, _IOLBF, 0)
        self.main(nil)
    }

    /// The release `kiln --version` prints.
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "A deep-learning engine on OpenCL, with a CPU reference backend.",
        version: version,
        subcommands: [
            DevicesCommand.self, TrainCommand.self, EvalCommand.self, PredictCommand.self, CompareCommand.self, WarmupCommand.self,
            TuneCommand.self, ProfileCommand.self, DemoCommand.self, GenerateCommand.self, GANCommand.self, FeaturesCommand.self,
            BenchCommand.self, CheckCommand.self, ExportCommand.self, ChartCommand.self,
        ]
    )
}
