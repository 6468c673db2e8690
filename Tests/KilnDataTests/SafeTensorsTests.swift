// Safetensors: round trip, the layout other readers expect, atomic writes, and typed errors for bad files.
import Foundation
import KilnData
import XCTest

final class SafeTensorsTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    let sample = SafeTensorsFile(
        arrays: [
            NamedArray(name: "0.weight", shape: [2, 3], values: [1, 2, 3, 4, 5, -6.5]),
            NamedArray(name: "0.bias", shape: [2], values: [0.25, -1]),
        ],
        metadata: ["format": "pt"])

    func testRoundTrip() throws {
        let url = folder.appendingPathComponent("model.safetensors")
        try sample.write(to: url)
        let read = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(read.arrays, sample.arrays)
        XCTAssertEqual(read.metadata, ["format": "pt"])
        XCTAssertEqual(try read.array("0.bias", shape: [2], file: url.path).values, [0.25, -1])
        // No temporary file is left beside it.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["model.safetensors"])
    }

    func testHeaderLayout() throws {
        let data = try sample.encoded()
        let length = data.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(length % 8, 0, "header padded to 8 bytes")
        XCTAssertEqual(data.count, 8 + length + 8 * 4)
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any]
        let weight = header?["0.weight"] as? [String: Any]
        XCTAssertEqual(weight?["dtype"] as? String, "F32")
        XCTAssertEqual(weight?["shape"] as? [Int], [2, 3])
        XCTAssertEqual(weight?["data_offsets"] as? [Int], [0, 24])
    }

    func testMissingTensorAndWrongShape() throws {
        let url = folder.appendingPathComponent("model.safetensors")
        try sample.write(to: url)
        let read = try SafeTensorsFile(contentsOf: url)
        XCTAssertThrowsError(try read.array("1.weight", shape: [2], file: url.path)) { error in
            XCTAssertEqual(error as? DataError, .missingTensor(file: url.path, name: "1.weight"))
        }
        XCTAssertThrowsError(try read.array("0.weight", shape: [3, 2], file: url.path)) { error in
            XCTAssertEqual(error as? DataError, .wrongShape(file: url.path, name: "0.weight", expected: [3, 2], found: [2, 3]))
        }
    }

    func testWrongDTypeAndTruncation() throws {
        var data = try sample.encoded()
        let url = folder.appendingPathComponent("half.safetensors")
        let headerEnd = 8 + data.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
        let header = String(decoding: data.subdata(in: 8..<headerEnd), as: UTF8.self).replacingOccurrences(of: "F32", with: "F16")
        data.replaceSubrange(8..<headerEnd, with: Data(header.utf8))
        try data.write(to: url)
        // Other dtypes are listed when the file is read, and refused when a tensor of that dtype is asked for.
        let half = try SafeTensorsFile(contentsOf: url)
        XCTAssertThrowsError(try half.array("0.bias", shape: [2], file: url.path)) { error in
            guard case .wrongDType(let file, _, let found) = error as? DataError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, url.path)
            XCTAssertEqual(found, "F16")
        }
        let cut = folder.appendingPathComponent("cut.safetensors")
        try sample.encoded().dropLast(5).write(to: cut)
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: cut)) { error in
            guard case .truncated(let file, _, _) = error as? DataError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, cut.path)
        }
        let garbage = folder.appendingPathComponent("garbage.safetensors")
        try Data([16, 0, 0, 0, 0, 0, 0, 0] + Array("not json at all!".utf8)).write(to: garbage)
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: garbage)) { error in
            guard case .invalidHeader = error as? DataError else { return XCTFail("\(error)") }
        }
    }
}
