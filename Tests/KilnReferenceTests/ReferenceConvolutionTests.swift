// Reference conv2d: the textbook 1-D convolution as conv2d with a flipped kernel, a hand-computed 2-D case
// with bias, groups as independent convolutions, and both backward ops against central differences.

import KilnCore
import KilnReference
import KilnTestSupport
import XCTest

final class ReferenceConvolutionTests: XCTestCase {
    /// The textbook convolution: flip the second vector and slide it across the first,
    /// `(f * k)[n] = sum over m of f[m] k[n - m]`, for every `n` where the two overlap.
    private func textbookConvolution(_ f: [Double], _ k: [Double]) -> [Double] {
        var result = [Double](repeating: 0, count: f.count + k.count - 1)
        for n in result.indices {
            for m in f.indices where n - m >= 0 && n - m < k.count {
                result[n] += f[m] * k[n - m]
            }
        }
        return result
    }

    func testTextbookConvolutionIsConv2dWithAFlippedKernel() throws {
        XCTAssertEqual(textbookConvolution([1, 2, 3], [0, 1, 0.5]), [0, 1, 2.5, 4, 1.5], "the formula itself, by hand")
        var random = SplitMix64(seed: 3)
        for (width, kernel) in [(3, 3), (7, 3), (5, 5), (11, 2), (1, 1)] {
            let f = random.values(width)
            let k = random.values(kernel)
            // A 1 x K kernel over a 1 x W image, padded by K - 1 on the left and right: every overlap.
            let attributes = Convolution2D(padding: [0, kernel - 1, 0, kernel - 1])
            let y = try evaluate(.conv2d(attributes), [HostTensor(f, [1, 1, 1, width]), HostTensor(k.reversed(), [1, 1, 1, kernel])])
            XCTAssertEqual(y.shape, [1, 1, 1, width + kernel - 1])
            assertClose(y.values, textbookConvolution(f, k), Tolerance.handComputed, "width \(width), kernel \(kernel)")
        }
    }

    func testHandComputedConvolutionWithBias() throws {
        // w = [[1, 0], [0, -1]] computes x[i, j] - x[i + 1, j + 1], which is -4 everywhere on 1...9.
        let x = HostTensor((1...9).map(Double.init), [1, 1, 3, 3])
        let w = HostTensor([1, 0, 0, -1], [1, 1, 2, 2])
        XCTAssertEqual(try evaluate(.conv2d(Convolution2D()), [x, w]).values, [-4, -4, -4, -4])
        XCTAssertEqual(try evaluate(.conv2d(Convolution2D()), [x, w, HostTensor([1], [1])]).values, [-3, -3, -3, -3])
        // Stride 2 with one row and column of zero padding at the top and left: windows start at -1 and 1.
        let strided = try evaluate(.conv2d(Convolution2D(stride: [2, 2], padding: [1, 1, 0, 0])), [x, w])
        XCTAssertEqual(strided.shape, [1, 1, 2, 2])
        // Window at (-1, -1): 0 - x[0, 0]; (-1, 1): 0 - x[0, 2]; (1, -1): 0 - x[2, 0]; (1, 1): x[1, 1] - x[2, 2].
        XCTAssertEqual(strided.values, [-1, -3, -7, 5 - 9])
    }

    func testGroupsAreIndependentConvolutionsOfTheChannelGroups() throws {
        var random = SplitMix64(seed: 4)
        let attributes = Convolution2D(stride: [1, 2], padding: [1, 0, 0, 1], groups: 2)
        let x = random.tensor([2, 4, 5, 6])
        let w = random.tensor([6, 2, 3, 2])
        let y = try evaluate(.conv2d(attributes), [x, w])
        var single = attributes
        single.groups = 1
        // Group g reads input channels 2g ..< 2g + 2 and writes output channels 3g ..< 3g + 3.
        var parts: [HostTensor] = []
        for group in 0..<2 {
            let xGroup = try evaluate(.slice(axis: 1, start: 2 * group, length: 2), [x])
            let wGroup = try evaluate(.slice(axis: 0, start: 3 * group, length: 3), [w])
            parts.append(try evaluate(.conv2d(single), [xGroup, wGroup]))
        }
        let expected = try evaluate(.concatenate(axis: 1), parts)
        XCTAssertEqual(y.shape, expected.shape)
        assertClose(y.values, expected.values, Tolerance.handComputed, "groups 2")
    }

    /// Shapes and attributes for the gradient checks: sizes 1, primes, stride 2, asymmetric padding,
    /// dilation 2, groups 2 and depthwise.
    private let gradientCases: [(label: String, x: Shape, w: Shape, attributes: Convolution2D)] = [
        ("all sizes 1", [1, 1, 1, 1], [1, 1, 1, 1], Convolution2D()),
        ("stride 2, asymmetric padding", [2, 3, 7, 5], [5, 3, 3, 2], Convolution2D(stride: [2, 2], padding: [1, 0, 2, 1])),
        ("dilation 2", [1, 2, 11, 7], [3, 2, 3, 3], Convolution2D(padding: [2, 1, 0, 2], dilation: [2, 2])),
        ("groups 2", [2, 4, 5, 5], [6, 2, 3, 3], Convolution2D(stride: [2, 1], padding: [1, 1, 1, 1], groups: 2)),
        ("depthwise, multiplier 2", [1, 3, 7, 6], [6, 1, 3, 3], Convolution2D(padding: [1, 2, 1, 0], dilation: [1, 2], groups: 3)),
        (
            "everything at once", [3, 2, 13, 11], [2, 1, 3, 2],
            Convolution2D(stride: [2, 3], padding: [0, 1, 2, 0], dilation: [2, 2], groups: 2)
        ),
    ]

    func testBackwardInputMatchesCentralDifferences() throws {
        var random = SplitMix64(seed: 5)
        for testCase in gradientCases {
            let attributes = testCase.attributes
            let x = random.values(testCase.x.count)
            let w = random.tensor(testCase.w)
            let dyShape = try Op.conv2d(attributes).outputShape(for: [testCase.x, testCase.w])
            try checkGradient(
                "conv2d input, \(testCase.label)", at: x,
                forward: { try evaluate(.conv2d(attributes), [HostTensor($0, testCase.x), w]).values },
                vjp: { g in
                    try evaluate(.conv2dBackwardInput(attributes, inputShape: testCase.x), [HostTensor(g, dyShape), w]).values
                },
                random: &random)
        }
    }

    func testBackwardWeightMatchesCentralDifferences() throws {
        var random = SplitMix64(seed: 6)
        for testCase in gradientCases {
            let attributes = testCase.attributes
            let x = random.tensor(testCase.x)
            let w = random.values(testCase.w.count)
            let dyShape = try Op.conv2d(attributes).outputShape(for: [testCase.x, testCase.w])
            try checkGradient(
                "conv2d weight, \(testCase.label)", at: w,
                forward: { try evaluate(.conv2d(attributes), [x, HostTensor($0, testCase.w)]).values },
                vjp: { g in
                    try evaluate(.conv2dBackwardWeight(attributes, weightShape: testCase.w), [x, HostTensor(g, dyShape)]).values
                },
                random: &random)
        }
    }
}
