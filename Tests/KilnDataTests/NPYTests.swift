// NPY: headers as numpy.save writes them (versions 1–3, both byte orders, Python 2's long integers), image
// sets in each layout, and a clear error naming the file for every hostile header: wrong magic, unknown
// versions, oversized or truncated headers, shapes whose size overflows or outgrows the file (a 0-d array's one element included), unsupported
// dtypes, Fortran order, NaN images, negative labels and mismatched counts.
import Foundation
import XCTest

@testable import KilnData

final class NPYTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-npy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// An .npy file as numpy.save writes it: magic, version, header length, the dict padded with spaces and a
    /// newline to a multiple of 64 bytes, then `payload`.
    static func npy(dict: String, payload: [UInt8], version: UInt8 = 1) -> Data {
        let prefix = version == 1 ? 10 : 12
        var header = Array(dict.utf8)
        let padding = (64 - (prefix + header.count + 1) % 64) % 64
        header += [UInt8](repeating: 0x20, count: padding) + [0x0A]
        let length: [UInt8] =
            version == 1
            ? [UInt8(header.count & 0xFF), UInt8(header.count >> 8)]
            : withUnsafeBytes(of: UInt32(header.count).littleEndian, Array.init)
        return Data([0x93] + Array("NUMPY".utf8) + [version, 0] + length + header + payload)
    }

    static func npy(descr: String, shape: [Int], payload: [UInt8], version: UInt8 = 1) -> Data {
        let extents = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        return npy(dict: "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(extents), }", payload: payload, version: version)
    }

    static func littleEndian<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
    }
    static func float32(_ values: [Float]) -> [UInt8] { littleEndian(values.map(\.bitPattern)) }

    func write(_ data: Data, _ name: String) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try data.write(to: url)
        return url
    }

    func testReadsHeadersAsNumPyWritesThem() throws {
        let url = try write(Self.npy(descr: "<f4", shape: [2, 3, 4], payload: Self.float32((0..<24).map(Float.init))), "a.npy")
        let array = try NPYArray(contentsOf: url)
        XCTAssertEqual(array.header.shape, [2, 3, 4])
        XCTAssertEqual(array.header.elementType, .float32)
        XCTAssertEqual(array.header.dataOffset, 128)
        XCTAssertEqual(try array.values(5..<8), [5, 6, 7])
        // Version 2 (4-byte header length), big-endian int64, a Python 2 long in the shape, double quotes.
        let big = Self.npy(
            dict: "{\"descr\": \">i8\", \"fortran_order\": False, \"shape\": (3L,)}",
            payload: [0, 0, 0, 0, 0, 0, 0, 7] + [255, 255, 255, 255, 255, 255, 255, 254] + [0, 0, 0, 0, 0, 0, 1, 0],
            version: 2)
        XCTAssertEqual(try NPYArray(contentsOf: write(big, "big.npy")).integers(), [7, -2, 256])
        let scalarLabels = try write(Self.npy(descr: "|u1", shape: [4], payload: [3, 0, 9, 1]), "u1.npy")
        XCTAssertEqual(try NPYArray(contentsOf: scalarLabels).integers(), [3, 0, 9, 1])
        let zeroDimensional = try NPYArray(contentsOf: write(Self.npy(descr: "<f4", shape: [], payload: Self.float32([2.5])), "0d.npy"))
        XCTAssertEqual(zeroDimensional.header.shape, [])
        XCTAssertEqual(try zeroDimensional.values(0..<1), [2.5])
    }

    func testHostileHeadersAreErrorsNamingTheFile() throws {
        let valid = Self.npy(descr: "|u1", shape: [2, 2], payload: [1, 2, 3, 4])
        var wrongMagic = valid
        wrongMagic[1] = UInt8(ascii: "X")
        var version9 = valid
        version9[6] = 9
        var longHeader = valid
        longHeader[8] = 0xFF
        longHeader[9] = 0xFF
        var pastTheEnd = valid
        pastTheEnd[8] = 0xF0  // a header longer than the file, under the limit
        let cases: [(String, Data)] = [
            ("empty", Data()),
            ("magic only", Data([0x93] + Array("NUMPY".utf8))),
            ("wrong magic", wrongMagic),
            ("version 9", version9),
            ("header of 65535 bytes", longHeader),
            ("header past the end", pastTheEnd),
            ("truncated data", valid.dropLast()),
            ("shape overflows", Self.npy(descr: "<f4", shape: [Int(Int32.max), Int(Int32.max), Int(Int32.max)], payload: [])),
            (
                "shape past 2^63",
                Self.npy(dict: "{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999,), }", payload: [])
            ),
            ("0-d array without its element", Self.npy(descr: ">i8", shape: [], payload: [0, 0, 1, 0, 0, 0, 2])),
            ("huge shape in a small file", Self.npy(descr: "|u1", shape: [1 << 40, 1 << 20], payload: [1, 2])),
            (
                "empty array whose other extents overflow",
                Self.npy(descr: "|u1", shape: [1 << 40, 1 << 40, 0], payload: [])
            ),
            ("negative extent", Self.npy(dict: "{'descr': '|u1', 'fortran_order': False, 'shape': (-1, 2), }", payload: [1, 2])),
            ("complex dtype", Self.npy(descr: "<c8", shape: [1], payload: [UInt8](repeating: 0, count: 8))),
            (
                "structured dtype",
                Self.npy(dict: "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", payload: [0, 0, 0, 0])
            ),
            ("fortran order", Self.npy(dict: "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2), }", payload: [1, 2, 3, 4])),
            ("no shape", Self.npy(dict: "{'descr': '|u1', 'fortran_order': False}", payload: [1])),
            ("unterminated string", Self.npy(dict: "{'descr: '|u1', 'fortran_order': False, 'shape': (1,)}", payload: [1])),
            ("code in the header", Self.npy(dict: "{'descr': '|u1', 'fortran_order': __import__('os'), 'shape': (1,)}", payload: [1])),
            ("unclosed dict", Self.npy(dict: "{'descr': '|u1', 'fortran_order': False, 'shape': (1,", payload: [1])),
        ]
        for (name, data) in cases {
            let url = try write(data, "\(name).npy")
            XCTAssertThrowsError(try NPYArray(contentsOf: url), name) { error in
                XCTAssertTrue("\(error)".hasPrefix(url.path + ": "), "\(name): \(error)")
            }
        }
        XCTAssertThrowsError(try NPYArray(contentsOf: folder)) {
            XCTAssertEqual("\($0)", "\(folder.path): cannot read: it is a folder, not a file")
        }
    }

    func testImageSetsInEachLayout() throws {
        let labels = try write(Self.npy(descr: "<i8", shape: [2], payload: Self.littleEndian([Int64(1), 0])), "labels.npy")
        // [N, H, W] uint8: one channel, bytes / 255.
        let grey = try NPYImageSet(
            images: write(Self.npy(descr: "|u1", shape: [2, 1, 3], payload: [0, 51, 255, 102, 153, 204]), "grey.npy"), labels: labels)
        XCTAssertEqual(grey.imageShape, [1, 1, 3])
        XCTAssertEqual(grey.count, 2)
        XCTAssertEqual(grey.label(at: 0), 1)
        var values: [Float] = []
        try grey.writeImages([1, 0], normalizedBy: .unit, into: &values)
        XCTAssertEqual(values, [0.4, 0.6, 0.8, 0, 0.2, 1])
        // [N, C, H, W] float32, standardised.
        let planar = try NPYImageSet(
            images: write(Self.npy(descr: "<f4", shape: [2, 3, 1, 1], payload: Self.float32([0.5, 0.25, 1, 0, 0.75, 0.5])), "nchw.npy"),
            labels: labels)
        XCTAssertEqual(planar.imageShape, [3, 1, 1])
        try planar.writeImages([0], normalizedBy: PixelNormalization(mean: 0.5, standardDeviation: 0.25), into: &values)
        XCTAssertEqual(values, [0, -1, 2])
        // [N, H, W, C] (Keras): channels moved first.
        let keras = try NPYImageSet(
            images: write(Self.npy(descr: "<f4", shape: [2, 2, 2, 3], payload: Self.float32((0..<24).map { Float($0) / 24 })), "nhwc.npy"),
            labels: labels)
        XCTAssertTrue(keras.channelsLast)
        XCTAssertEqual(keras.imageShape, [3, 2, 2])
        try keras.writeImages([1], normalizedBy: .unit, into: &values)
        XCTAssertEqual(values, [12, 15, 18, 21, 13, 16, 19, 22, 14, 17, 20, 23].map { Float($0) / 24 })
        // 1×1 images of one channel.
        let dots = try NPYImageSet(
            images: write(Self.npy(descr: "|u1", shape: [2, 1, 1, 1], payload: [255, 0]), "dots.npy"), labels: labels)
        XCTAssertEqual(dots.imageShape, [1, 1, 1])
    }

    func testBadImageSetsAreErrorsNamingTheFile() throws {
        let labels = try write(Self.npy(descr: "<i8", shape: [2], payload: Self.littleEndian([Int64(1), 0])), "labels.npy")
        let images = try write(Self.npy(descr: "|u1", shape: [2, 2, 2], payload: [UInt8](repeating: 1, count: 8)), "images.npy")
        let cases: [(String, URL, URL)] = [
            (
                "images.npy holds 2 images but", images,
                try write(Self.npy(descr: "<i8", shape: [3], payload: Self.littleEndian([Int64(0), 1, 2])), "three.npy")
            ),
            (
                "negative", images,
                try write(Self.npy(descr: "<i8", shape: [2], payload: Self.littleEndian([Int64(0), -4])), "negative.npy")
            ),
            (
                "labels must be integers", images,
                try write(Self.npy(descr: "<f4", shape: [2], payload: Self.float32([0, 1])), "float-labels.npy")
            ),
            (
                "one label per image", images,
                try write(Self.npy(descr: "<i8", shape: [1, 2], payload: Self.littleEndian([Int64(0), 1])), "matrix.npy")
            ),
            (
                "must be finite", try write(Self.npy(descr: "<f4", shape: [2, 1, 2], payload: Self.float32([0, 1, .nan, 0])), "nan.npy"),
                labels
            ),
            ("Kiln reads uint8", try write(Self.npy(descr: "<i2", shape: [2, 1, 1], payload: [0, 0, 1, 0]), "int16.npy"), labels),
            ("Kiln reads [N, H, W]", try write(Self.npy(descr: "|u1", shape: [2, 2], payload: [1, 2, 3, 4]), "flat.npy"), labels),
            ("at least one value", try write(Self.npy(descr: "|u1", shape: [2, 0, 3], payload: []), "empty-images.npy"), labels),
        ]
        let negative = folder.appendingPathComponent("negative.npy")
        XCTAssertThrowsError(try NPYImageSet(images: images, labels: negative)) {
            XCTAssertEqual(
                $0 as? DataError, .invalidValue(file: negative.path, reason: "label -4 at index 1 is negative; classes count from 0"))
            XCTAssertEqual("\($0)", "\(negative.path): label -4 at index 1 is negative; classes count from 0")
        }
        for (message, imagesURL, labelsURL) in cases {
            XCTAssertThrowsError(try NPYImageSet(images: imagesURL, labels: labelsURL), message) { error in
                XCTAssertTrue("\(error)".contains(message), "\(message): \(error)")
                XCTAssertTrue("\(error)".hasPrefix(self.folder.path), "\(message): names the file: \(error)")
            }
        }
    }
}
