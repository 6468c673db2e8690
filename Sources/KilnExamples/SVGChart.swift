// SVGChart: line charts as standalone SVG files (no dependencies), for loss and accuracy curves.
import Foundation
import Kiln

/// A line chart of one or more named series over a shared x axis.
public struct SVGChart {
    /// One line: a name for the legend and its points.
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public init(_ name: String, _ points: [(x: Double, y: Double)]) {
            self.name = name
            self.points = points
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// Plot y on a log scale (for losses over orders of magnitude); non-positive values are dropped.
    public var logarithmicY: Bool

    public init(title: String, xLabel: String, yLabel: String, series: [Series], logarithmicY: Bool = false) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.logarithmicY = logarithmicY
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#7f7f7f"]

    /// The SVG document.
    public func render(width: Double = 800, height: Double = 440) -> String {
        // The legend column grows with the longest series name (about 7 px a character at 12 px).
        let longestName = Double(series.map(\.name.count).max() ?? 0)
        let (left, right, top, bottom) = (70.0, max(120.0, 50 + 7 * longestName), 40.0, 50.0)
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let transform: (Double) -> Double = logarithmicY ? { Foundation.log10($0) } : { $0 }
        let points = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!logarithmicY || $0.y > 0) }
        let xs = points.map(\.x)
        let ys = points.map { transform($0.y) }
        var (xMin, xMax) = (xs.min() ?? 0, xs.max() ?? 1)
        var (yMin, yMax) = (ys.min() ?? 0, ys.max() ?? 1)
        if xMax == xMin { xMax = xMin + 1 }
        if yMax == yMin { (yMin, yMax) = (yMin - 0.5, yMax + 0.5) }
        let margin = (yMax - yMin) * 0.05
        (yMin, yMax) = (yMin - margin, yMax + margin)
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotWidth }
        func py(_ y: Double) -> Double { top + (1 - (transform(y) - yMin) / (yMax - yMin)) * plotHeight }
        func format(_ value: Double) -> String {
            let magnitude = Swift.abs(value)
            if magnitude != 0, magnitude < 0.01 || magnitude >= 100_000 { return String(format: "%.1e", value) }
            return String(format: magnitude < 10 ? "%.3g" : "%.0f", value)
        }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="22" font-size="15">\(escape(title))</text>
            <rect x="\(left)" y="\(top)" width="\(plotWidth)" height="\(plotHeight)" fill="none" stroke="#444"/>

            """
        for tick in 0...5 {
            let fraction = Double(tick) / 5
            let x = xMin + fraction * (xMax - xMin)
            let yValue = yMin + fraction * (yMax - yMin)
            let y = logarithmicY ? Foundation.pow(10, yValue) : yValue
            let gx = left + fraction * plotWidth
            let gy = top + (1 - fraction) * plotHeight
            svg += "<line x1=\"\(gx)\" y1=\"\(top)\" x2=\"\(gx)\" y2=\"\(top + plotHeight)\" stroke=\"#eee\"/>\n"
            svg += "<line x1=\"\(left)\" y1=\"\(gy)\" x2=\"\(left + plotWidth)\" y2=\"\(gy)\" stroke=\"#eee\"/>\n"
            svg += "<text x=\"\(gx)\" y=\"\(top + plotHeight + 16)\" text-anchor=\"middle\">\(format(x))</text>\n"
            svg += "<text x=\"\(left - 6)\" y=\"\(gy + 4)\" text-anchor=\"end\">\(format(y))</text>\n"
        }
        svg += "<text x=\"\(left + plotWidth / 2)\" y=\"\(height - 10)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        svg += "<text x=\"16\" y=\"\(top + plotHeight / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(top + plotHeight / 2))\">\(escape(yLabel))</text>\n"
        for (index, line) in series.enumerated() {
            let color = Self.palette[index % Self.palette.count]
            let valid = line.points.filter { $0.x.isFinite && $0.y.isFinite && (!logarithmicY || $0.y > 0) }
            let path = valid.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(path)\"/>\n"
            if valid.count <= 30 {
                for point in valid {
                    svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%@\"/>\n", px(point.x), py(point.y), color)
                }
            }
            let legendY = top + 10 + Double(index) * 18
            svg += "<line x1=\"\(width - right + 12)\" y1=\"\(legendY)\" x2=\"\(width - right + 32)\" y2=\"\(legendY)\" stroke=\"\(color)\" stroke-width=\"3\"/>\n"
            svg += "<text x=\"\(width - right + 38)\" y=\"\(legendY + 4)\">\(escape(line.name))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// Writes the chart to `url` atomically.
    public func write(to url: URL) throws {
        try AtomicFile.write(Data(render().utf8), to: url)
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
