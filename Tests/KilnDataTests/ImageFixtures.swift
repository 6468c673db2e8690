// Image files made in the tests: PNGs assembled chunk by chunk (any bit depth and colour type, extra or
// corrupt chunks, headers that lie) and JPEGs compressed by libjpeg-turbo (grey, RGB, CMYK, progressive).
import CTurboJPEG
import CZlib
import Foundation
import XCTest

@testable import KilnData

enum ImageFixtures {
    /// A PNG chunk: length, type, data and CRC (over type and data).
    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        let crc = body.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
        return bigEndian(UInt32(data.count)) + body + bigEndian(crc)
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }

    /// A non-interlaced PNG from raw scanlines (each row's bytes without the filter byte, which is 0).
    /// `chunks` go between IHDR and IDAT (PLTE, tRNS, gAMA); `width`/`height` may lie about the rows.
    static func png(
        width: Int, height: Int, bitDepth: UInt8, colorType: UInt8, rows: [[UInt8]], chunks: [(String, [UInt8])] = []
    ) -> Data {
        let header = bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [bitDepth, colorType, 0, 0, 0]
        let raw: [UInt8] = rows.flatMap { row -> [UInt8] in [0] + row }
        var compressedSize = compressBound(UInt(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedSize))
        let status = compress2(&compressed, &compressedSize, raw, UInt(raw.count), 9)
        precondition(status == Z_OK, "zlib compress2 failed")
        var file = PNG.signature + chunk("IHDR", header)
        for (type, data) in chunks { file += chunk(type, data) }
        file += chunk("IDAT", Array(compressed[0..<Int(compressedSize)])) + chunk("IEND", [])
        return Data(file)
    }

    /// A JPEG of `pixels` (`width × height` pixels in `format`: TJPF_GRAY, TJPF_RGB or TJPF_CMYK).
    static func jpeg(
        width: Int, height: Int, pixels: [UInt8], format: TJPF, subsampling: TJSAMP = TJSAMP_444, quality: Int32 = 100,
        progressive: Bool = false
    ) throws -> Data {
        let handle = try XCTUnwrap(tjInitCompress())
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let flags = TJFLAG_ACCURATEDCT | (progressive ? TJFLAG_PROGRESSIVE : 0)
        let subsampling = format == TJPF_GRAY ? TJSAMP_GRAY : subsampling
        let status = tjCompress2(
            handle, pixels, Int32(width), 0, Int32(height), Int32(format.rawValue), &output, &size, Int32(subsampling.rawValue), quality,
            flags)
        defer { tjFree(output) }
        XCTAssertEqual(status, 0, String(cString: tjGetErrorStr2(handle)))
        let bytes = try XCTUnwrap(output)
        return Data(bytes: bytes, count: Int(size))
    }

    /// Pixels `value(x, y, channel)`, interleaved, rows top to bottom.
    static func pixels(width: Int, height: Int, channels: Int, _ value: (Int, Int, Int) -> Int) -> [UInt8] {
        var pixels: [UInt8] = []
        for y in 0..<height {
            for x in 0..<width {
                for channel in 0..<channels { pixels.append(UInt8(truncatingIfNeeded: value(x, y, channel))) }
            }
        }
        return pixels
    }

    /// A pattern with gradients and edges, the same for every run.
    static func pattern(width: Int, height: Int, channels: Int) -> [UInt8] {
        pixels(width: width, height: height, channels: channels) { x, y, c in (x * 37 + y * 91 + 13 + c * 71) % 256 }
    }

    /// FNV-1a over bytes: a short stand-in for a long list of expected pixels computed elsewhere.
    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
}
