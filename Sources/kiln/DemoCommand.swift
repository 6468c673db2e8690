// `kiln demo`: the course's ideas, run and measured.
import ArgumentParser

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run one of the course's ideas and measure it.",
        subcommands: [DemoMomentumCommand.self, DemoBatchingCommand.self, DemoVanishingCommand.self]
    )
}
