// ChartTable: the CSV tables Benchmarks/scaling.sh draws with `kiln chart`: series by column, empty cells as
// missing points, comments skipped, and errors that name the line and the column.
import KilnBenchmarks
import XCTest

final class ChartTableTests: XCTestCase {
    func testColumnsBecomeSeriesAndEmptyCellsAreMissingPoints() throws {
        let csv = """
            # measured on a busy machine
            batch,Kiln (pocl), PyTorch

            16,1200.5,900
            64,,3000
            1024,3500,3400
            """
        let table = try ChartTable(csv: csv, file: "cnn.csv")
        XCTAssertEqual(table.xName, "batch")
        XCTAssertEqual(table.series.map(\.name), ["Kiln (pocl)", "PyTorch"])
        XCTAssertEqual(table.series[0].points, [.init(x: 16, y: 1200.5), .init(x: 1024, y: 3500)])
        XCTAssertEqual(table.series[1].points.map(\.x), [16, 64, 1024])
    }

    func testLevelSpansTheXRange() throws {
        var table = try ChartTable(csv: "n,GFLOP/s\n64,10\n4096,180\n", file: "gemm.csv")
        table.addLevel("FMA peak", at: 233)
        XCTAssertEqual(table.series.last, .init(name: "FMA peak", points: [.init(x: 64, y: 233), .init(x: 4096, y: 233)]))
        let svg = table.chart(title: "SGEMM", subtitle: "", yLabel: "GFLOP/s", logarithmicX: true, logarithmicY: false).render()
        XCTAssertTrue(svg.contains(">FMA peak</text>"))
    }

    func testBadTablesNameTheProblem() {
        let cases: [(csv: String, message: String)] = [
            ("", "gemm.csv has no header row"),
            ("n\n1\n", "line 1: needs an x column and at least one series column"),
            ("n,a\n1,2,3\n", "line 2: 3 cells, the header has 2"),
            ("n,a\n1,fast\n", "line 2, column 'a': 'fast' is not a number"),
            ("n,a\nnan,1\n", "line 2, column 'n': 'nan' is not a number"),
            ("n,a\n1,\n", "gemm.csv has no data rows"),
        ]
        for (csv, message) in cases {
            XCTAssertThrowsError(try ChartTable(csv: csv, file: "gemm.csv"), csv) { error in
                XCTAssertTrue(String(describing: error).contains(message), "\(error) lacks \(message)")
            }
        }
    }
}
