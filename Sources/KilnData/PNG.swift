// PNG: writes 8-bit greyscale or RGB images (zlib-compressed, CRC-checked chunks) for sample grids,
// kernels and feature maps.
import CZlib
import Foundation

public enum PNG {
    /// Encodes `pixels` (row-major; 1 byte per pixel for greyscale, 3 for RGB) as a PNG file.
    public static func encode(width: Int, height: Int, pixels: [UInt8], rgb: Bool = false) throws -> Data {
        let channels = rgb ? 3 : 1
        guard width > 0, height > 0, pixels.count == width * height * channels else {
            throw DataError.unwritable(file: "PNG", reason: "\(pixels.count) bytes for a \(width)×\(height) image with \(channels) channel(s)")
        }
        // Each row starts with filter type 0 (none).
        var raw = [UInt8]()
        raw.reserveCapacity(height * (width * channels + 1))
        for row in 0..<height {
            raw.append(0)
            raw += pixels[(row * width * channels)..<((row + 1) * width * channels)]
        }
        var compressedSize = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedSize))
        guard compress2(&compressed, &compressedSize, raw, uLong(raw.count), Z_BEST_COMPRESSION) == Z_OK else {
            throw DataError.unwritable(file: "PNG", reason: "zlib could not compress the image")
        }
        var header = Data()
        header.append(bigEndian(UInt32(width)))
        header.append(bigEndian(UInt32(height)))
        header.append(contentsOf: [8, rgb ? 2 : 0, 0, 0, 0])  // bit depth, colour type, compression, filter, interlace
        var file = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        file.append(chunk("IHDR", header))
        file.append(chunk("IDAT", Data(compressed[0..<Int(compressedSize)])))
        file.append(chunk("IEND", Data()))
        return file
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

    private static func chunk(_ type: String, _ body: Data) -> Data {
        var typed = Data(type.utf8)
        typed.append(body)
        var chunk = bigEndian(UInt32(body.count))
        chunk.append(typed)
        let checksum = typed.withUnsafeBytes { crc32(0, $0.bindMemory(to: Bytef.self).baseAddress, uInt($0.count)) }
        chunk.append(bigEndian(UInt32(checksum)))
        return chunk
    }

    private static func bigEndian(_ value: UInt32) -> Data { withUnsafeBytes(of: value.bigEndian) { Data($0) } }
}
