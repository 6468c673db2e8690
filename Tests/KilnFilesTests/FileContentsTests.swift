// FileContents: folders, pipes and devices are named as such (no "NSCocoaErrorDomain error 256", no
// wait on a pipe), reads are bounded, and files that report no size (/proc) are read whole.
import Foundation
import XCTest

@testable import KilnFiles

final class FileContentsTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testReadsAFile() throws {
        let url = folder.appendingPathComponent("data")
        let bytes = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        try bytes.write(to: url)
        XCTAssertEqual(try FileContents.read(url), bytes)
        XCTAssertEqual(try FileContents.read(url, limit: bytes.count), bytes)
    }

    func testWhatIsNotAFileIsNamed() throws {
        XCTAssertThrowsError(try FileContents.read(folder)) { error in
            XCTAssertEqual("\(error)", "\(folder.path): is a folder, not a file; give the path of a file")
        }
        let pipe = folder.appendingPathComponent("pipe")
        XCTAssertEqual(mkfifo(pipe.path, 0o600), 0)
        XCTAssertThrowsError(try FileContents.read(pipe)) { error in
            XCTAssertEqual(error as? FileError, .notARegularFile(file: pipe.path, kind: "a pipe"))
        }
        XCTAssertThrowsError(try FileContents.read(URL(fileURLWithPath: "/dev/zero"))) { error in
            XCTAssertEqual(error as? FileError, .notARegularFile(file: "/dev/zero", kind: "a device"))
        }
        let missing = folder.appendingPathComponent("missing")
        XCTAssertThrowsError(try FileContents.read(missing)) { error in
            XCTAssertEqual("\(error)", "\(missing.path): cannot read: No such file or directory")
        }
        XCTAssertEqual(FileContents.kind(of: folder), "a folder")
        XCTAssertNil(FileContents.kind(of: missing))
    }

    func testReadsAreBounded() throws {
        let url = folder.appendingPathComponent("big")
        try Data(count: 1000).write(to: url)
        XCTAssertThrowsError(try FileContents.read(url, limit: 999)) { error in
            XCTAssertEqual(error as? FileError, .tooLarge(file: url.path, bytes: 1000, limit: 999))
        }
        // /proc files report a size of 0 and are read to their end, still within the limit.
        let status = try FileContents.read(URL(fileURLWithPath: "/proc/self/status"))
        XCTAssertTrue(String(decoding: status, as: UTF8.self).contains("Pid:"))
        XCTAssertThrowsError(try FileContents.read(URL(fileURLWithPath: "/proc/self/status"), limit: 10)) { error in
            guard case .tooLarge = error as? FileError else { return XCTFail("\(error)") }
        }
    }
}
