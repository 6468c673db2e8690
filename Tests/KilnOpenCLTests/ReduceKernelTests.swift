// ReduceKernelTests: reduce.cl's compensated sums, beyond what any float32 summation order achieves: 100,001 terms
// that cancel, so all of the error is absolute; a sequential float32 sum (the reference backend in Float32) misses
// this tolerance. The reductions themselves are catalog cases (Catalog+Reduction.swift) that CatalogKernelTests
// runs on every device.
import Kiln
import KilnTestSupport
import XCTest

final class ReduceKernelTests: XCTestCase {
    func testCompensatedSumOfCancellingTerms() throws {
        var random = RandomSource(seed: 23)
        // Rounded first, so the negatives cancel exactly in Float32 too.
        let half = random.values(50_000, in: -1...1).map { Double(Float($0)) }
        let x = HostTensor(half + half.map { -$0 } + [0.125], [100_001])
        let op = Op.reduce(.sum, axes: [0], keepDimensions: false)
        let expected = try ReferenceRun.execute(op, [x]).values
        for backend in try TestDevices.requireOpenCL() {
            assertClose(try ReferenceRun.execute(op, [x], on: backend).values, expected, .accumulation(terms: x.shape.count), backend.name)
        }
    }
}
