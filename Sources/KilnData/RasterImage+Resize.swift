// RasterImage+Resize: resizing as torchvision's `Resize((H, W))` does for an image file: Pillow's bilinear
// filter, which widens its triangle by the scale factor when shrinking, so every output pixel averages the
// whole area of the input it covers (antialiasing) instead of sampling 4 pixels. Reproduced bit for bit:
// Pillow's coefficients, its 22-bit fixed-point sums, the horizontal pass first and 8-bit rounding between
// the passes.

extension RasterImage {
    /// The image resized to `width × height` with Pillow's antialiased bilinear filter (`Image.resize(size,
    /// Image.BILINEAR)`, which torchvision's `Resize` calls for images read from files).
    public func resized(width newWidth: Int, height newHeight: Int) -> RasterImage {
        precondition(newWidth > 0 && newHeight > 0, "RasterImage: resize to \(newWidth)×\(newHeight)")
        var image = self
        if newWidth != width {
            let taps = ResamplingTaps(inputSize: width, outputSize: newWidth)
            var output = [UInt8](repeating: 0, count: newWidth * height * channels)
            for y in 0..<height {
                for x in 0..<newWidth {
                    for channel in 0..<channels {
                        output[(y * newWidth + x) * channels + channel] = taps.sample(x) {
                            image.pixels[(y * width + $0) * channels + channel]
                        }
                    }
                }
            }
            image = RasterImage(width: newWidth, height: height, channels: channels, pixels: output)
        }
        if newHeight != height {
            let taps = ResamplingTaps(inputSize: height, outputSize: newHeight)
            var output = [UInt8](repeating: 0, count: newWidth * newHeight * channels)
            for y in 0..<newHeight {
                for x in 0..<newWidth {
                    for channel in 0..<channels {
                        output[(y * newWidth + x) * channels + channel] = taps.sample(y) {
                            image.pixels[($0 * newWidth + x) * channels + channel]
                        }
                    }
                }
            }
            image = RasterImage(width: newWidth, height: newHeight, channels: channels, pixels: output)
        }
        return image
    }
}

/// The input positions and fixed-point weights of each output position along one axis (Pillow's
/// `precompute_coeffs` and `normalize_coeffs_8bpc` for its bilinear filter).
private struct ResamplingTaps {
    /// Pillow's fixed point: 32 bits less 8 for the sample, less 2 for overflow.
    static let precisionBits = 22

    /// The first input position of each output position, and its weights.
    private let first: [Int]
    private let weights: [[Int32]]

    init(inputSize: Int, outputSize: Int) {
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1)
        let support = 1.0 * filterScale  // the triangle's half-width (1 for bilinear), widened when shrinking
        let inverseScale = 1 / filterScale
        var first: [Int] = []
        var weights: [[Int32]] = []
        for position in 0..<outputSize {
            let center = (Double(position) + 0.5) * scale
            // Pillow rounds by adding 0.5 and truncating toward zero.
            let low = max(Int(center - support + 0.5), 0)
            let high = min(Int(center + support + 0.5), inputSize)
            var taps = (low..<high).map { input -> Double in
                let distance = abs((Double(input) - center + 0.5) * inverseScale)
                return distance < 1 ? 1 - distance : 0
            }
            let total = taps.reduce(0, +)
            if total != 0 { taps = taps.map { $0 / total } }
            let one = Double(1 << Self.precisionBits)
            first.append(low)
            weights.append(taps.map { Int32($0 < 0 ? -0.5 + $0 * one : 0.5 + $0 * one) })
        }
        self.first = first
        self.weights = weights
    }

    /// The output sample at `position`, from the input samples `input(i)`: the weighted sum rounded (half
    /// a unit added before the shift) and clamped to 0...255.
    func sample(_ position: Int, input: (Int) -> UInt8) -> UInt8 {
        var sum = 1 << (Self.precisionBits - 1)
        for (offset, weight) in weights[position].enumerated() { sum += Int(input(first[position] + offset)) * Int(weight) }
        return UInt8(max(0, min(255, sum >> Self.precisionBits)))
    }
}
