// PNG+Decode: reads PNG files into 8-bit grey or RGB images through libpng's simplified API (which reports
// errors in the image struct instead of longjmp), and reads a PNG's size and colour type from its header.
import CPNG
import Foundation

extension PNG {
    /// The eight bytes every PNG file starts with.
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Decodes a PNG file's bytes; `file` names it in errors.
    ///
    /// Colour images (RGB, or a palette) give 3 channels, grey ones 1. An alpha channel (or a tRNS chunk) is
    /// dropped, as Pillow's `convert("RGB")` and `convert("L")` drop it. 16-bit samples become 8-bit ones
    /// (`round(v · 255 / 65535)`), taken as sRGB-encoded when the file has no gamma chunk (libpng would
    /// otherwise assume linear light); a file's gAMA, cHRM or sRGB chunk is honoured.
    public static func decode(_ data: Data, file: String, limits: ImageLimits = .standard) throws -> RasterImage {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        let began = data.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard began != 0 else { throw DataError.unreadable(file: file, reason: "not a valid PNG file: libpng: \(message(image))") }
        let (width, height) = (Int(image.width), Int(image.height))
        try limits.check(width: width, height: height, file: file)
        // Deflate packs at most 1,032 bytes into one, and a 1-bit image has 8 pixels a byte: a larger image
        // cannot be in a file of this size, so refuse it before allocating for it.
        let (bound, overflow) = data.count.multipliedReportingOverflow(by: 1032 * 8)
        guard overflow || width * height <= bound else {
            throw DataError.invalidHeader(
                file: file, reason: "declares \(width)×\(height) pixels, more than a PNG file of \(data.count) bytes can hold")
        }
        let color = image.format & png_uint_32(PNG_FORMAT_FLAG_COLOR) != 0
        let alpha = image.format & png_uint_32(PNG_FORMAT_FLAG_ALPHA) != 0
        let channels = color ? 3 : 1
        let stored = channels + (alpha ? 1 : 0)
        // 8-bit samples, the alpha channel kept (and dropped below) so libpng does not composite with it.
        image.format = (color ? png_uint_32(PNG_FORMAT_FLAG_COLOR) : 0) | (alpha ? png_uint_32(PNG_FORMAT_FLAG_ALPHA) : 0)
        image.flags |= png_uint_32(PNG_IMAGE_FLAG_16BIT_sRGB)
        var samples = [UInt8](repeating: 0, count: width * height * stored)
        let finished = samples.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
        guard finished != 0 else { throw DataError.unreadable(file: file, reason: "corrupt or truncated PNG: libpng: \(message(image))") }
        if alpha {
            var opaque = [UInt8](repeating: 0, count: width * height * channels)
            for pixel in 0..<width * height {
                for channel in 0..<channels { opaque[pixel * channels + channel] = samples[pixel * stored + channel] }
            }
            samples = opaque
        }
        return RasterImage(width: width, height: height, channels: channels, pixels: samples)
    }

    /// Width, height and channels (3 for colour or palette images, 1 for grey) from the header at the start
    /// of a PNG file (its first 33 bytes), without decoding it; nil when `prefix` is not a PNG header.
    static func header(_ prefix: [UInt8]) -> (width: Int, height: Int, channels: Int)? {
        // Signature, then the IHDR chunk: length 13, "IHDR", width and height (big-endian), bit depth, colour type.
        guard prefix.count >= 26, Array(prefix[0..<8]) == signature, Array(prefix[12..<16]) == Array("IHDR".utf8) else { return nil }
        func bigEndian(_ offset: Int) -> Int { prefix[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } }
        let colorType = prefix[25]
        return (bigEndian(16), bigEndian(20), colorType & 2 != 0 ? 3 : 1)
    }
}
