// Image files that are not files: a pipe (FIFO) or a device named like an image, in a class folder or given
// to the decoder (as `kiln predict` does), is refused with an error naming it, instead of waiting for ever
// for a writer or reading a device without end.
import Foundation
import XCTest

@testable import KilnData

final class ImageFileHostileTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-image-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("a"), withIntermediateDirectories: true)
        try PNG.encode(width: 2, height: 2, pixels: [1, 2, 3, 4], rgb: false).write(to: root.appendingPathComponent("a/1.png"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    /// Runs `body` on another thread and fails the test if it has not returned within 20 seconds (a read that
    /// waits on a pipe would otherwise hang the suite).
    private func withinTimeLimit(_ body: @escaping @Sendable () throws -> Void) {
        let finished = expectation(description: "returned")
        DispatchQueue.global().async {
            do { try body() } catch { XCTFail("\(error)") }
            finished.fulfill()
        }
        wait(for: [finished], timeout: 20)
    }

    func testAPipeNamedLikeAnImageIsRefused() throws {
        let pipe = root.appendingPathComponent("a/pipe.png")
        XCTAssertEqual(mkfifo(pipe.path, 0o600), 0, String(cString: strerror(errno)))
        let root = root!
        withinTimeLimit {
            XCTAssertThrowsError(try ImageFolder(directory: root)) {
                XCTAssertTrue("\($0)".contains("pipe.png: cannot read: it is a pipe, not a file"), "\($0)")
            }
            XCTAssertThrowsError(try ImageFile.decode(contentsOf: pipe)) { XCTAssertTrue("\($0)".contains("pipe.png"), "\($0)") }
            XCTAssertThrowsError(try ImageFile.header(contentsOf: pipe)) { XCTAssertTrue("\($0)".contains("it is a pipe"), "\($0)") }
        }
    }

    func testADeviceNamedLikeAnImageIsRefused() throws {
        let zero = root.appendingPathComponent("a/zero.png")
        try FileManager.default.createSymbolicLink(atPath: zero.path, withDestinationPath: "/dev/zero")
        let root = root!
        withinTimeLimit {
            XCTAssertThrowsError(try ImageFolder(directory: root)) {
                XCTAssertTrue("\($0)".contains("zero.png: cannot read: it is a device, not a file"), "\($0)")
            }
            XCTAssertThrowsError(try ImageFile.decode(contentsOf: zero)) { XCTAssertTrue("\($0)".contains("a device"), "\($0)") }
        }
    }
}
