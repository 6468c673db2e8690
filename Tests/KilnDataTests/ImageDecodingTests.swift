// Image decoding: PNG (8- and 16-bit, grey, RGB, palette, alpha, 1×1) and JPEG (grey, RGB, progressive,
// CMYK, 1×1) decode to the expected pixels; truncated files, wrong signatures, empty files, zero sizes and
// headers declaring huge images are errors naming the file, never a crash or a huge allocation.
import CTurboJPEG
import Foundation
import XCTest

@testable import KilnData

final class ImageDecodingTests: XCTestCase {
    // MARK: PNG

    func testPNGRoundTripsGreyAndRGBIncludingOnePixel() throws {
        for (width, height, channels) in [(1, 1, 1), (1, 1, 3), (5, 3, 1), (7, 13, 3), (28, 28, 1)] {
            let pixels = ImageFixtures.pattern(width: width, height: height, channels: channels)
            let file = try PNG.encode(width: width, height: height, pixels: pixels, rgb: channels == 3)
            let image = try PNG.decode(file, file: "test.png")
            XCTAssertEqual(
                image, RasterImage(width: width, height: height, channels: channels, pixels: pixels), "\(width)×\(height)×\(channels)")
        }
    }

    func testSixteenBitPNGScalesToEightBits() throws {
        // No gamma chunk: the samples are taken as sRGB-encoded and scaled, v · 255 / 65535 rounded.
        let samples: [UInt16] = [0x0000, 0x8080, 0xFFFF, 0x1234, 0x7FFF, 0x0080]
        let row = samples.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        let grey = try PNG.decode(ImageFixtures.png(width: 6, height: 1, bitDepth: 16, colorType: 0, rows: [row]), file: "grey16.png")
        XCTAssertEqual(grey.channels, 1)
        XCTAssertEqual(grey.pixels, samples.map { UInt8((Double($0) * 255 / 65535).rounded()) })
        let rgb = try PNG.decode(ImageFixtures.png(width: 2, height: 1, bitDepth: 16, colorType: 2, rows: [row]), file: "rgb16.png")
        XCTAssertEqual(rgb.channels, 3)
        XCTAssertEqual(rgb.pixels, grey.pixels)
    }

    func testPalettePNGIsRGBAndAlphaIsDroppedNotComposited() throws {
        let palette: [UInt8] = [255, 0, 0, 0, 128, 255, 10, 20, 30]
        let indexed = try PNG.decode(
            ImageFixtures.png(width: 3, height: 1, bitDepth: 8, colorType: 3, rows: [[2, 0, 1]], chunks: [("PLTE", palette)]),
            file: "palette.png")
        XCTAssertEqual(indexed, RasterImage(width: 3, height: 1, channels: 3, pixels: [10, 20, 30, 255, 0, 0, 0, 128, 255]))
        // A transparent palette entry keeps its colour, as Pillow's convert("RGB") keeps it.
        let transparent = try PNG.decode(
            ImageFixtures.png(
                width: 3, height: 1, bitDepth: 8, colorType: 3, rows: [[2, 0, 1]], chunks: [("PLTE", palette), ("tRNS", [0, 255, 255])]),
            file: "palette-alpha.png")
        XCTAssertEqual(transparent, indexed)
        let greyAlpha = try PNG.decode(
            ImageFixtures.png(width: 2, height: 1, bitDepth: 8, colorType: 4, rows: [[200, 0, 90, 128]]), file: "grey-alpha.png")
        XCTAssertEqual(greyAlpha, RasterImage(width: 2, height: 1, channels: 1, pixels: [200, 90]))
        let rgba = try PNG.decode(
            ImageFixtures.png(width: 2, height: 1, bitDepth: 8, colorType: 6, rows: [[1, 2, 3, 0, 250, 251, 252, 7]]), file: "rgba.png")
        XCTAssertEqual(rgba, RasterImage(width: 2, height: 1, channels: 3, pixels: [1, 2, 3, 250, 251, 252]))
    }

    func testLowBitDepthGreyPNGExpandsToBytes() throws {
        // 1-bit grey: 0 → 0, 1 → 255 (row of 10 pixels in two bytes).
        let image = try PNG.decode(
            ImageFixtures.png(width: 10, height: 1, bitDepth: 1, colorType: 0, rows: [[0b1010_0000, 0b1100_0000]]), file: "bits.png")
        XCTAssertEqual(image.pixels, [255, 0, 255, 0, 0, 0, 0, 0, 255, 255])
    }

