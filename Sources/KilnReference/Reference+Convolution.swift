// Reference 2-D convolution (cross-correlation, NCHW input, OIHW weight) and its two gradients.
// All three share one correspondence: output position (oh, ow) and kernel tap (kh, kw) read input
// row oh * strideH - padTop + kh * dilationH and column ow * strideW - padLeft + kw * dilationW.

import KilnCore

extension ReferenceBackend {
    /// `y[n, o, oh, ow] = bias[o] + sum over c, kh, kw of x[n, g * C/groups + c, ih, iw] * w[o, c, kh, kw]`,
    /// where `g = o / (O / groups)` is the group of output channel `o`; positions in the padding read zero.
    func conv2d(
        _ x: [Scalar], _ xShape: Shape, weight: [Scalar], _ weightShape: Shape, bias: [Scalar]?,
        _ attributes: Convolution2D, outputShape: Shape
    ) -> [Scalar] {
        let geometry = ConvolutionGeometry(input: xShape, weight: weightShape, output: outputShape, attributes)
        var y = [Scalar](repeating: 0, count: outputShape.count)
        for n in 0..<geometry.batch {
            for o in 0..<geometry.outputChannels {
                for oh in 0..<geometry.outputHeight {
                    for ow in 0..<geometry.outputWidth {
                        var sum: Scalar = bias?[o] ?? 0
                        for c in 0..<geometry.channelsPerGroup {
                            for kh in 0..<geometry.kernelHeight {
                                for kw in 0..<geometry.kernelWidth {
                                    guard let xIndex = geometry.inputIndex(n: n, o: o, c: c, oh: oh, ow: ow, kh: kh, kw: kw) else {
                                        continue
                                    }
                                    sum += x[xIndex] * weight[geometry.weightIndex(o: o, c: c, kh: kh, kw: kw)]
                                }
                            }
                        }
                        y[geometry.outputIndex(n: n, o: o, oh: oh, ow: ow)] = sum
                    }
                }
            }
        }
        return y
    }

    /// The gradient with respect to the input: every product `x[...] * w[...]` of the forward pass sends
    /// `dy * w` back to the input element it read. Input elements no window reads get zero.
    func conv2dBackwardInput(
        dy: [Scalar], _ dyShape: Shape, weight: [Scalar], _ weightShape: Shape, _ attributes: Convolution2D, inputShape: Shape
    ) -> [Scalar] {
        let geometry = ConvolutionGeometry(input: inputShape, weight: weightShape, output: dyShape, attributes)
        var dx = [Scalar](repeating: 0, count: inputShape.count)
        for n in 0..<geometry.batch {
            for o in 0..<geometry.outputChannels {
                for oh in 0..<geometry.outputHeight {
                    for ow in 0..<geometry.outputWidth {
                        let gradient = dy[geometry.outputIndex(n: n, o: o, oh: oh, ow: ow)]
                        for c in 0..<geometry.channelsPerGroup {
                            for kh in 0..<geometry.kernelHeight {
                                for kw in 0..<geometry.kernelWidth {
                                    guard let xIndex = geometry.inputIndex(n: n, o: o, c: c, oh: oh, ow: ow, kh: kh, kw: kw) else {
                                        continue
                                    }
                                    dx[xIndex] += gradient * weight[geometry.weightIndex(o: o, c: c, kh: kh, kw: kw)]
                                }
                            }
                        }
                    }
                }
            }
        }
        return dx
    }

    /// The gradient with respect to the weight: `dw[o, c, kh, kw]` sums `dy * x` over every batch element
    /// and output position at which that tap read an input element (padding contributes nothing).
    func conv2dBackwardWeight(
        _ x: [Scalar], _ xShape: Shape, dy: [Scalar], _ dyShape: Shape, _ attributes: Convolution2D, weightShape: Shape
    ) -> [Scalar] {
        let geometry = ConvolutionGeometry(input: xShape, weight: weightShape, output: dyShape, attributes)
        var dw = [Scalar](repeating: 0, count: weightShape.count)
        for o in 0..<geometry.outputChannels {
            for c in 0..<geometry.channelsPerGroup {
                for kh in 0..<geometry.kernelHeight {
                    for kw in 0..<geometry.kernelWidth {
                        var sum: Scalar = 0
                        for n in 0..<geometry.batch {
                            for oh in 0..<geometry.outputHeight {
                                for ow in 0..<geometry.outputWidth {
                                    guard let xIndex = geometry.inputIndex(n: n, o: o, c: c, oh: oh, ow: ow, kh: kh, kw: kw) else {
                                        continue
                                    }
                                    sum += dy[geometry.outputIndex(n: n, o: o, oh: oh, ow: ow)] * x[xIndex]
                                }
                            }
                        }
                        dw[geometry.weightIndex(o: o, c: c, kh: kh, kw: kw)] = sum
                    }
                }
            }
        }
        return dw
    }
}

/// The sizes of one convolution and the index arithmetic its three passes share.
struct ConvolutionGeometry {
    let batch: Int, channels: Int, inputHeight: Int, inputWidth: Int
    let outputChannels: Int, outputHeight: Int, outputWidth: Int
    let channelsPerGroup: Int, outputChannelsPerGroup: Int
    let kernelHeight: Int, kernelWidth: Int
    let attributes: Convolution2D

    init(input: Shape, weight: Shape, output: Shape, _ attributes: Convolution2D) {
        (batch, channels, inputHeight, inputWidth) = (input[0], input[1], input[2], input[3])
        (outputChannels, outputHeight, outputWidth) = (output[1], output[2], output[3])
        (channelsPerGroup, kernelHeight, kernelWidth) = (weight[1], weight[2], weight[3])
        outputChannelsPerGroup = outputChannels / attributes.groups
        self.attributes = attributes
    }

    /// The flat index of the input element that output `[n, o, oh, ow]` reads at tap `[c, kh, kw]` of its
    /// weight, or nil when the tap falls in the padding.
    func inputIndex(n: Int, o: Int, c: Int, oh: Int, ow: Int, kh: Int, kw: Int) -> Int? {
        // Output channel o belongs to group o / (O / groups), which reads input channels
        // group * (C / groups) ..< (group + 1) * (C / groups).
        let inputChannel = (o / outputChannelsPerGroup) * channelsPerGroup + c
        // padding is [top, left, bottom, right]; the window starts padTop rows above row oh * stride.
        let ih = oh * attributes.stride[0] - attributes.padding[0] + kh * attributes.dilation[0]
        let iw = ow * attributes.stride[1] - attributes.padding[1] + kw * attributes.dilation[1]
        guard ih >= 0, ih < inputHeight, iw >= 0, iw < inputWidth else { return nil }
        return ((n * channels + inputChannel) * inputHeight + ih) * inputWidth + iw
    }

    /// The flat index of `w[o, c, kh, kw]` (OIHW, with I = C / groups).
    func weightIndex(o: Int, c: Int, kh: Int, kw: Int) -> Int {
        ((o * channelsPerGroup + c) * kernelHeight + kh) * kernelWidth + kw
    }

    /// The flat index of `y[n, o, oh, ow]` (NCHW).
    func outputIndex(n: Int, o: Int, oh: Int, ow: Int) -> Int {
        ((n * outputChannels + o) * outputHeight + oh) * outputWidth + ow
    }
}
