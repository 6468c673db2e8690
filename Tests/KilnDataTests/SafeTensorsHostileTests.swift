// Safetensors files from the hostile-input probe (issue 15) and beyond: sizes and offsets that overflow,
// ranges outside the file or overlapping, non-string metadata. Each is a DataError naming the entry, never a
// trap, and nothing is allocated beyond the file's size.
import Foundation
import KilnData
import XCTest

final class SafeTensorsHostileTests: XCTestCase {
    /// A safetensors file with `header` (JSON) and `body`; `length` overrides the header length field.
    private func file(_ header: [String: Any], body: Data = Data(count: 16), length: UInt64? = nil) throws -> Data {
        let text = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var data = withUnsafeBytes(of: (length ?? UInt64(text.count)).littleEndian) { Data($0) }
        data.append(text)
        data.append(body)
        return data
    }

    private func entry(_ shape: [Int], _ offsets: [Int], dtype: String = "F32") -> [String: Any] {
        ["dtype": dtype, "shape": shape, "data_offsets": offsets]
    }

    private func error(_ data: Data, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let read = try SafeTensorsFile(data: data, file: "probe.safetensors")
            XCTFail("read \(read.arrays.map(\.name))", file: file, line: line)
            return ""
        } catch { return "\(error)" }
    }

    func testOverflowingSizesAndOffsets() throws {
        XCTAssertEqual(
            error(try file([:], length: UInt64(Int.max))),
            "probe.safetensors: invalid header: the header length 9223372036854775807 is beyond the format's 100 MB; is this a safetensors file?"
        )
        XCTAssertEqual(
            error(try file([:], length: UInt64.max)),
            "probe.safetensors: invalid header: the header length 18446744073709551615 is beyond the format's 100 MB; is this a safetensors file?"
        )
        XCTAssertEqual(
            error(try file(["a": entry([1 << 32, 1 << 32, 4], [0, 16])])),
            "probe.safetensors: invalid header: entry 'a' has byte range [0, 16] (16 bytes) for shape [4294967296, 4294967296, 4] of F32")
        XCTAssertEqual(
            error(try file(["a": entry([1 << 62], [0, 16])])),
            "probe.safetensors: invalid header: entry 'a' has byte range [0, 16] (16 bytes) for shape [4611686018427387904] of F32")
        XCTAssertEqual(
            error(try file(["a": entry([1], [4, Int.min])])),
            "probe.safetensors: invalid header: entry 'a' has byte range [4, -9223372036854775808], which is not a range")
        XCTAssertEqual(
            error(try file(["a": entry([10], [Int.max - 40, Int.max])])),
            "probe.safetensors: invalid header: entry 'a' has byte range [9223372036854775767, 9223372036854775807], far beyond the file's 16 bytes of data"
        )
        XCTAssertEqual(
            error(try file(["a": entry([2], [-8, 0])])),
            "probe.safetensors: invalid header: entry 'a' has byte range [-8, 0], which is not a range")
        XCTAssertEqual(
            error(try file(["a": entry([-1, -4], [0, 16])])),
            "probe.safetensors: invalid header: entry 'a' has a negative dimension in [-1, -4]")
        // Other dtypes are not read, but their ranges are checked too.
        XCTAssertTrue(error(try file(["a": entry([4], [0, Int.max], dtype: "F16")])).contains("far beyond the file's 16 bytes"))
    }

    func testRangesMustLieInTheFileAndNotOverlap() throws {
        XCTAssertEqual(
            error(try file(["a": entry([2], [0, 8]), "b": entry([2], [4, 12])])),
            "probe.safetensors: invalid header: entries 'a' [0, 8] and 'b' [4, 12] overlap")
        XCTAssertEqual(
            error(try file(["a": entry([2], [0, 8]), "b": entry([4], [0, 16], dtype: "I32")])),
            "probe.safetensors: invalid header: entries 'a' [0, 8] and 'b' [0, 16] overlap")
        XCTAssertEqual(
            error(try file(["a": entry([8], [0, 32])])),
            "probe.safetensors: truncated: needs 95 bytes, has 79; download or install it again")
        // Empty tensors may share an offset, and holes between tensors are allowed.
        let read = try SafeTensorsFile(
            data: try file(["a": entry([0], [4, 4]), "b": entry([0, 3], [4, 4]), "c": entry([2], [8, 16])]), file: "ok")
        XCTAssertEqual(read.arrays.map(\.name), ["a", "b", "c"])
        XCTAssertEqual(read.arrays.map(\.values.count), [0, 0, 2])
    }

    func testMetadataMustBeStrings() throws {
        // One non-string value used to drop all the metadata silently.
        XCTAssertEqual(
            error(try file(["__metadata__": ["format": "pt", "kiln.epoch": 3], "a": entry([1], [0, 4])])),
            "probe.safetensors: invalid header: __metadata__ value of 'kiln.epoch' is not a string (safetensors metadata holds strings only)"
        )
        XCTAssertEqual(
            error(try file(["__metadata__": ["format", "pt"]])),
            "probe.safetensors: invalid header: __metadata__ must be an object of strings")
        let read = try SafeTensorsFile(data: try file(["__metadata__": ["format": "pt", "kiln.epoch": "3"]]), file: "ok")
        XCTAssertEqual(read.metadata, ["format": "pt", "kiln.epoch": "3"])
    }

    func testMalformedHeaders() throws {
        XCTAssertEqual(
            error(Data([1, 0, 0, 0, 0, 0, 0, 0, 0x7B])),
            "probe.safetensors: invalid header: the header length is 1 bytes; a JSON object needs at least 2")
        XCTAssertEqual(
            error(Data([2, 0, 0, 0, 0, 0, 0, 0, 0x5B, 0x5D])), "probe.safetensors: invalid header: the header is not a JSON object")
        XCTAssertEqual(
            error(Data([4, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0xFF, 0xFE, 0x7D])),
            "probe.safetensors: invalid header: the header is not a JSON object")
        // Deep nesting is refused by the JSON parser, not a stack overflow.
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertTrue(error(try file([:], length: 0).prefix(8) + Data(("{\"a\":" + deep + "}").utf8)).contains("invalid header"))
        for bad: Any in [
            ["dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]], ["dtype": "F32", "shape": ["1"], "data_offsets": [0, 4]],
            ["dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]], ["dtype": 32, "shape": [1], "data_offsets": [0, 4]], "F32",
        ] {
            XCTAssertEqual(
                error(try file(["a": bad])), "probe.safetensors: invalid header: entry 'a' needs dtype, shape and data_offsets", "\(bad)")
        }
    }

    func testNonFiniteWeightsAreFound() throws {
        let sample = SafeTensorsFile(arrays: [
            NamedArray(name: "0.weight", shape: [3], values: [1, .nan, .infinity]), NamedArray(name: "0.bias", shape: [1], values: [0]),
        ])
        let read = try SafeTensorsFile(data: try sample.encoded(), file: "diverged.safetensors")
        XCTAssertEqual(read.nonFiniteArrays.map(\.name), ["0.weight"])
        XCTAssertEqual(read.nonFiniteArrays.map(\.count), [2])
        XCTAssertEqual(
            read.nonFiniteError(file: "diverged.safetensors")?.description,
            "diverged.safetensors: holds non-finite weights (NaN or infinity in 0.weight (2 values)); the run that wrote it diverged: start again, or from an earlier checkpoint, with a lower --lr (or --clip-norm)"
        )
        XCTAssertNil(SafeTensorsFile(arrays: [NamedArray(name: "a", shape: [1], values: [1])]).nonFiniteError(file: "x"))
    }

    /// Reading a file through a URL names folders and other non-files instead of "NSCocoaErrorDomain error 256".
    func testFoldersAreNamed() throws {
        let folder = FileManager.default.temporaryDirectory
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: folder)) { error in
            XCTAssertEqual("\(error)", "\(folder.path): is a folder, not a file; give the path of a file")
        }
    }
}
