// SVGChart: line charts as standalone SVG files (no dependencies), for loss and accuracy curves and the bench's
// scaling charts: ticks at round values (1, 2 or 5 times a power of ten; whole numbers on a whole-number axis such
// as epochs; powers of two on a logarithmic x axis), an optional subtitle, and an optional second y axis on the
// right so accuracy and loss each get their own scale.
import Foundation
import Kiln

/// A line chart of one or more named series over a shared x axis, with one or two y axes.
public struct SVGChart {
    /// Which y axis a series is drawn against.
    public enum Axis: Sendable { case left, right }

    /// One line: a name for the legend, its points and its axis.
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var axis: Axis
        public init(_ name: String, _ points: [(x: Double, y: Double)], axis: Axis = .left) {
            self.name = name
            self.points = points
            self.axis = axis
        }
    }

    public var title: String
    /// A smaller line under the title (where and how it was measured); none when empty.
    public var subtitle: String
    public var xLabel: String
    public var yLabel: String
    /// The label of the right y axis, drawn when a series uses it.
    public var rightLabel: String
    public var series: [Series]
    /// Plot the left y axis on a log scale (for losses over orders of magnitude); non-positive values are dropped.
    public var logarithmicY: Bool
    /// Plot the x axis on a log scale with ticks at powers of two (batch sizes, matrix sizes); non-positive values are dropped.
    public var logarithmicX: Bool

    public init(
        title: String, subtitle: String = "", xLabel: String, yLabel: String, rightLabel: String = "", series: [Series],
        logarithmicY: Bool = false, logarithmicX: Bool = false
    ) {
        self.title = title
        self.subtitle = subtitle
        self.logarithmicX = logarithmicX
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.rightLabel = rightLabel
        self.series = series
        self.logarithmicY = logarithmicY
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#7f7f7f"]

    /// The SVG document.
    public func render(width: Double = 800, height: Double = 440) -> String {
        let hasRight = series.contains { $0.axis == .right && !$0.points.isEmpty }
        // The legend column grows with the longest series name (about 7 px a character at 12 px).
        let longestName = Double(series.map(\.name.count).max() ?? 0)
        let legend = max(110.0, 40 + 7 * longestName)
        let (left, right, top, bottom) = (70.0, legend + (hasRight ? 60 : 10), subtitle.isEmpty ? 40.0 : 56.0, 50.0)
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        func usable(_ point: (x: Double, y: Double), _ axis: Axis) -> Bool {
            point.x.isFinite && point.y.isFinite && !(axis == .left && logarithmicY && point.y <= 0) && !(logarithmicX && point.x <= 0)
        }
        let xScale = AxisScale(
            series.flatMap { line in line.points.filter { usable($0, line.axis) }.map(\.x) }, logarithmic: logarithmicX, base: 2)
        let leftScale = AxisScale(
            series.filter { $0.axis == .left }.flatMap { line in line.points.filter { usable($0, .left) }.map(\.y) },
            logarithmic: logarithmicY)
        let rightScale = AxisScale(
            series.filter { $0.axis == .right }.flatMap { line in line.points.filter { usable($0, .right) }.map(\.y) }, logarithmic: false)
        func px(_ x: Double) -> Double { left + xScale.fraction(x) * plotWidth }
        func py(_ y: Double, _ scale: AxisScale) -> Double { top + (1 - scale.fraction(y)) * plotHeight }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="22" font-size="15">\(escape(title))</text>

            """
        if !subtitle.isEmpty { svg += "<text x=\"\(left)\" y=\"40\" font-size=\"12\" fill=\"#555\">\(escape(subtitle))</text>\n" }
        for x in xScale.ticks {
            let gx = px(x)
            svg += "<line x1=\"\(gx)\" y1=\"\(top)\" x2=\"\(gx)\" y2=\"\(top + plotHeight)\" stroke=\"#eee\"/>\n"
            svg += "<text x=\"\(gx)\" y=\"\(top + plotHeight + 16)\" text-anchor=\"middle\">\(xScale.label(x))</text>\n"
        }
        for y in leftScale.ticks {
            let gy = py(y, leftScale)
            svg += "<line x1=\"\(left)\" y1=\"\(gy)\" x2=\"\(left + plotWidth)\" y2=\"\(gy)\" stroke=\"#eee\"/>\n"
            svg += "<text x=\"\(left - 6)\" y=\"\(gy + 4)\" text-anchor=\"end\">\(leftScale.label(y))</text>\n"
        }
        if hasRight {
            for y in rightScale.ticks {
                let gy = py(y, rightScale)
                svg += "<line x1=\"\(left + plotWidth)\" y1=\"\(gy)\" x2=\"\(left + plotWidth + 5)\" y2=\"\(gy)\" stroke=\"#444\"/>\n"
                svg += "<text x=\"\(left + plotWidth + 8)\" y=\"\(gy + 4)\">\(rightScale.label(y))</text>\n"
            }
            let middle = top + plotHeight / 2
            let labelX = left + plotWidth + 52
            svg +=
                "<text x=\"\(labelX)\" y=\"\(middle)\" text-anchor=\"middle\" transform=\"rotate(90 \(labelX) \(middle))\">\(escape(rightLabel))</text>\n"
        }
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotWidth)\" height=\"\(plotHeight)\" fill=\"none\" stroke=\"#444\"/>\n"
        svg += "<text x=\"\(left + plotWidth / 2)\" y=\"\(height - 10)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        svg +=
            "<text x=\"16\" y=\"\(top + plotHeight / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(top + plotHeight / 2))\">\(escape(yLabel))</text>\n"
        let legendX = width - legend + 10
        for (index, line) in series.enumerated() {
            let color = Self.palette[index % Self.palette.count]
            let scale = line.axis == .left ? leftScale : rightScale
            let valid = line.points.filter { usable($0, line.axis) }
            // Lines against the right axis are dashed, so each line's axis is visible.
            let dash = line.axis == .right ? " stroke-dasharray=\"6 3\"" : ""
            let path = valid.map { String(format: "%.1f,%.1f", px($0.x), py($0.y, scale)) }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dash) points=\"\(path)\"/>\n"
            if valid.count <= 30 {
                for point in valid {
                    svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%@\"/>\n", px(point.x), py(point.y, scale), color)
                }
            }
            let legendY = top + 10 + Double(index) * 18
            svg +=
                "<line x1=\"\(legendX)\" y1=\"\(legendY)\" x2=\"\(legendX + 20)\" y2=\"\(legendY)\" stroke=\"\(color)\" stroke-width=\"3\"\(dash)/>\n"
            let suffix = hasRight ? (line.axis == .left ? " (left)" : " (right)") : ""
            svg += "<text x=\"\(legendX + 26)\" y=\"\(legendY + 4)\">\(escape(line.name + suffix))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// Writes the chart to `url` atomically.
    public func write(to url: URL) throws {
        try AtomicFile.write(Data(render().utf8), to: url)
    }

    /// Round tick values covering `values`: a step of 1, 2 or 5 times a power of ten giving about 4 to 8
    /// ticks, from the last multiple of the step at or below the smallest value to the first at or above the
    /// largest. Whole-number data (epochs) never gets fractional ticks.
    static func ticks(_ values: [Double]) -> [Double] {
        var (low, high) = (values.min() ?? 0, values.max() ?? 1)
        if high - low < 1e-12 * max(abs(high), 1) { (low, high) = (low - 0.5, high + 0.5) }
        let rough = (high - low) / 5
        let power = Foundation.pow(10, (Foundation.log10(rough)).rounded(.down))
        var step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough } ?? 10 * power
        if values.allSatisfy({ $0 == $0.rounded() }) { step = max(step.rounded(), 1) }
        let first = (low / step).rounded(.down)
        let last = (high / step).rounded(.up)
        return stride(from: first, through: last, by: 1).map { $0 * step }
    }

    /// The spacing of `ticks`.
    static func step(_ ticks: [Double]) -> Double { ticks.count > 1 ? ticks[1] - ticks[0] : 1 }

    /// `value` with as many decimals as the tick step needs (0.25 → "0.25", 2 → "2", 1e-4 → "1e-04").
    static func label(_ value: Double, step: Double) -> String {
        let magnitude = Swift.max(Swift.abs(value), Swift.abs(step))
        if magnitude >= 1e6 || (value != 0 && Swift.abs(value) < 1e-3) { return String(format: "%.0e", value) }
        let decimals = Swift.max(0, Int((-Foundation.log10(step)).rounded(.up)))
        return String(format: "%.\(decimals)f", value == 0 ? 0 : value)
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;")
    }
}

/// An axis: round ticks covering its values, and where a value falls between the first and last tick (in
/// log10 when logarithmic, with ticks at powers of `base`).
private struct AxisScale {
    let ticks: [Double]
    let logarithmic: Bool

    init(_ values: [Double], logarithmic: Bool, base: Double = 10) {
        self.logarithmic = logarithmic
        if logarithmic {
            let exponents = values.map { Foundation.log($0) / Foundation.log(base) }
            let low = (exponents.min() ?? 0).rounded(.down)
            let high = Swift.max((exponents.max() ?? 1).rounded(.up), low + 1)
            ticks = stride(from: low, through: high, by: 1).map { Foundation.pow(base, $0) }
        } else {
            ticks = SVGChart.ticks(values)
        }
    }

    func fraction(_ value: Double) -> Double {
        let transform: (Double) -> Double = logarithmic ? { Foundation.log10($0) } : { $0 }
        let (low, high) = (transform(ticks.first ?? 0), transform(ticks.last ?? 1))
        return (transform(value) - low) / Swift.max(high - low, 1e-12)
    }

    func label(_ value: Double) -> String {
        logarithmic ? String(format: "%g", value) : SVGChart.label(value, step: SVGChart.step(ticks))
    }
}
