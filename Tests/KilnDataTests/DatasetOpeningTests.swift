// ImageDataset.open: each format recognised, the same test and validation rules for all of them, class
// names from folders, classes.txt or Fashion-MNIST's, and out-of-range labels named by file and index.
import Foundation
import XCTest

@testable import KilnData

final class DatasetOpeningTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-open-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    func write(_ data: Data, _ name: String) throws {
        try data.write(to: root.appendingPathComponent(name))
    }

    func idx(_ dimensions: [Int], _ payload: [UInt8]) -> Data {
        var bytes: [UInt8] = [0, 0, 8, UInt8(dimensions.count)]
        for dimension in dimensions { bytes += withUnsafeBytes(of: UInt32(dimension).bigEndian, Array.init) }
        return Data(bytes + payload)
    }

    func testIDXWithKaggleNamesAndALabelOutOfRange() throws {
        try write(idx([4, 2, 2], [UInt8](repeating: 7, count: 16)), "train-images.idx3-ubyte")
        try write(idx([4], [0, 1, 2, 1]), "train-labels.idx1-ubyte")
        try write(idx([2, 2, 2], [UInt8](repeating: 7, count: 8)), "t10k-images.idx3-ubyte")
        try write(idx([2], [2, 0]), "t10k-labels.idx1-ubyte")
        let opened = try ImageDataset.open(root)
        XCTAssertEqual(opened.format, "IDX")
        XCTAssertEqual(opened.dataset.classCount, 3)
        XCTAssertNil(opened.dataset.classNames)
        XCTAssertEqual(opened.dataset.imageShape, [1, 2, 2])

        try write(idx([2], [2, 200]), "t10k-labels.idx1-ubyte")
        XCTAssertThrowsError(try ImageDataset.open(root, name: "letters")) { error in
            XCTAssertEqual(
                "\(error)",
                "\(self.root.appendingPathComponent("t10k-labels.idx1-ubyte").path): label 200 at index 1 (test image 1 of letters) is outside the data set's 3 classes (0 to 2)"
            )
        }
        XCTAssertThrowsError(try ImageDataset.open(root, options: DatasetOptions(channels: 3))) {
            XCTAssertTrue("\($0)".contains("--channels are for image folders"), "\($0)")
        }
    }

    func testClassesFileNamesTheClassesAndSetsTheirCount() throws {
        try write(idx([2, 1, 1], [1, 2]), "train-images-idx3-ubyte")
        try write(idx([2], [0, 1]), "train-labels-idx1-ubyte")
        try write(idx([1, 1, 1], [3]), "t10k-images-idx3-ubyte")
        try write(idx([1], [1]), "t10k-labels-idx1-ubyte")
        try write(Data("zero\none\ntwo\n\n".utf8), "classes.txt")
        let opened = try ImageDataset.open(root)
        XCTAssertEqual(opened.dataset.classNames, ["zero", "one", "two"])
        XCTAssertEqual(opened.dataset.classCount, 3, "a class with no training images still counts")
        try write(Data("zero\n\ntwo".utf8), "classes.txt")
        XCTAssertThrowsError(try ImageDataset.open(root)) {
            XCTAssertTrue("\($0)".contains("classes.txt: invalid header: needs one class name per line"), "\($0)")
        }
    }

    func testFashionMNISTHasItsClassNames() throws {
        guard FileManager.default.fileExists(atPath: IDXDataset.fashionMNISTDirectory.path) else {
            throw XCTSkip("dataset-fashion-mnist is not installed")
        }
        let opened = try ImageDataset.open(IDXDataset.fashionMNISTDirectory, name: "fashion-mnist")
        XCTAssertEqual(opened.dataset.classNames?.first, "T-shirt/top")
        XCTAssertEqual(opened.dataset.classNames?.last, "Ankle boot")
        XCTAssertEqual(opened.dataset.training.count, 60000)
    }

    func testNumPyFolderInKerasNaming() throws {
        let images = NPYTests.npy(descr: "|u1", shape: [6, 2, 2], payload: (0..<24).map(UInt8.init))
        try write(images, "X_train.npy")
        try write(NPYTests.npy(descr: "<i8", shape: [6], payload: NPYTests.littleEndian([Int64(0), 1, 0, 1, 0, 1])), "y_train.npy")
        let opened = try ImageDataset.open(root)
        XCTAssertEqual(opened.format, "NumPy")
        XCTAssertEqual(opened.dataset.test.count, 2, "20% of 3, rounded, per class")
        XCTAssertEqual(opened.dataset.training.count, 4)
        XCTAssertTrue(opened.notes.contains { $0.contains("held out as the test set") }, "\(opened.notes)")

        try FileManager.default.removeItem(at: root.appendingPathComponent("y_train.npy"))
        XCTAssertThrowsError(try ImageDataset.open(root)) { XCTAssertTrue("\($0)".contains("no training pair"), "\($0)") }
    }

    func testTestAndValidationRulesForImageFolders() throws {
        func png(_ path: String, _ value: UInt8) throws {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try PNG.encode(width: 2, height: 2, pixels: [UInt8](repeating: value, count: 4)).write(to: url)
        }
        for index in 0..<10 {
            try png("train/cat/\(index).png", UInt8(index))
            try png("train/dog/\(index).png", UInt8(100 + index))
        }
        try png("val/cat/v.png", 1)
        try png("val/dog/v.png", 2)
        var opened = try ImageDataset.open(root)
        XCTAssertEqual(opened.format, "image folder")
        XCTAssertEqual(opened.dataset.classNames, ["cat", "dog"])
        XCTAssertEqual(opened.dataset.test.count, 2, "val/ doubles as the test set")
        XCTAssertEqual(opened.dataset.validation?.count, 2)
        opened = try ImageDataset.open(root, options: DatasetOptions(validationFraction: 0.2))
        XCTAssertEqual(opened.dataset.validation?.count, 4, "2 of each class's 10 held out")
        XCTAssertEqual(opened.dataset.training.count, 16)
        XCTAssertEqual(opened.dataset.test.count, 2, "val/ stays the test set")
        let again = try ImageDataset.open(root, options: DatasetOptions(validationFraction: 0.2))
        let held = (0..<4).map { opened.dataset.validation?.labelSource(at: $0) }
        XCTAssertEqual(held, (0..<4).map { again.dataset.validation?.labelSource(at: $0) }, "the same images every time")

        let empty = root.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertThrowsError(try ImageDataset.open(empty)) { XCTAssertTrue("\($0)".contains("holds no data set Kiln reads"), "\($0)") }
    }

    func testStratifiedSplitKeepsEveryClass() {
        let labels: [UInt8] = [0, 0, 0, 0, 0, 1, 1, 2]
        let set = LabeledImages(pixels: [UInt8](repeating: 0, count: labels.count), labels: labels, rows: 1, columns: 1)
        let split = set.stratifiedSplit(holdingOut: 0.2, seed: 7)
        XCTAssertEqual(split.heldOut.count, 2, "one of class 0 (5 × 0.2), one of class 1 (at least one), none of the single class 2")
        XCTAssertEqual(Set((0..<split.heldOut.count).map(split.heldOut.label(at:))), [0, 1])
        XCTAssertEqual(split.kept.count + split.heldOut.count, labels.count)
        XCTAssertEqual(split.kept.indices, split.kept.indices.sorted(), "order kept")
    }
}
