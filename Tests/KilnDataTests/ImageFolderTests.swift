// Image folders: classes and files in torchvision's ImageFolder order (checked against Python's sorted
// os.walk on the same tree), split folders, the size and channel rules, images decoded on demand, and a
// clear error naming the folder or file for each layout problem.
import CTurboJPEG
import Foundation
import XCTest

@testable import KilnData

final class ImageFolderTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-folder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    /// Writes a grey PNG of `width × height` pixels, every one `value`, at `path` under the root.
    func png(_ path: String, value: UInt8 = 100, width: Int = 4, height: Int = 3, rgb: Bool = false) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try PNG.encode(width: width, height: height, pixels: [UInt8](repeating: value, count: width * height * (rgb ? 3 : 1)), rgb: rgb)
            .write(to: url)
    }

    func file(_ path: String, _ contents: String = "") throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: url)
    }

    func testClassesAndFilesInTorchvisionOrder() throws {
        // The order Python gives for `sorted(os.walk(...))` and `sorted(fnames)` on this tree (checked with python3).
        for path in [
            "cat/b.png", "cat/a.PNG", "cat/sub/z.jpg", "cat/sub/x/y.png", "cat/sub-2/w.jpeg", "cat/Sub/v.png", "cat/é.png", "cat/e.png",
        ] {
            if path.hasSuffix("jpg") || path.hasSuffix("jpeg") {
                let url = root.appendingPathComponent(path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try ImageFixtures.jpeg(width: 4, height: 3, pixels: [UInt8](repeating: 50, count: 12), format: TJPF_GRAY).write(to: url)
            } else {
                try png(path)
            }
        }
        for name in ["Zebra", "_under", "dog", "ant"] { try png("\(name)/1.png") }
        try file("cat/notes.txt", "not an image")
        try png("cat/.hidden.png")
        try png(".ipynb_checkpoints/1.png")
        let folder = try ImageFolder(directory: root)
        XCTAssertEqual(folder.classNames, ["Zebra", "_under", "ant", "cat", "dog"])
        let catFiles = zip(folder.training.files, folder.training.labels).filter { $0.1 == 3 }.map {
            String($0.0.path.dropFirst(root.path.count + 1))
        }
        XCTAssertEqual(
            catFiles,
            ["cat/a.PNG", "cat/b.png", "cat/e.png", "cat/é.png", "cat/Sub/v.png", "cat/sub/z.jpg", "cat/sub-2/w.jpeg", "cat/sub/x/y.png"])
        XCTAssertEqual(folder.skippedFiles, 2, "notes.txt and .hidden.png")
        XCTAssertEqual(folder.training.imageShape, [1, 3, 4])
        XCTAssertNil(folder.validation)
        XCTAssertNil(folder.test)
    }

    func testSplitFoldersAndTheirClasses() throws {
        try png("train/a/1.png", value: 10)
        try png("train/a/2.png", value: 20)
        try png("train/b/1.png", value: 30)
        try png("val/b/1.png", value: 40)
        try png("TEST/a/1.png", value: 50)
        let folder = try ImageFolder(directory: root)
        XCTAssertEqual(folder.classNames, ["a", "b"])
        XCTAssertEqual(folder.training.labels, [0, 0, 1])
        XCTAssertEqual(folder.validation?.labels, [1])
        XCTAssertEqual(folder.test?.labels, [0])
        var values: [Float] = []
        try folder.test?.writeImages([0], normalizedBy: .unit, into: &values)
        XCTAssertEqual(values, [Float](repeating: 50 / 255, count: 12))

        try png("TEST/c/1.png")
        XCTAssertThrowsError(try ImageFolder(directory: root)) { error in
            XCTAssertTrue("\(error)".contains("TEST/c: cannot read: a class folder with no counterpart"), "\(error)")
        }
        try png("testing/a/1.png")
        XCTAssertThrowsError(try ImageFolder(directory: root)) { XCTAssertTrue("\($0)".contains("has both TEST/ and testing/"), "\($0)") }
    }

    func testLayoutErrorsNameTheFolderOrFile() throws {
        try png("val/a/1.png")
        XCTAssertThrowsError(try ImageFolder(directory: root)) { XCTAssertTrue("\($0)".contains("no train/ folder"), "\($0)") }
        try png("train/a/1.png")
        try png("extra/a/1.png")
        XCTAssertThrowsError(try ImageFolder(directory: root)) { XCTAssertTrue("\($0)".contains("and also extra/"), "\($0)") }
        try FileManager.default.removeItem(at: root.appendingPathComponent("extra"))
        try FileManager.default.createDirectory(at: root.appendingPathComponent("train/empty"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try ImageFolder(directory: root)) {
            XCTAssertTrue("\($0)".contains("empty: cannot read: a class folder with no PNG or JPEG"), "\($0)")
        }
        try file("train/empty/photo.bmp", "BM")
        XCTAssertThrowsError(try ImageFolder(directory: root)) {
            XCTAssertTrue("\($0)".contains("photo.bmp: cannot read: a BMP image; Kiln reads PNG and JPEG"), "\($0)")
        }
        try FileManager.default.removeItem(at: root.appendingPathComponent("train/empty/photo.bmp"))
        try file("train/empty/fake.png", "text, not a PNG")
        XCTAssertThrowsError(try ImageFolder(directory: root)) {
            XCTAssertTrue("\($0)".contains("fake.png: cannot read: not a PNG or JPEG file"), "\($0)")
        }
    }

    func testSizeAndChannelRules() throws {
        try png("a/small.png", width: 4, height: 3)
        try png("a/wide.png", width: 8, height: 3)
        try png("b/colour.png", value: 200, width: 4, height: 3, rgb: true)
        XCTAssertThrowsError(try ImageFolder(directory: root)) { error in
            XCTAssertTrue(
                "\(error)".contains("the images differ in size (2 sizes: 2 are 4×3 (small.png), 1 are 8×3 (wide.png))"), "\(error)")
            XCTAssertTrue("\(error)".contains("--image-size"), "\(error)")
        }
        let resized = try ImageFolder(directory: root, options: .init(imageSize: (height: 2, width: 2)))
        XCTAssertEqual(resized.training.imageShape, [3, 2, 2], "any colour image makes the set RGB")
        var values: [Float] = []
        try resized.training.writeImages([2, 0], normalizedBy: .unit, into: &values)
        XCTAssertEqual(values, [Float](repeating: 200 / 255, count: 12) + [Float](repeating: 100 / 255, count: 12))
        let grey = try ImageFolder(directory: root, options: .init(imageSize: (height: 3, width: 4), channels: 1))
        XCTAssertEqual(grey.training.imageShape, [1, 3, 4])
        try grey.training.writeImages([2], normalizedBy: .unit, into: &values)
        XCTAssertEqual(values, [Float](repeating: 200 / 255, count: 12), "grey 200 as RGB is grey 200 again (BT.601 weights sum to 1)")
    }

    func testDamagedFileAfterOpeningIsAnErrorNamingIt() throws {
        try png("a/1.png")
        try png("a/2.png")
        let folder = try ImageFolder(directory: root)
        // The header stays; the image data goes (a file damaged after the folder was opened).
        let damaged = root.appendingPathComponent("a/2.png")
        let whole = try Data(contentsOf: damaged)
        try whole.prefix(40).write(to: damaged)
        var values: [Float] = []
        XCTAssertThrowsError(try folder.training.writeImages([0, 1], normalizedBy: .unit, into: &values)) { error in
            XCTAssertTrue("\(error)".hasPrefix(damaged.path + ": "), "\(error)")
        }
        let batches = ImageBatches(folder.training, batchSize: 2, shuffleSeed: nil, dropLast: false)
        let prefetch = Prefetcher(0..<1) { try batches.batch($0, order: [0, 1]) }
        XCTAssertThrowsError(try prefetch.next()) { XCTAssertTrue("\($0)".contains("2.png"), "\($0)") }
    }

    func testStandardisingAFolderMatchesTheSamePixelsInMemory() throws {
        let pixels = ImageFixtures.pattern(width: 5, height: 4, channels: 1)
        for index in 0..<3 {
            let url = root.appendingPathComponent("a/\(index).png")
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try PNG.encode(width: 5, height: 4, pixels: pixels.map { $0 &+ UInt8(index * 40) }).write(to: url)
        }
        let folder = try ImageFolder(directory: root)
        let memory = LabeledImages(
            pixels: (0..<3).flatMap { index in pixels.map { $0 &+ UInt8(index * 40) } }, labels: [0, 0, 0], rows: 4, columns: 5)
        XCTAssertEqual(try folder.training.standardizingNormalization(), PixelNormalization.standardizing(memory))
    }
}
