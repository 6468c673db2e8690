// RasterImage: channel conversion and resizing give Pillow's pixels exactly (the expected values were
// computed with Pillow 13.0: `Image.resize(size, Image.BILINEAR)` and `convert("L")`), and the planar layout.
import XCTest

@testable import KilnData

final class RasterImageTests: XCTestCase {
    private func image(width: Int, height: Int, channels: Int) -> RasterImage {
        RasterImage(
            width: width, height: height, channels: channels,
            pixels: ImageFixtures.pattern(width: width, height: height, channels: channels))
    }

    func testGreyFromRGBIsPillowsBT601Luma() {
        let rgb = image(width: 3, height: 2, channels: 3)
        XCTAssertEqual(rgb.converted(toChannels: 1).pixels, [71, 108, 145, 162, 170, 207])
        // Pure primaries: 0.299, 0.587 and 0.114 of 255, rounded.
        let primaries = RasterImage(width: 3, height: 1, channels: 3, pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255])
        XCTAssertEqual(primaries.converted(toChannels: 1).pixels, [76, 150, 29])
    }

    func testRGBFromGreyRepeatsTheValue() {
        let grey = RasterImage(width: 2, height: 1, channels: 1, pixels: [7, 200])
        XCTAssertEqual(grey.converted(toChannels: 3).pixels, [7, 7, 7, 200, 200, 200])
        XCTAssertEqual(grey.converted(toChannels: 3).converted(toChannels: 1), grey)
    }

    func testResizeMatchesPillowBilinear() {
        let grey = image(width: 7, height: 5, channels: 1)
        XCTAssertEqual(grey.resized(width: 3, height: 2).pixels, [112, 142, 142, 119, 131, 141])
        XCTAssertEqual(
            grey.resized(width: 7, height: 3).pixels,
            [52, 89, 126, 163, 200, 127, 164, 138, 175, 70, 107, 144, 124, 161, 82, 119, 156, 193, 84, 121, 158])
        XCTAssertEqual(grey.resized(width: 2, height: 5).pixels, [72, 176, 163, 137, 128, 102, 89, 193, 162, 88])
        XCTAssertEqual(grey.resized(width: 1, height: 1).pixels, [131])
        XCTAssertEqual(ImageFixtures.fnv1a(grey.resized(width: 11, height: 9).pixels), 0xc128_d1db_423d_6c2d, "enlarging 7×5 to 11×9")
        let rgb = image(width: 6, height: 4, channels: 3)
        XCTAssertEqual(
            rgb.resized(width: 3, height: 3).pixels,
            [
                66, 137, 165, 133, 166, 109, 166, 117, 85, 158, 119, 117, 131, 122, 129, 126, 124, 140, 95, 100, 171, 105, 167, 148, 162,
                156, 91,
            ])
        let square = RasterImage(
            width: 28, height: 28, channels: 1,
            pixels: ImageFixtures.pixels(width: 28, height: 28, channels: 1) { x, y, _ in (x * x + 3 * y * x + 7 * y) % 256 })
        XCTAssertEqual(ImageFixtures.fnv1a(square.resized(width: 13, height: 17).pixels), 0x6350_7b05_aacd_110a, "28×28 to 13×17")
        let photo = RasterImage(
            width: 100, height: 80, channels: 3,
            pixels: ImageFixtures.pixels(width: 100, height: 80, channels: 3) { x, y, c in (x * 37 + y * 91 + 13 + c * 71 + x * y) % 256 })
        XCTAssertEqual(ImageFixtures.fnv1a(photo.resized(width: 7, height: 5).pixels), 0xf5b7_ac72_1bde_45fd, "shrinking 100×80 RGB to 7×5")
        XCTAssertEqual(ImageFixtures.fnv1a(photo.resized(width: 224, height: 224).pixels), 0xf693_e633_cabf_1da2, "100×80 RGB to 224×224")
    }

    func testSameSizeIsUnchangedAndOnePixelSpreads() {
        let grey = image(width: 5, height: 3, channels: 1)
        XCTAssertEqual(grey.resized(width: 5, height: 3), grey)
        let dot = RasterImage(width: 1, height: 1, channels: 3, pixels: [10, 20, 30])
        XCTAssertEqual(
            dot.resized(width: 4, height: 2).pixels, ImageFixtures.pixels(width: 4, height: 2, channels: 3) { _, _, c in 10 * (c + 1) })
    }

    func testPlanarLayoutIsChannelMajor() {
        let rgb = RasterImage(width: 2, height: 1, channels: 3, pixels: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(rgb.planarPixels, [1, 4, 2, 5, 3, 6])
        XCTAssertEqual(rgb.fitted(channels: 1, height: 1, width: 2).planarPixels, rgb.converted(toChannels: 1).pixels)
    }
}