    func testBrokenPNGsAreErrorsNamingTheFile() throws {
        let good = ImageFixtures.png(width: 4, height: 4, bitDepth: 8, colorType: 0, rows: Array(repeating: [1, 2, 3, 4], count: 4))
        var badCRC = good
        badCRC[30] ^= 0xFF  // inside IHDR's CRC
        let cases: [(String, Data)] = [
            ("empty", Data()),
            ("signature only", Data(PNG.signature)),
            ("truncated in IDAT", good.prefix(good.count - 20)),
            ("bad IHDR CRC", badCRC),
            ("wrong magic", Data([0x89, 0x50, 0x4E, 0x47, 0, 0, 0, 0] + [UInt8](good.dropFirst(8)))),
            ("zero width", ImageFixtures.png(width: 0, height: 4, bitDepth: 8, colorType: 0, rows: [])),
            ("zero height", ImageFixtures.png(width: 4, height: 0, bitDepth: 8, colorType: 0, rows: [])),
            ("too few rows", ImageFixtures.png(width: 4, height: 9, bitDepth: 8, colorType: 0, rows: [[1, 2, 3, 4]])),
            ("bad colour type", ImageFixtures.png(width: 1, height: 1, bitDepth: 8, colorType: 7, rows: [[1]])),
        ]
        for (name, data) in cases {
            XCTAssertThrowsError(try PNG.decode(data, file: "/data/\(name).png"), name) { error in
                XCTAssertTrue("\(error)".hasPrefix("/data/\(name).png: "), "\(name): \(error)")
            }
        }
        // Without its end chunk the image is whole, and reads (as Pillow reads it).
        XCTAssertEqual(
            try PNG.decode(good.prefix(good.count - 12), file: "no-end.png").pixels,
            Array(repeating: [1, 2, 3, 4], count: 4).flatMap { $0 })
    }

    func testHugeDeclaredPNGIsRefusedBeforeAllocating() throws {
        // Each declares far more pixels than the file could hold: refused by the pixel limit or by deflate's
        // ratio, before the pixel buffer is allocated (a 2^31 × 2^31 image would need 4 EiB).
        for (width, height) in [(0x7FFF_FFFF, 0x7FFF_FFFF), (30000, 30000), (5000, 5000)] {
            let data = ImageFixtures.png(width: width, height: height, bitDepth: 8, colorType: 0, rows: [[0]])
            XCTAssertThrowsError(try PNG.decode(data, file: "huge.png")) { error in
                XCTAssertTrue("\(error)".contains("huge.png"), "\(error)")
            }
        }
        let limits = ImageLimits(maximumPixels: 15)
        let fourByFour = try PNG.encode(width: 4, height: 4, pixels: [UInt8](repeating: 9, count: 16))
        XCTAssertThrowsError(try PNG.decode(fourByFour, file: "limit.png", limits: limits)) { error in
            XCTAssertEqual("\(error)", "limit.png: invalid header: the image is 4×4 pixels, more than the limit of 15")
        }
    }

    // MARK: JPEG

    func testJPEGGreyAndRGBDecodeCloseToTheirSource() throws {
        // Quality 100 without chroma subsampling: only the DCT's rounding is lost, a few levels at most on
        // this pattern (its edges are sharp; the bound is what libjpeg-turbo gives it, with a margin).
        for (channels, format) in [(1, TJPF_GRAY), (3, TJPF_RGB)] {
            let (width, height) = (13, 11)
            let pixels = ImageFixtures.pixels(width: width, height: height, channels: channels) { x, y, c in 40 + 10 * x + 7 * y + 20 * c }
            let image = try JPEG.decode(ImageFixtures.jpeg(width: width, height: height, pixels: pixels, format: format), file: "a.jpg")
            XCTAssertEqual(image.width, width)
            XCTAssertEqual(image.height, height)
            XCTAssertEqual(image.channels, channels)
            let worst = zip(image.pixels, pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 3, "\(channels) channel(s)")
        }
    }

    func testProgressiveJPEGDecodesLikeBaseline() throws {
        // Progressive coding reorders the same quantised coefficients, so the pixels are identical.
        let pixels = ImageFixtures.pattern(width: 40, height: 24, channels: 3)
        let baseline = try JPEG.decode(
            ImageFixtures.jpeg(width: 40, height: 24, pixels: pixels, format: TJPF_RGB, subsampling: TJSAMP_420, quality: 80),
            file: "baseline.jpg")
        let progressiveFile = try ImageFixtures.jpeg(
            width: 40, height: 24, pixels: pixels, format: TJPF_RGB, subsampling: TJSAMP_420, quality: 80, progressive: true)
        XCTAssertTrue(progressiveFile.contains(0xC2) && progressiveFile.firstRange(of: Data([0xFF, 0xC2])) != nil, "SOF2 marker")
        XCTAssertEqual(try JPEG.decode(progressiveFile, file: "progressive.jpg"), baseline)
    }

    func testCMYKJPEGBecomesRGBAsPillowConvertsIt() throws {
        // libjpeg writes Adobe's marker with CMYK, so the stored inks read as inverted (Photoshop's convention):
        // stored (s_C, s_M, s_Y, s_K) is R = s_C · s_K / 255, and so on. Flat colours survive JPEG exactly.
        let stored: [UInt8] = [200, 100, 50, 255]
        let pixels = (0..<64).flatMap { _ in stored }
        let image = try JPEG.decode(ImageFixtures.jpeg(width: 8, height: 8, pixels: pixels, format: TJPF_CMYK), file: "cmyk.jpg")
        XCTAssertEqual(image.channels, 3)
        let expected = stored.prefix(3).map { UInt8((Double($0) * Double(stored[3]) / 255).rounded()) }
        for pixel in 0..<64 {
            let decoded = Array(image.pixels[3 * pixel..<3 * pixel + 3])
            XCTAssertTrue(zip(decoded, expected).allSatisfy { abs(Int($0) - Int($1)) <= 1 }, "\(decoded) vs \(expected)")
        }
    }

