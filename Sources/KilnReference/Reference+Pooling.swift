// Reference 2-D pooling (NCHW): max and average over windows, and their gradients. Window (oh, ow) tap
// (kh, kw) reads input row oh * strideH - padTop + kh * dilationH and column ow * strideW - padLeft + kw * dilationW.

import KilnCore

extension ReferenceBackend {
    /// The maximum over each window's taps inside the input; padding never wins. A window lying wholly in
    /// the padding (possible only with dilation) gives 0.
    func maxPool2d(_ x: [Scalar], _ xShape: Shape, _ attributes: Pooling2D, outputShape: Shape) -> [Scalar] {
        let geometry = PoolingGeometry(input: xShape, output: outputShape, attributes)
        var y = [Scalar](repeating: 0, count: outputShape.count)
        for plane in 0..<geometry.planes {
            for oh in 0..<geometry.outputHeight {
                for ow in 0..<geometry.outputWidth {
                    if let winner = geometry.firstMaximum(x, plane: plane, oh: oh, ow: ow) {
                        y[geometry.outputIndex(plane: plane, oh: oh, ow: ow)] = x[winner]
                    }
                }
            }
        }
        return y
    }

    /// Each window's `dy` goes to the first maximum of the window in row-major tap order (on ties the
    /// first wins), accumulating where windows overlap.
    func maxPool2dBackward(_ x: [Scalar], _ xShape: Shape, dy: [Scalar], _ dyShape: Shape, _ attributes: Pooling2D) -> [Scalar] {
        let geometry = PoolingGeometry(input: xShape, output: dyShape, attributes)
        var dx = [Scalar](repeating: 0, count: xShape.count)
        for plane in 0..<geometry.planes {
            for oh in 0..<geometry.outputHeight {
                for ow in 0..<geometry.outputWidth {
                    if let winner = geometry.firstMaximum(x, plane: plane, oh: oh, ow: ow) {
                        dx[winner] += dy[geometry.outputIndex(plane: plane, oh: oh, ow: ow)]
                    }
                }
            }
        }
        return dx
    }

    /// The sum over each window's taps inside the input, divided by `kernelH * kernelW` when
    /// `countIncludePadding`, else by the number of taps inside the input (0 when there are none).
    func avgPool2d(_ x: [Scalar], _ xShape: Shape, _ attributes: Pooling2D, outputShape: Shape) -> [Scalar] {
        let geometry = PoolingGeometry(input: xShape, output: outputShape, attributes)
        var y = [Scalar](repeating: 0, count: outputShape.count)
        for plane in 0..<geometry.planes {
            for oh in 0..<geometry.outputHeight {
                for ow in 0..<geometry.outputWidth {
                    let taps = geometry.inputIndices(plane: plane, oh: oh, ow: ow)
                    let divisor = geometry.divisor(insideTaps: taps.count)
                    guard divisor > 0 else { continue }
                    y[geometry.outputIndex(plane: plane, oh: oh, ow: ow)] = taps.map { x[$0] }.reduce(0, +) / Scalar(divisor)
                }
            }
        }
        return y
    }

    /// Each window's `dy / divisor` added to every input element the window read.
    func avgPool2dBackward(dy: [Scalar], _ dyShape: Shape, _ attributes: Pooling2D, inputShape: Shape) -> [Scalar] {
        let geometry = PoolingGeometry(input: inputShape, output: dyShape, attributes)
        var dx = [Scalar](repeating: 0, count: inputShape.count)
        for plane in 0..<geometry.planes {
            for oh in 0..<geometry.outputHeight {
                for ow in 0..<geometry.outputWidth {
                    let taps = geometry.inputIndices(plane: plane, oh: oh, ow: ow)
                    let divisor = geometry.divisor(insideTaps: taps.count)
                    guard divisor > 0 else { continue }
                    let share = dy[geometry.outputIndex(plane: plane, oh: oh, ow: ow)] / Scalar(divisor)
                    for tap in taps { dx[tap] += share }
                }
            }
        }
        return dx
    }
}

/// The sizes of one pooling and the window arithmetic its passes share. Batch and channel are folded
/// into one `plane` index, since pooling treats every `[n, c]` plane alike.
struct PoolingGeometry {
    let planes: Int, inputHeight: Int, inputWidth: Int
    let outputHeight: Int, outputWidth: Int
    let attributes: Pooling2D

    init(input: Shape, output: Shape, _ attributes: Pooling2D) {
        (planes, inputHeight, inputWidth) = (input[0] * input[1], input[2], input[3])
        (outputHeight, outputWidth) = (output[2], output[3])
        self.attributes = attributes
    }

    /// The flat input indices window `[plane, oh, ow]` reads, in row-major tap order, skipping taps in the padding.
    func inputIndices(plane: Int, oh: Int, ow: Int) -> [Int] {
        var indices: [Int] = []
        for kh in 0..<attributes.kernel[0] {
            for kw in 0..<attributes.kernel[1] {
                // padding is [top, left, bottom, right]; the window starts padTop rows above row oh * stride.
                let ih = oh * attributes.stride[0] - attributes.padding[0] + kh * attributes.dilation[0]
                let iw = ow * attributes.stride[1] - attributes.padding[1] + kw * attributes.dilation[1]
                guard ih >= 0, ih < inputHeight, iw >= 0, iw < inputWidth else { continue }
                indices.append((plane * inputHeight + ih) * inputWidth + iw)
            }
        }
        return indices
    }

    /// The index of the first largest input element of the window, or nil when it reads none.
    func firstMaximum<Scalar: ReferenceScalar>(_ x: [Scalar], plane: Int, oh: Int, ow: Int) -> Int? {
        var winner: Int?
        for index in inputIndices(plane: plane, oh: oh, ow: ow) {
            // Strictly greater, so a later equal value does not displace the first.
            if let current = winner, !(x[index] > x[current]) { continue }
            winner = index
        }
        return winner
    }

    /// What a window's sum is divided by, given how many of its taps lie inside the input.
    func divisor(insideTaps: Int) -> Int {
        attributes.countIncludePadding ? attributes.kernel[0] * attributes.kernel[1] : insideTaps
    }

    /// The flat index of `y[plane, oh, ow]`.
    func outputIndex(plane: Int, oh: Int, ow: Int) -> Int {
        (plane * outputHeight + oh) * outputWidth + ow
    }
}
