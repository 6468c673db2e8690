// TextFile: reads a text to learn from (`kiln train --model char-lstm --text FILE`): UTF-8 only, checked
// byte by byte, so a binary file or another encoding is an error naming the file and the first bad byte
// instead of text silently full of U+FFFD replacement characters.
import Foundation
import KilnFiles

public enum TextFile {
    /// The largest text read: its characters are held as integers, eight bytes each.
    public static let limit = 1 << 30

    /// The UTF-8 text of the file at `url`.
    /// - Throws: `FileError` when it is not a readable regular file or is larger than `limit`;
    ///   `DataError.invalidText` when it is not UTF-8 text.
    public static func read(_ url: URL) throws -> String {
        try decode(FileContents.read(url, limit: limit), file: url.path)
    }

    /// `data` as UTF-8 text; `file` names it in errors. A NUL byte (what binary files are full of, and no
    /// text contains) and any byte sequence that is not UTF-8 are refused with their offset.
    public static func decode(_ data: Data, file: String) throws -> String {
        if let zero = data.firstIndex(of: 0) {
            throw DataError.invalidText(file: file, offset: zero - data.startIndex, reason: "a NUL byte; this is a binary file, not text")
        }
        var decoder = UTF8()
        var iterator = data.makeIterator()
        var scalars = String.UnicodeScalarView()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                scalars.append(scalar)
                offset += UTF8.width(scalar)
            case .emptyInput:
                return String(scalars)
            case .error:
                throw DataError.invalidText(
                    file: file, offset: offset,
                    reason: String(
                        format: "byte 0x%02X is not UTF-8; convert the file to UTF-8 (iconv -t UTF-8)", data[data.startIndex + offset]))
            }
        }
    }
}
