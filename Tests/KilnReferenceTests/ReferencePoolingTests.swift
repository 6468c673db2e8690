// Reference pooling: the course's 6x6 max-pooling example, padding never winning, ties going to the first
// maximum, average pooling with and without counting padding, and both backward ops against central differences.

import KilnCore
import KilnReference
import KilnTestSupport
import XCTest

final class ReferencePoolingTests: XCTestCase {
    func testCourseMaxPoolingExample() throws {
        let x = HostTensor(
            [
                3, 0, 1, 5, 1, 3,
                5, 7, 3, 4, 4, 6,
                7, 7, 1, 8, 3, 5,
                6, 1, 7, 0, 0, 5,
                0, 4, 5, 5, 7, 2,
                3, 2, 0, 2, 0, 2,
            ], [1, 1, 6, 6])
        let y = try evaluate(.maxPool2d(Pooling2D(kernel: [2, 2], stride: [2, 2])), [x])
        XCTAssertEqual(y.shape, [1, 1, 3, 3])
        XCTAssertEqual(y.values, [7, 5, 6, 7, 8, 5, 4, 5, 7])
    }

    func testPaddingNeverWinsAMaxPool() throws {
        // All inputs negative: a padded zero would win if padding took part.
        let x = HostTensor([-3, -1, -2, -4], [1, 1, 2, 2])
        let y = try evaluate(.maxPool2d(Pooling2D(kernel: [2, 2], stride: [1, 1], padding: [1, 1, 1, 1])), [x])
        XCTAssertEqual(y.shape, [1, 1, 3, 3])
        XCTAssertEqual(y.values, [-3, -1, -1, -2, -1, -1, -2, -2, -4])
    }

    func testMaxPoolGradientGoesToTheFirstMaximum() throws {
        let attributes = Pooling2D(kernel: [2, 2])
        let dy = HostTensor([1], [1, 1, 1, 1])
        // Four equal values: the first in row-major window order wins.
        XCTAssertEqual(try evaluate(.maxPool2dBackward(attributes), [HostTensor([5, 5, 5, 1], [1, 1, 2, 2]), dy]).values, [1, 0, 0, 0])
        // A tie between the end of the first row and the start of the second: the first row wins.
        XCTAssertEqual(try evaluate(.maxPool2dBackward(attributes), [HostTensor([1, 7, 7, 2], [1, 1, 2, 2]), dy]).values, [0, 1, 0, 0])
        // Overlapping windows [1, 9] and [9, 2] both send their gradient to the 9.
        let overlapping = Pooling2D(kernel: [1, 2], stride: [1, 1])
        let dx = try evaluate(.maxPool2dBackward(overlapping), [HostTensor([1, 9, 2], [1, 1, 1, 3]), HostTensor([3, 4], [1, 1, 1, 2])])
        XCTAssertEqual(dx.values, [0, 7, 0])
    }

    func testAveragePoolingWithAndWithoutCountingPadding() throws {
        // [[1, 2], [3, 4]] with a 2x2 window, stride 1 and one cell of padding on every side: 3x3 windows,
        // e.g. the top-left one holds only the 1, the centre one all four.
        let x = HostTensor([1, 2, 3, 4], [1, 1, 2, 2])
        let sums: [Double] = [1, 3, 2, 4, 10, 6, 3, 7, 4]
        let inside: [Double] = [1, 2, 1, 2, 4, 2, 1, 2, 1]
        let including = Pooling2D(kernel: [2, 2], stride: [1, 1], padding: [1, 1, 1, 1], countIncludePadding: true)
        var excluding = including
        excluding.countIncludePadding = false
        XCTAssertEqual(try evaluate(.avgPool2d(including), [x]).values, sums.map { $0 / 4 })
        XCTAssertEqual(try evaluate(.avgPool2d(excluding), [x]).values, zip(sums, inside).map { $0 / $1 })
        // Without padding both modes agree: the mean of 2x2 blocks.
        let blocks = HostTensor((0..<16).map(Double.init), [1, 1, 4, 4])
        XCTAssertEqual(
            try evaluate(.avgPool2d(Pooling2D(kernel: [2, 2], countIncludePadding: false)), [blocks]).values, [2.5, 4.5, 10.5, 12.5])
    }

    /// With dilation a window can miss the input entirely: a 2x2 window with dilation 3 over a 2x2 input
    /// padded by 1 reads rows and columns -1 and 2 only. The shape rule rejects it for every pooling op.
    func testWindowWhollyInThePaddingIsRejected() {
        let attributes = Pooling2D(kernel: [2, 2], stride: [1, 1], padding: [1, 1, 1, 1], dilation: [3, 3], countIncludePadding: false)
        for op in [Op.maxPool2d(attributes), .avgPool2d(attributes)] {
            XCTAssertThrowsError(try op.outputShape(for: [[1, 1, 2, 2]])) { error in
                XCTAssertTrue("\(error)".contains("lies entirely in the padding"), "\(error)")
            }
        }
    }

    /// Shapes and attributes for the gradient checks: sizes 1, primes, overlapping windows, asymmetric
    /// padding and dilation.
    private let gradientCases: [(label: String, x: Shape, attributes: Pooling2D)] = [
        ("all sizes 1", [1, 1, 1, 1], Pooling2D(kernel: [1, 1])),
        ("2x2 stride 2", [2, 3, 6, 4], Pooling2D(kernel: [2, 2])),
        ("3x3 stride 2, padding 1, overlapping", [1, 2, 7, 5], Pooling2D(kernel: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1])),
        (
            "3x2 asymmetric padding, dilation 2", [3, 1, 11, 7],
            Pooling2D(kernel: [3, 2], stride: [1, 2], padding: [1, 0, 0, 1], dilation: [2, 1])
        ),
        ("1x3 stride 1", [1, 5, 3, 13], Pooling2D(kernel: [1, 3], stride: [1, 1], padding: [0, 1, 0, 0])),
    ]

    func testMaxPoolBackwardMatchesCentralDifferences() throws {
        var random = SplitMix64(seed: 8)
        for testCase in gradientCases {
            let attributes = testCase.attributes
            // Distinct values 0.01 apart: no ties, so a step of 1e-6 never moves a window's maximum.
            let x = random.distinctTensor(testCase.x).values
            try checkGradient(
                "max pool, \(testCase.label)", at: x,
                forward: { try evaluate(.maxPool2d(attributes), [HostTensor($0, testCase.x)]).values },
                vjp: { g in
                    let dyShape = try Op.maxPool2d(attributes).outputShape(for: [testCase.x])
                    return try evaluate(.maxPool2dBackward(attributes), [HostTensor(x, testCase.x), HostTensor(g, dyShape)]).values
                },
                random: &random)
        }
    }

    func testAvgPoolBackwardMatchesCentralDifferencesInBothCountModes() throws {
        var random = SplitMix64(seed: 9)
        for testCase in gradientCases {
            for countIncludePadding in [true, false] {
                var attributes = testCase.attributes
                attributes.countIncludePadding = countIncludePadding
                let x = random.values(testCase.x.count)
                let dyShape = try Op.avgPool2d(attributes).outputShape(for: [testCase.x])
                try checkGradient(
                    "avg pool, \(testCase.label), countIncludePadding \(countIncludePadding)", at: x,
                    forward: { try evaluate(.avgPool2d(attributes), [HostTensor($0, testCase.x)]).values },
                    vjp: { g in
                        try evaluate(.avgPool2dBackward(attributes, inputShape: testCase.x), [HostTensor(g, dyShape)]).values
                    },
                    random: &random)
            }
        }
    }
}
