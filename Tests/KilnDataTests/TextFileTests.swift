// TextFile: a text to learn from is UTF-8 or an error naming the file and the first bad byte; binary files
// and other encodings no longer train on U+FFFD replacement characters.
import Foundation
import KilnData
import XCTest

final class TextFileTests: XCTestCase {
    private func error(_ bytes: [UInt8]) -> String {
        do {
            _ = try TextFile.decode(Data(bytes), file: "book.txt")
            XCTFail("decoded")
            return ""
        } catch { return "\(error)" }
    }

    func testUTF8TextReadsExactly() throws {
        let text = "Grüße, ça va? Ελληνικά, 日本語, 🦊 and é.\n"
        XCTAssertEqual(try TextFile.decode(Data(text.utf8), file: "book.txt"), text)
        XCTAssertEqual(try TextFile.decode(Data(), file: "book.txt"), "")
        XCTAssertEqual(try TextFile.decode(Data(text.utf8).dropFirst(1), file: "book.txt"), String(text.dropFirst(1)), "a slice reads too")
    }

    func testBadBytesAreNamed() {
        XCTAssertEqual(
            error(Array("café".utf8.prefix(3)) + [0xE9]),
            "book.txt: not UTF-8 text: at byte 3, byte 0xE9 is not UTF-8; convert the file to UTF-8 (iconv -t UTF-8)")
        XCTAssertEqual(error([0x41, 0x00, 0x42]), "book.txt: not UTF-8 text: at byte 1, a NUL byte; this is a binary file, not text")
        // Overlong encodings, UTF-16 surrogates and code points past U+10FFFF are not UTF-8 either.
        XCTAssertTrue(error([0x61, 0xC0, 0xAF]).hasPrefix("book.txt: not UTF-8 text: at byte 1, byte 0xC0"))
        XCTAssertTrue(error([0xED, 0xA0, 0x80]).hasPrefix("book.txt: not UTF-8 text: at byte 0, byte 0xED"))
        XCTAssertTrue(error([0xF4, 0x90, 0x80, 0x80]).hasPrefix("book.txt: not UTF-8 text: at byte 0, byte 0xF4"))
        XCTAssertTrue(error(Array("ok ✓".utf8.dropLast())).hasPrefix("book.txt: not UTF-8 text: at byte 3, byte 0xE2"))
    }

    func testFilesAreCheckedToo() throws {
        let folder = FileManager.default.temporaryDirectory
        XCTAssertThrowsError(try TextFile.read(folder)) { error in
            XCTAssertEqual("\(error)", "\(folder.path): is a folder, not a file; give the path of a file")
        }
    }
}
