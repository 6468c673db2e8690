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
}
