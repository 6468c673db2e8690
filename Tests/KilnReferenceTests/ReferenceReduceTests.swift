// Reference reductions and softmax: sums, means and maxima over axes with and without kept dimensions,
// and softmax / log-softmax against hand-computed values, including inputs that would overflow exp.

import Foundation
import KilnCore
import KilnReference
import KilnTestSupport
import XCTest

final class ReferenceReduceTests: XCTestCase {
    private let x = HostTensor((0..<24).map(Double.init), [2, 3, 4])

    func testSumOverOneAxis() throws {
        let y = try evaluate(.reduce(.sum, axes: [1], keepDimensions: false), [x])
        XCTAssertEqual(y.shape, [2, 4])
        // Element [i, k] sums x[i, j, k] = 12i + 4j + k over j = 0, 1, 2.
        XCTAssertEqual(y.values, [12, 15, 18, 21, 48, 51, 54, 57])
    }

    func testMeanOverTwoAxesDividesByTheirProduct() throws {
        let y = try evaluate(.reduce(.mean, axes: [0, 2], keepDimensions: true), [x])
        XCTAssertEqual(y.shape, [1, 3, 1])
        // Mean over i and k of 12i + 4j + k is 6 + 4j + 1.5.
        assertClose(y.values, [7.5, 11.5, 15.5], .handComputed)
    }

    func testMaxOverAllAxesGivesAScalar() throws {
        let negative = HostTensor([-5, -2, -9, -3], [2, 2])
        let y = try evaluate(.reduce(.max, axes: [0, 1], keepDimensions: false), [negative])
        XCTAssertEqual(y.shape, [])
        XCTAssertEqual(y.values, [-2])
        XCTAssertEqual(try evaluate(.reduce(.max, axes: [1], keepDimensions: false), [negative]).values, [-2, -3])
    }

    func testReduceOverNoAxesCopies() throws {
        XCTAssertEqual(try evaluate(.reduce(.sum, axes: [], keepDimensions: false), [x]).values, x.values)
    }

    func testSoftmaxOfAKnownRow() throws {
        // exp(0), exp(1), exp(2) over their sum 1 + e + e².
        let e = Foundation.exp(1.0)
        let expected = [1, e, e * e].map { $0 / (1 + e + e * e) }
        assertClose(try evaluate(.softmax(axis: 0), [HostTensor([1, 2, 3], [3])]).values, expected, .handComputed)
        // Subtracting the maximum makes a shift by 1000 harmless.
        assertClose(try evaluate(.softmax(axis: 0), [HostTensor([1001, 1002, 1003], [3])]).values, expected, .handComputed)
        assertClose(
            try evaluate(.logSoftmax(axis: 0), [HostTensor([1001, 1002, 1003], [3])]).values, expected.map { Foundation.log($0) },
            .handComputed)
    }

    func testSoftmaxAlongTheFirstAxisOfAMatrix() throws {
        // Columns of [[0, 5], [ln 3, 5]] are independent: [1/4, 3/4] and [1/2, 1/2].
        let y = try evaluate(.softmax(axis: 0), [HostTensor([0, 5, Foundation.log(3), 5], [2, 2])])
        assertClose(y.values, [0.25, 0.5, 0.75, 0.5], .handComputed)
        let logY = try evaluate(.logSoftmax(axis: 0), [HostTensor([0, 5, Foundation.log(3), 5], [2, 2])])
        assertClose(logY.values, [0.25, 0.5, 0.75, 0.5].map { Foundation.log($0) }, .handComputed)
    }
}
