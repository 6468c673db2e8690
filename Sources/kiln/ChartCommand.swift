// `kiln chart`: draws a CSV table (x column, one column per series) as an SVG line chart, with horizontal
// reference lines such as the FMA peak; Benchmarks/scaling.sh draws its charts with it.
import ArgumentParser
import Foundation
import KilnBenchmarks

struct ChartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chart",
        abstract: "Draw a CSV table as an SVG line chart.",
        discussion: """
            The CSV's header names the x column, then one column per series; each row is an x value and the \
            series' values there (an empty cell: no point). Lines starting with # are comments.
            """
    )

    @Argument(help: "The CSV table.")
    var table: String
    @Option(name: .shortAndLong, help: "The SVG file to write.")
    var output: String
    @Option(help: "The chart's title.")
    var title = ""
    @Option(help: "A line under the title (where it was measured).")
    var subtitle = ""
    @Option(help: "The y axis label.")
    var yLabel = ""
    @Option(help: "A horizontal line NAME=VALUE across the x range (a hardware limit); repeat for several.")
    var level: [String] = []
    @Flag(help: "A logarithmic x axis (ticks at powers of two).")
    var logX = false
    @Flag(help: "A logarithmic y axis (ticks at powers of ten).")
    var logY = false

    func validate() throws {
        for text in level where Self.level(text) == nil {
            throw ValidationError("--level '\(text)': expected NAME=VALUE with a finite number, e.g. 'FMA peak=233'")
        }
    }

    /// `NAME=VALUE` split at its last `=`.
    static func level(_ text: String) -> (name: String, value: Double)? {
        guard let equals = text.lastIndex(of: "="), let value = Double(text[text.index(after: equals)...]), value.isFinite else {
            return nil
        }
        return (String(text[..<equals]), value)
    }

    func run() throws {
        let text: String
        do { text = try String(contentsOfFile: table, encoding: .utf8) } catch {
            throw ValidationError("cannot read \(table): \(error.localizedDescription)")
        }
        var data = try ChartTable(csv: text, file: table)
        for (name, value) in level.compactMap(Self.level) { data.addLevel(name, at: value) }
        try data.chart(title: title, subtitle: subtitle, yLabel: yLabel, logarithmicX: logX, logarithmicY: logY)
            .write(to: URL(fileURLWithPath: output))
    }
}
