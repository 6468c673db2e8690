// PNG: files libpng writes that libpng reads back to the same pixels (greyscale and RGB, odd sizes), and the
// errors for a pixel count that does not match.
import CPNG
import Foundation
import XCTest

@testable import KilnData

final class PNGTests: XCTestCase {
    /// Width, height, format and pixels of a PNG file, read with libpng's simplified API.
    private func read(_ file: Data) throws -> (width: Int, height: Int, rgb: Bool, pixels: [UInt8]) {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        let bytes = [UInt8](file)
        let opened = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        XCTAssertNotEqual(opened, 0, "libpng refused the header")
        let rgb = image.format & png_uint_32(PNG_FORMAT_FLAG_COLOR) != 0
        var pixels = [UInt8](repeating: 0, count: Int(image.width * image.height) * (rgb ? 3 : 1))
        let finished = pixels.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
        XCTAssertNotEqual(finished, 0, "libpng could not read the image")
        return (Int(image.width), Int(image.height), rgb, pixels)
    }

    func testGreyscaleAndRGBRoundTrip() throws {
        for (width, height, rgb) in [(5, 3, false), (1, 1, false), (7, 13, true), (28, 28, false)] {
            let count = width * height * (rgb ? 3 : 1)
            let pixels: [UInt8] = (0..<count).map { UInt8(($0 * 37 + 11) % 256) }
            let file = try PNG.encode(width: width, height: height, pixels: pixels, rgb: rgb)
            XCTAssertEqual(Array(file.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "PNG signature")
            let decoded = try read(file)
            XCTAssertEqual(decoded.width, width)
            XCTAssertEqual(decoded.height, height)
            XCTAssertEqual(decoded.rgb, rgb)
            XCTAssertEqual(decoded.pixels, pixels, "\(width)×\(height) rgb \(rgb)")
        }
    }

    func testWrongPixelCountIsAnError() {
        XCTAssertThrowsError(try PNG.encode(width: 4, height: 4, pixels: [1, 2, 3], rgb: true))
        XCTAssertEqual(PNG.greyscale([-1, 0, 0.5, 1, 2], low: 0, high: 1), [0, 0, 128, 255, 255])
    }
}
