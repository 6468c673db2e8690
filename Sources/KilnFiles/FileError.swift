// FileError: what can go wrong reading or writing a file, naming the file and saying what to do.
import Foundation

/// A file Kiln cannot read or write. Each case names the file (and the option it came from, when known).
public enum FileError: LocalizedError, CustomStringConvertible, Equatable {
    /// The file cannot be opened or read; `reason` is the system's message.
    case unreadable(file: String, reason: String)
    /// The path names a folder, a device or another thing that is not a regular file.
    case notARegularFile(file: String, kind: String)
    /// The file is larger than the reader accepts.
    case tooLarge(file: String, bytes: Int, limit: Int)
    /// The file is refused because another user could have written it (a cache accepts only its owner's files).
    case untrusted(file: String, reason: String)
    /// The file cannot be written; `reason` is the system's message. The old file, if any, is unchanged.
    case unwritable(file: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason): "\(file): cannot read: \(reason)"
        case .notARegularFile(let file, let kind): "\(file): is \(kind), not a file; give the path of a file"
        case .tooLarge(let file, let bytes, let limit):
            "\(file): \(bytes) bytes is more than the \(limit) bytes this reader accepts"
        case .untrusted(let file, let reason): "\(file): not trusted: \(reason)"
        case .unwritable(let file, let reason): "\(file): cannot write: \(reason)"
        }
    }

    /// The description, also for code that reads `localizedDescription`.
    public var errorDescription: String? { description }

    /// The system's message for `code`, with advice for the common cases.
    static func reason(_ code: Int32) -> String {
        let message = String(cString: strerror(code))
        switch code {
        case ENOSPC, EDQUOT, EFBIG: return "\(message); free some space (the previous file, if any, is kept)"
        case EACCES, EPERM, EROFS: return "\(message); choose a folder you can write"
        case ENOTDIR: return "\(message); a part of the path is a file, not a folder"
        case EISDIR: return "\(message); the path names a folder, give a file name"
        default: return message
        }
    }
}
