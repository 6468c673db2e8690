// PNG: the signature, the header chunk, and pixel data that inflates back to the rows written.
import Foundation
import XCTest

@testable import KilnData

final class PNGTests: XCTestCase {
    func testGreyscaleRoundTrip() throws {
        let pixels: [UInt8] = (0..<(5 * 3)).map { UInt8($0 * 17) }
        let file = [UInt8](try PNG.encode(width: 5, height: 3, pixels: pixels))
        XCTAssertEqual(Array(file[0..<8]), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertEqual(String(decoding: file[12..<16], as: UTF8.self), "IHDR")
        XCTAssertEqual(Array(file[16..<24]), [0, 0, 0, 5, 0, 0, 0, 3])
        XCTAssertEqual(file[24], 8, "bit depth")
        XCTAssertEqual(file[25], 0, "greyscale")
        let idatLength = file[33..<37].reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(String(decoding: file[37..<41], as: UTF8.self), "IDAT")
        let raw = [UInt8](try Gzip.decompress(Data(file[41..<(41 + idatLength)]), file: "test.png"))
        var expected: [UInt8] = []
        for row in 0..<3 { expected += [0] + pixels[(row * 5)..<(row * 5 + 5)] }
        XCTAssertEqual(raw, expected)
    }

    func testWrongPixelCountIsAnError() {
        XCTAssertThrowsError(try PNG.encode(width: 4, height: 4, pixels: [1, 2, 3], rgb: true))
        XCTAssertEqual(PNG.greyscale([-1, 0, 0.5, 1, 2], low: 0, high: 1), [0, 0, 128, 255, 255])
    }
}
