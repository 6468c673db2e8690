// RandomAccessFile: reads byte ranges of a file by offset (pread), so a data set can read one example at a
// time from several threads without holding the file in memory.
import Foundation
import KilnFiles

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A regular file open for reading at any offset; safe to read from several threads at once.
final class RandomAccessFile: @unchecked Sendable {
    let path: String
    /// The file's size in bytes when it was opened.
    let size: Int
    private let descriptor: Int32

    init(_ url: URL) throws {
        path = url.path
        // O_NONBLOCK: opening a pipe with no writer would wait for ever; the check below then refuses it.
        descriptor = open(url.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw DataError.unreadable(file: url.path, reason: String(cString: strerror(errno))) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw DataError.unreadable(file: url.path, reason: reason)
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw DataError.unreadable(file: url.path, reason: "it is \(FileContents.kind(of: url) ?? "not a regular file"), not a file")
        }
        size = Int(status.st_size)
    }

    deinit { close(descriptor) }

    /// Fills `buffer` with the bytes at `offset`; a file shorter than that is `DataError.truncated`.
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            guard let base = buffer.baseAddress else { return }
            let count = pread(descriptor, base + done, buffer.count - done, off_t(offset + done))
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw DataError.unreadable(file: path, reason: String(cString: strerror(errno))) }
            guard count > 0 else { throw DataError.truncated(file: path, expectedBytes: offset + buffer.count, actualBytes: offset + done) }
            done += count
        }
    }

    /// The `count` bytes at `offset`.
    func bytes(at offset: Int, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeMutableBytes { try read(at: offset, into: $0) }
        return bytes
    }
}
