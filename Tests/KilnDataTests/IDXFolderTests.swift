// IDXFolder: the four files found under each published naming (LeCun's, Kaggle's, EMNIST's prefixes, test-
// for t10k-, gzipped or not), and errors that name what is missing without assuming Fashion-MNIST.
import Foundation
import XCTest

@testable import KilnData

final class IDXFolderTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-idx-folder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private func touch(_ names: [String]) throws {
        for name in names { try Data().write(to: folder.appendingPathComponent(name)) }
    }

    func testRolesOfEachNaming() {
        XCTAssertEqual(IDXFolder.role(of: "train-images-idx3-ubyte")?.role, .trainingImages)
        XCTAssertEqual(IDXFolder.role(of: "train-images.idx3-ubyte")?.role, .trainingImages)
        XCTAssertEqual(IDXFolder.role(of: "T10K-LABELS.IDX1-UBYTE")?.role, .testLabels)
        XCTAssertEqual(IDXFolder.role(of: "test-images-idx3-ubyte.gz")?.role, .testImages)
        let emnist = IDXFolder.role(of: "emnist-letters-train-labels-idx1-ubyte.gz")
        XCTAssertEqual(emnist?.role, .trainingLabels)
        XCTAssertEqual(emnist?.prefix, "emnist-letters")
        for name in ["train-images-idx1-ubyte", "train-images", "valid-images-idx3-ubyte", "train-images-idx3-ubyte.zip", "ubyte"] {
            XCTAssertNil(IDXFolder.role(of: name), name)
        }
    }

    func testKaggleNamesAreFound() throws {
        try touch(["train-images.idx3-ubyte", "train-labels.idx1-ubyte", "t10k-images.idx3-ubyte", "t10k-labels.idx1-ubyte", "README.md"])
        let files = try IDXFolder(directory: folder)
        XCTAssertEqual(files.trainingImages.lastPathComponent, "train-images.idx3-ubyte")
        XCTAssertEqual(files.testLabels.lastPathComponent, "t10k-labels.idx1-ubyte")
        XCTAssertTrue(IDXFolder.containsIDXFiles(folder))
    }

    func testGzippedFileIsPreferredAndPrefixesAreOneSet() throws {
        try touch([
            "emnist-letters-train-images-idx3-ubyte", "emnist-letters-train-images-idx3-ubyte.gz",
            "emnist-letters-train-labels-idx1-ubyte.gz",
            "emnist-letters-test-images-idx3-ubyte.gz", "emnist-letters-test-labels-idx1-ubyte.gz",
        ])
        let files = try IDXFolder(directory: folder)
        XCTAssertEqual(files.trainingImages.lastPathComponent, "emnist-letters-train-images-idx3-ubyte.gz")
        XCTAssertEqual(files.testImages.lastPathComponent, "emnist-letters-test-images-idx3-ubyte.gz")
    }

    func testSeveralSetsAreAnError() throws {
        try touch(["emnist-letters-train-images-idx3-ubyte.gz", "emnist-digits-train-images-idx3-ubyte.gz"])
        XCTAssertThrowsError(try IDXFolder(directory: folder)) { error in
            XCTAssertTrue("\(error)".contains("several IDX data sets (emnist-digits-, emnist-letters-)"), "\(error)")
        }
    }

    func testMissingFilesAreNamedWithoutTalkingAboutFashionMNIST() throws {
        try touch(["train-images.idx3-ubyte", "t10k-labels.idx1-ubyte"])
        XCTAssertThrowsError(try IDXFolder(directory: folder)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix(self.folder.path + ": "), message)
            XCTAssertTrue(
                message.contains("no training labels (train-labels-idx1-ubyte), test images (t10k-images-idx3-ubyte) file"), message)
            XCTAssertTrue(message.contains("Kaggle"), message)
            XCTAssertFalse(message.lowercased().contains("fashion"), message)
        }
        XCTAssertThrowsError(try IDXFolder(directory: folder.appendingPathComponent("nowhere"))) { error in
            XCTAssertTrue("\(error)".contains("no such folder"), "\(error)")
        }
    }
}
