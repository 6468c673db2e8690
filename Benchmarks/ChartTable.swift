// ChartTable: the series of a scaling chart read from CSV (Benchmarks/scaling.sh writes one file per chart), with
// horizontal reference lines such as the cores' FMA peak, drawn through KilnExamples' SVGChart.
import Foundation
import KilnExamples

/// Series from a CSV table: a header row naming the x column then one column per series, then one row per x
/// value. An empty cell is a point the series does not have; lines starting with `#` are comments.
public struct ChartTable: Equatable {
    /// The x column's name.
    public var xName: String
    public var series: [Line]

    /// One named series: its points in row order.
    public struct Line: Equatable {
        public var name: String
        public var points: [Point]
        public init(name: String, points: [Point]) {
            self.name = name
            self.points = points
        }
    }

    public struct Point: Equatable {
        public var x: Double
        public var y: Double
        public init(x: Double, y: Double) {
            self.x = x
            self.y = y
        }
    }

    /// Parses `text`; `file` names it in errors. Throws `ChartTableError` naming the line and column of a
    /// cell that is not a number, a row with the wrong number of cells, or a table without data.
    public init(csv text: String, file: String) throws {
        let rows = text.split(whereSeparator: \.isNewline).enumerated()
            .filter { !$0.element.trimmingCharacters(in: .whitespaces).isEmpty && !$0.element.hasPrefix("#") }
            .map { (line: $0.offset + 1, cells: $0.element.split(separator: ",", omittingEmptySubsequences: false).map(Self.trim)) }
        guard let header = rows.first else { throw ChartTableError(file: file, reason: "has no header row") }
        guard header.cells.count >= 2 else {
            throw ChartTableError(file: file, reason: "line \(header.line): needs an x column and at least one series column")
        }
        xName = header.cells[0]
        var lines = header.cells.dropFirst().map { Line(name: $0, points: []) }
        for row in rows.dropFirst() {
            guard row.cells.count == header.cells.count else {
                throw ChartTableError(
                    file: file, reason: "line \(row.line): \(row.cells.count) cells, the header has \(header.cells.count)")
            }
            func number(_ column: Int) throws -> Double {
                guard let value = Double(row.cells[column]), value.isFinite else {
                    throw ChartTableError(
                        file: file, reason: "line \(row.line), column '\(header.cells[column])': '\(row.cells[column])' is not a number")
                }
                return value
            }
            let x = try number(0)
            for column in 1..<header.cells.count where !row.cells[column].isEmpty {
                lines[column - 1].points.append(Point(x: x, y: try number(column)))
            }
        }
        guard lines.contains(where: { !$0.points.isEmpty }) else { throw ChartTableError(file: file, reason: "has no data rows") }
        series = lines
    }

    /// Adds a horizontal line named `name` at `value` across the table's x range (a hardware limit).
    public mutating func addLevel(_ name: String, at value: Double) {
        let xs = series.flatMap(\.points).map(\.x)
        guard let low = xs.min(), let high = xs.max() else { return }
        series.append(Line(name: name, points: [Point(x: low, y: value), Point(x: high, y: value)]))
    }

    /// The chart of every series against the left axis.
    public func chart(title: String, subtitle: String, yLabel: String, logarithmicX: Bool, logarithmicY: Bool) -> SVGChart {
        SVGChart(
            title: title, subtitle: subtitle, xLabel: xName, yLabel: yLabel,
            series: series.map { line in SVGChart.Series(line.name, line.points.map { (x: $0.x, y: $0.y) }) },
            logarithmicY: logarithmicY, logarithmicX: logarithmicX)
    }

    private static func trim(_ cell: Substring) -> String { cell.trimmingCharacters(in: .whitespaces) }
}

/// A chart table that cannot be read; the message names the file and the line.
public struct ChartTableError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let reason: String
    public var description: String { "chart data \(file) \(reason)" }
}
