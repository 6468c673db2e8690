// PNG: writes 8-bit greyscale or RGB images for sample grids, kernels and feature maps, through the
// system's libpng (its simplified API, which reports errors in the image struct instead of longjmp).
import CPNG
import Foundation
import KilnFiles

public enum PNG {
    /// Encodes `pixels` (row-major; 1 byte per pixel for greyscale, 3 for RGB) as a PNG file.
    public static func encode(width: Int, height: Int, pixels: [UInt8], rgb: Bool = false) throws -> Data {
        let channels = rgb ? 3 : 1
        guard width > 0, height > 0, pixels.count == width * height * channels else {
            throw DataError.unwritable(
                file: "PNG", reason: "\(pixels.count) bytes for a \(width)×\(height) image with \(channels) channel(s)")
        }
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        image.width = png_uint_32(width)
        image.height = png_uint_32(height)
        image.format = rgb ? png_uint_32(PNG_FORMAT_RGB) : png_uint_32(PNG_FORMAT_GRAY)
        defer { png_image_free(&image) }
        // The first call measures, the second writes.
        var size: png_alloc_size_t = 0
        let measured = pixels.withUnsafeBytes { png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, 0, nil) }
        guard measured != 0 else { throw DataError.unwritable(file: "PNG", reason: "libpng: \(message(image))") }
        var file = [UInt8](repeating: 0, count: Int(size))
        let written = file.withUnsafeMutableBytes { output in
            pixels.withUnsafeBytes { png_image_write_to_memory(&image, output.baseAddress, &size, 0, $0.baseAddress, 0, nil) }
        }
        guard written != 0 else { throw DataError.unwritable(file: "PNG", reason: "libpng: \(message(image))") }
        return Data(file[0..<Int(size)])
    }

    /// Writes the PNG atomically.
    public static func write(width: Int, height: Int, pixels: [UInt8], rgb: Bool = false, to url: URL) throws {
        try AtomicFile.write(try encode(width: width, height: height, pixels: pixels, rgb: rgb), to: url)
    }

    /// Greyscale pixels from floats, mapping `low...high` to 0...255 (clamped).
    public static func greyscale(_ values: [Float], low: Float, high: Float) -> [UInt8] {
        let span = max(high - low, .leastNormalMagnitude)
        return values.map { UInt8(max(0, min(255, (($0 - low) / span * 255).rounded()))) }
    }

    /// libpng's message for the last failure on `image`.
    static func message(_ image: png_image) -> String {
        withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
