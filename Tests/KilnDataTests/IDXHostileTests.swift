// IDX and gzip files from the hostile-input probe (issue 15) and beyond: dimensions whose product
// overflows or exceeds the file, empty sets, mismatched sizes, and gzip streams that inflate too far.
import Foundation
import KilnData
import XCTest

final class IDXHostileTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-idx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private func idx(_ dimensions: [UInt32], _ payload: [UInt8] = []) -> Data {
        var bytes: [UInt8] = [0, 0, 8, UInt8(dimensions.count)]
        for dimension in dimensions { bytes += withUnsafeBytes(of: dimension.bigEndian, Array.init) }
        return Data(bytes + payload)
    }

    private func gzip(_ data: Data) throws -> Data {
        let input = folder.appendingPathComponent("plain-\(UUID().uuidString)")
        try data.write(to: input)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-9", "-k", "-f", input.path]
        try process.run()
        process.waitUntilExit()
        return try Data(contentsOf: input.appendingPathExtension("gz"))
    }

    private func error(_ body: () throws -> Any) -> String {
        do {
            _ = try body()
            XCTFail("no error")
            return ""
        } catch { return "\(error)" }
    }

    func testDimensionsBeyondTheFile() throws {
        // Trapped at IDX.swift:38 before (issue 15).
        XCTAssertEqual(
            error { try IDXFile(data: self.idx([0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF]), file: "images", rank: 3) },
            "images: invalid header: dimensions [4294967295, 4294967295, 4294967295] need more bytes than an integer holds; is this an IDX file?"
        )
        XCTAssertEqual(
            error { try IDXFile(data: self.idx([3, 0x10000, 0x10000], [1, 2, 3]), file: "images", rank: 3) },
            "images: truncated: needs 12884901904 bytes, has 19; download or install it again")
        XCTAssertEqual(
            error { try IDXFile(data: self.idx([0xFFFF_FFFF]), file: "labels", rank: 1) },
            "labels: truncated: needs 4294967303 bytes, has 8; download or install it again")
        // 153092023 × 92737 × 649657 is Int.max: the header size on top of it would overflow.
        XCTAssertTrue(
            error { try IDXFile(data: self.idx([153_092_023, 92737, 649_657]), file: "images", rank: 3) }.contains(
                "more bytes than an integer holds"))
        // Zero dimensions parse (an empty file is well-formed), then the data set refuses them.
        XCTAssertEqual(try IDXFile(data: idx([0, 0x10000, 0x10000]), file: "images", rank: 3).bytes, [])
    }

    func testEmptySetsAndMismatchedSizesAreRefused() throws {
        func write(_ data: Data, _ name: String) throws { try data.write(to: folder.appendingPathComponent(name)) }
        let labels = idx([2], [1, 2])
        try write(labels, "train-labels-idx1-ubyte")
        try write(labels, "t10k-labels-idx1-ubyte")
        try write(idx([2, 2, 2], Array(repeating: 7, count: 8)), "train-images-idx3-ubyte")
        try write(idx([2, 3, 2], Array(repeating: 7, count: 12)), "t10k-images-idx3-ubyte")
        let test = folder.appendingPathComponent("t10k-images-idx3-ubyte").path
        XCTAssertEqual(
            error { try IDXDataset(directory: self.folder) },
            "\(test): invalid header: its images are 3×2, the training images 2×2; they must match")
        // [0, 65536, 65536] in a 16-byte file: aborted allocating 4.4 TB before (issue 15).
        try write(idx([0, 0x10000, 0x10000]), "t10k-images-idx3-ubyte")
        try write(idx([0]), "t10k-labels-idx1-ubyte")
        XCTAssertEqual(
            error { try IDXDataset(directory: self.folder) }, "\(test): invalid header: it holds no images (dimensions [0, 65536, 65536])")
        try write(idx([2, 0, 5]), "t10k-images-idx3-ubyte")
        try write(labels, "t10k-labels-idx1-ubyte")
        XCTAssertEqual(
            error { try IDXDataset(directory: self.folder) }, "\(test): invalid header: its images have no pixels (dimensions [2, 0, 5])")
    }

    /// A small gzip that inflates far (1 MB → 1 GiB in the probe, read whole) stops at the limit.
    func testGzipInflationIsLimited() throws {
        let images = idx([4, 1024, 1024]) + Data(count: 4 << 20)
        let compressed = try gzip(images)
        XCTAssertLessThan(compressed.count, 10_000)
        XCTAssertEqual(
            error { try IDXFile(fileBytes: compressed, file: "bomb.gz", rank: 3) },
            "bomb.gz: its \(compressed.count) compressed bytes inflate to more than \(compressed.count * 100) bytes, the limit; if the file is genuine, raise the limit with --max-inflated MiB"
        )
        // Raised, it reads.
        let read = try IDXFile(fileBytes: compressed, file: "bomb.gz", rank: 3, limits: DecompressionLimits(maximumBytes: 8 << 20))
        XCTAssertEqual(read.dimensions, [4, 1024, 1024])
        XCTAssertEqual(DecompressionLimits().inflatedBytes(compressed: 1 << 30), DecompressionLimits.defaultCeiling)
        XCTAssertEqual(DecompressionLimits().inflatedBytes(compressed: Int.max), DecompressionLimits.defaultCeiling)
        // A real data set's ratio (Fashion-MNIST: 26 MB → 47 MB) is far inside the default.
        let ordinary = try gzip(idx([3, 4, 4], Array(0..<48)))
        XCTAssertEqual(try IDXFile(fileBytes: ordinary, file: "ok.gz", rank: 3).bytes, Array(0..<48))
    }

    func testDamagedGzipStreams() throws {
        let compressed = try gzip(idx([3], [1, 2, 3]))
        XCTAssertEqual(
            error { try IDXFile(fileBytes: compressed.prefix(compressed.count - 12), file: "cut.gz", rank: 1) },
            "cut.gz: cannot read: the gzip stream ends early (truncated file)")
        // The stream's CRC-32 (the eighth byte from the end) no longer matches.
        var flipped = compressed
        flipped[flipped.count - 8] ^= 0xFF
        XCTAssertEqual(
            error { try IDXFile(fileBytes: flipped, file: "flipped.gz", rank: 1) },
            "flipped.gz: cannot read: corrupt gzip data (incorrect data check)")
        XCTAssertEqual(
            error { try IDXFile(fileBytes: Data([0x1F, 0x8B]), file: "magic.gz", rank: 1) },
            "magic.gz: cannot read: the gzip stream ends early (truncated file)")
    }
}
