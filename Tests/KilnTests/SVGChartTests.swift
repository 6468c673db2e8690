// SVGChart: ticks at round values (whole epochs on an epoch axis), labels with the decimals the step needs,
// and a right axis for accuracy drawn only when a series uses it.
import Foundation
import XCTest

@testable import KilnExamples

final class SVGChartTests: XCTestCase {
    func testTicksAreRoundAndCoverTheData() {
        XCTAssertEqual(SVGChart.ticks([1, 2, 3, 4, 5]), [1, 2, 3, 4, 5], "epochs: whole numbers")
        XCTAssertEqual(SVGChart.ticks([1, 2]), [1, 2], "two epochs: no half epochs")
        let losses = SVGChart.ticks([0.2317, 0.5238])
        XCTAssertEqual(losses.map { SVGChart.label($0, step: SVGChart.step(losses)) }, ["0.2", "0.3", "0.4", "0.5", "0.6"])
        XCTAssertEqual(SVGChart.ticks([84.48, 90.82]), [84, 86, 88, 90, 92])
        XCTAssertEqual(SVGChart.ticks([3]), [2, 3, 4], "one point gets a range around it")
        XCTAssertEqual(SVGChart.label(0.25, step: 0.05), "0.25")
        XCTAssertEqual(SVGChart.label(0.3, step: 0.05), "0.30")
        XCTAssertEqual(SVGChart.label(2, step: 1), "2")
        XCTAssertEqual(SVGChart.label(0.0001, step: 0.0001), "1e-04")
    }

    func testRightAxisOnlyWhenUsed() {
        let loss = SVGChart.Series("train loss", [(1, 0.5), (2, 0.4)])
        let accuracy = SVGChart.Series("validation accuracy", [(1, 85.1), (2, 87.3)], axis: .right)
        let both = SVGChart(title: "t", xLabel: "epoch", yLabel: "loss", rightLabel: "accuracy (%)", series: [loss, accuracy]).render()
        XCTAssertTrue(both.contains(">accuracy (%)</text>"))
        XCTAssertTrue(both.contains(">validation accuracy (right)</text>"))
        XCTAssertTrue(both.contains(">87.0</text>") && both.contains(">85.5</text>"), "accuracy ticks on the right, every 0.5")
        let one = SVGChart(title: "t", xLabel: "epoch", yLabel: "loss", series: [loss]).render()
        XCTAssertFalse(one.contains("(right)"))
        XCTAssertFalse(one.contains("(left)"))
    }

    /// A logarithmic x axis puts its ticks at powers of two, evenly spaced; the subtitle is drawn under the title.
    func testLogarithmicXAndSubtitle() {
        let series = SVGChart.Series("Kiln", [(16, 1000), (64, 3000), (1024, 3500)])
        let chart = SVGChart(
            title: "t", subtitle: "busy machine", xLabel: "batch", yLabel: "images/s", series: [series], logarithmicX: true)
        let svg = chart.render()
        XCTAssertTrue(svg.contains(">busy machine</text>"))
        for tick in ["16", "32", "64", "128", "256", "512", "1024"] { XCTAssertTrue(svg.contains(">\(tick)</text>"), tick) }
        XCTAssertFalse(svg.contains(">2048</text>"))
        // Equal ratios are equal distances: 16→64 spans two octaves of the six, so a third of the plot.
        let xs = svg.split(separator: "\n").filter { $0.hasPrefix("<circle") }.compactMap { line -> Double? in
            line.split(separator: "\"").dropFirst().first.flatMap { Double($0) }
        }
        XCTAssertEqual(xs.count, 3)
        XCTAssertEqual((xs[1] - xs[0]) / (xs[2] - xs[0]), 2.0 / 6.0, accuracy: 1e-3)
        let plain = SVGChart(title: "t", xLabel: "epoch", yLabel: "loss", series: [series]).render()
        XCTAssertFalse(plain.contains("busy machine"))
    }
}