    func testOnePixelJPEG() throws {
        let image = try JPEG.decode(ImageFixtures.jpeg(width: 1, height: 1, pixels: [90, 160, 230], format: TJPF_RGB), file: "dot.jpg")
        XCTAssertEqual(image.width, 1)
        XCTAssertEqual(image.height, 1)
        XCTAssertTrue(zip(image.pixels, [90, 160, 230] as [UInt8]).allSatisfy { abs(Int($0) - Int($1)) <= 2 }, "\(image.pixels)")
    }

    func testBrokenJPEGsAreErrorsNamingTheFile() throws {
        let good = try ImageFixtures.jpeg(
            width: 16, height: 16, pixels: ImageFixtures.pattern(width: 16, height: 16, channels: 3), format: TJPF_RGB)
        // Width and height follow the SOF0 marker's length and precision bytes.
        let sof = try XCTUnwrap(good.firstRange(of: Data([0xFF, 0xC0]))).lowerBound
        var huge = good
        huge.replaceSubrange(sof + 5..<sof + 9, with: [0xFF, 0xFF, 0xFF, 0xFF])
        var zero = good
        zero.replaceSubrange(sof + 5..<sof + 9, with: [0, 0, 0, 16])
        let cases: [(String, Data)] = [
            ("empty", Data()),
            ("start only", Data([0xFF, 0xD8, 0xFF])),
            ("truncated", good.prefix(good.count / 2)),
            ("end marker missing", good.prefix(good.count - 2)),
            ("65535 × 65535", huge),
            ("zero height", zero),
        ]
        for (name, data) in cases {
            XCTAssertThrowsError(try JPEG.decode(data, file: "/data/\(name).jpg"), name) { error in
                XCTAssertTrue("\(error)".hasPrefix("/data/\(name).jpg: "), "\(name): \(error)")
            }
        }
    }

    // MARK: Files and headers

    func testFilesAreToldApartByContentAndHeadersReadAlone() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-images-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // A PNG named .jpg and a JPEG named .png decode by their content, as Pillow does.
        let png = folder.appendingPathComponent("really-a-png.jpg")
        try PNG.encode(width: 3, height: 2, pixels: ImageFixtures.pattern(width: 3, height: 2, channels: 3), rgb: true).write(to: png)
        let jpeg = folder.appendingPathComponent("really-a-jpeg.png")
        try ImageFixtures.jpeg(width: 9, height: 5, pixels: [UInt8](repeating: 77, count: 45), format: TJPF_GRAY).write(to: jpeg)
        XCTAssertEqual(try ImageFile.header(contentsOf: png), ImageFile.Header(format: .png, width: 3, height: 2, channels: 3))
        XCTAssertEqual(try ImageFile.header(contentsOf: jpeg), ImageFile.Header(format: .jpeg, width: 9, height: 5, channels: 1))
        XCTAssertEqual(try ImageFile.decode(contentsOf: png).channels, 3)
        XCTAssertEqual(try ImageFile.decode(contentsOf: jpeg).pixels, [UInt8](repeating: 77, count: 45))
        let text = folder.appendingPathComponent("notes.png")
        try Data("hello".utf8).write(to: text)
        let empty = folder.appendingPathComponent("empty.png")
        try Data().write(to: empty)
        for url in [text, empty, folder.appendingPathComponent("missing.png")] {
            XCTAssertThrowsError(try ImageFile.header(contentsOf: url)) { XCTAssertTrue("\($0)".hasPrefix(url.path + ": "), "\($0)") }
            XCTAssertThrowsError(try ImageFile.decode(contentsOf: url)) { XCTAssertTrue("\($0)".hasPrefix(url.path + ": "), "\($0)") }
        }
        XCTAssertThrowsError(try ImageFile.decode(contentsOf: text)) {
            XCTAssertEqual(
                "\($0)", "\(text.path): cannot read: not a PNG or JPEG file (it starts with 68 65 6c 6c); Kiln reads PNG and JPEG images")
        }
    }

    /// A folder, a pipe named like an image (which would block a plain read for ever) and a device are
    /// errors naming the path and what it is, from both the header reader and the decoder.
    func testFoldersPipesAndDevicesAreErrorsNotHangs() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-images-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let pipe = folder.appendingPathComponent("pipe.png")
        XCTAssertEqual(mkfifo(pipe.path, 0o600), 0)
        for (url, kind) in [(folder, "a folder"), (pipe, "a pipe"), (URL(fileURLWithPath: "/dev/zero"), "a device")] {
            XCTAssertThrowsError(try ImageFile.header(contentsOf: url)) {
                XCTAssertEqual("\($0)", "\(url.path): cannot read: it is \(kind), not a file")
            }
            XCTAssertThrowsError(try ImageFile.decode(contentsOf: url)) {
                XCTAssertTrue("\($0)".hasPrefix("\(url.path): is \(kind), not a file"), "\($0)")
            }
        }
    }
}
