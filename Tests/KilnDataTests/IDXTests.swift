// IDX reading: the real Fashion-MNIST files, and a typed error naming the file for each kind of bad file.
import Foundation
import KilnData
import XCTest

final class IDXTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-idx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// An IDX file of unsigned bytes with the given magic rank and dimensions.
    func idx(rank: Int, dimensions: [Int], payload: [UInt8]) -> Data {
        var bytes: [UInt8] = [0, 0, 8, UInt8(rank)]
        for dimension in dimensions { bytes += withUnsafeBytes(of: UInt32(dimension).bigEndian, Array.init) }
        return Data(bytes + payload)
    }

    func write(_ data: Data, _ name: String) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try data.write(to: url)
        return url
    }

    func testReadsSmallFiles() throws {
        let images = try write(idx(rank: 3, dimensions: [2, 2, 3], payload: Array(0..<12)), "images")
        let labels = try write(idx(rank: 1, dimensions: [2], payload: [7, 3]), "labels")
        let set = try LabeledImages(images: images, labels: labels)
        XCTAssertEqual(set.count, 2)
        XCTAssertEqual(set.rows, 2)
        XCTAssertEqual(set.columns, 3)
        XCTAssertEqual(set.pixels, Array(0..<12))
        XCTAssertEqual(set.labels, [7, 3])
    }

    func testReadsFashionMNISTFromDebianPackage() throws {
        let directory = IDXDataset.fashionMNISTDirectory
        guard FileManager.default.fileExists(atPath: directory.path) else {
            throw XCTSkip("dataset-fashion-mnist is not installed (\(directory.path))")
        }
        let dataset = try IDXDataset(directory: directory)
        XCTAssertEqual(dataset.training.count, 60_000)
        XCTAssertEqual(dataset.test.count, 10_000)
        XCTAssertEqual(dataset.training.rows, 28)
        XCTAssertEqual(dataset.training.pixels.count, 60_000 * 784)
        // Ten classes, balanced: 6,000 training images each.
        var histogram = [Int](repeating: 0, count: 10)
        for label in dataset.training.labels { histogram[Int(label)] += 1 }
        XCTAssertEqual(histogram, [Int](repeating: 6_000, count: 10))
    }

    func testTruncatedFileNamesTheFile() throws {
        let url = try write(idx(rank: 3, dimensions: [2, 2, 3], payload: Array(0..<11)), "short-images")
        XCTAssertThrowsError(try IDXFile(contentsOf: url, rank: 3)) { error in
            XCTAssertEqual(error as? DataError, .truncated(file: url.path, expectedBytes: 28, actualBytes: 27))
            XCTAssertTrue("\(error)".contains("short-images"))
        }
    }

    func testWrongMagicNamesTheFile() throws {
        let labels = try write(idx(rank: 1, dimensions: [2], payload: [1, 2]), "labels")
        XCTAssertThrowsError(try IDXFile(contentsOf: labels, rank: 3)) { error in
            guard case .badMagic(let file, let found, _) = error as? DataError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, labels.path)
            XCTAssertEqual(found, 0x801)
        }
    }

    func testCountMismatch() throws {
        let images = try write(idx(rank: 3, dimensions: [3, 1, 1], payload: [1, 2, 3]), "images")
        let labels = try write(idx(rank: 1, dimensions: [2], payload: [1, 2]), "labels")
        XCTAssertThrowsError(try LabeledImages(images: images, labels: labels)) { error in
            XCTAssertEqual(error as? DataError, .countMismatch(images: images.path, imageCount: 3, labels: labels.path, labelCount: 2))
        }
    }

    func testTruncatedGzipIsAnError() throws {
        let plain = try write(idx(rank: 1, dimensions: [4], payload: [1, 2, 3, 4]), "labels")
        let gzipped = folder.appendingPathComponent("labels.gz")
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "gzip -c '\(plain.path)' > '\(gzipped.path)'"]
        try gzip.run()
        gzip.waitUntilExit()
        XCTAssertEqual(try IDXFile(contentsOf: gzipped, rank: 1).bytes, [1, 2, 3, 4])
        let whole = try Data(contentsOf: gzipped)
        let cut = try write(whole.prefix(whole.count / 2), "cut.gz")
        XCTAssertThrowsError(try IDXFile(contentsOf: cut, rank: 1)) { error in
            XCTAssertTrue("\(error)".contains("cut.gz"), "\(error)")
        }
    }

    func testMissingFolderSaysWhatToInstall() {
        XCTAssertThrowsError(try IDXDataset(directory: folder.appendingPathComponent("nowhere"))) { error in
            XCTAssertTrue("\(error)".contains("train-images-idx3-ubyte"), "\(error)")
        }
    }
}
