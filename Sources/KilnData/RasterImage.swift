// RasterImage: a decoded 8-bit image (grey or RGB, channels interleaved, as PNG and JPEG decoders give it),
// the channel conversion a model's input may need (ITU-R BT.601 luma, bit for bit as Pillow's
// `convert("L")`), and the planar [C, H, W] layout a model reads.

/// A decoded image with 8-bit samples: 1 channel (grey) or 3 (RGB), channels interleaved, rows top to bottom.
public struct RasterImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// 1 (grey) or 3 (RGB).
    public let channels: Int
    /// Sample `c` of the pixel at row `y`, column `x` is `pixels[(y * width + x) * channels + c]`.
    public let pixels: [UInt8]

    /// An image of `width × height` pixels of `channels` samples each; `pixels.count` must be their product.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && (channels == 1 || channels == 3), "RasterImage: \(width)×\(height)×\(channels)")
        precondition(pixels.count == width * height * channels, "RasterImage: \(pixels.count) samples for \(width)×\(height)×\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The image with `channels` channels: grey to RGB repeats the grey value; RGB to grey is ITU-R BT.601
    /// luma, `L = (19595 R + 38470 G + 7471 B + 32768) >> 16` (0.299 R + 0.587 G + 0.114 B, rounded), the
    /// integer formula of Pillow's `convert("L")` and so of torchvision's `Grayscale()`.
    public func converted(toChannels target: Int) -> RasterImage {
        precondition(target == 1 || target == 3, "RasterImage: \(target) channels")
        if target == channels { return self }
        let count = width * height
        if target == 3 {
            var rgb = [UInt8](repeating: 0, count: count * 3)
            for pixel in 0..<count {
                rgb[3 * pixel] = pixels[pixel]
                rgb[3 * pixel + 1] = pixels[pixel]
                rgb[3 * pixel + 2] = pixels[pixel]
            }
            return RasterImage(width: width, height: height, channels: 3, pixels: rgb)
        }
        var grey = [UInt8](repeating: 0, count: count)
        for pixel in 0..<count {
            let (red, green, blue) = (Int(pixels[3 * pixel]), Int(pixels[3 * pixel + 1]), Int(pixels[3 * pixel + 2]))
            grey[pixel] = UInt8((red * 19595 + green * 38470 + blue * 7471 + 0x8000) >> 16)
        }
        return RasterImage(width: width, height: height, channels: 1, pixels: grey)
    }

    /// The image converted to `channels` and resized to `height × width` (conversion first, as torchvision's
    /// `Grayscale()` or the RGB loader run before `Resize`).
    public func fitted(channels target: Int, height newHeight: Int, width newWidth: Int) -> RasterImage {
        converted(toChannels: target).resized(width: newWidth, height: newHeight)
    }

    /// The samples in planar order, `[channels, height, width]`, as a model reads them.
    public var planarPixels: [UInt8] {
        if channels == 1 { return pixels }
        let count = width * height
        var planar = [UInt8](repeating: 0, count: pixels.count)
        for pixel in 0..<count {
            for channel in 0..<channels { planar[channel * count + pixel] = pixels[pixel * channels + channel] }
        }
        return planar
    }
}

/// Bounds on the images a decoder accepts, so a hostile header cannot make it allocate without limit.
public struct ImageLimits: Sendable {
    /// The most pixels one image may have. The default is Pillow's: it refuses images of more than
    /// 178,956,970 pixels (twice its `MAX_IMAGE_PIXELS`) as decompression bombs.
    public var maximumPixels: Int

    public init(maximumPixels: Int = 178_956_970) {
        self.maximumPixels = maximumPixels
    }

    public static let standard = ImageLimits()

    /// Throws unless a `width × height` image is within the limits; `file` names the image in the error.
    func check(width: Int, height: Int, file: String) throws {
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard width > 0, height > 0 else {
            throw DataError.invalidHeader(file: file, reason: "the image is \(width)×\(height) pixels; it needs at least one")
        }
        guard !overflow, pixels <= maximumPixels else {
            throw DataError.invalidHeader(
                file: file, reason: "the image is \(width)×\(height) pixels, more than the limit of \(maximumPixels)")
        }
    }
}
