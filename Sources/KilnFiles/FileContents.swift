// FileContents: the one way Kiln reads a whole file. It refuses what is not a regular file (a folder, a
// pipe that would block, a device) with a message saying so, bounds what it reads, and never follows the
// file's own size blindly (files under /proc report 0; a file may grow while it is read).
import Foundation

public enum FileContents {
    /// Whose files a reader accepts.
    public enum Trust: Sendable {
        /// Any regular file the process can read (what the user names on the command line).
        case anyone
        /// Only a file owned by this user that no other user can write, not reached through a symlink:
        /// what a cache accepts, so that another user cannot feed it.
        case thisUserOnly
    }

    /// The bytes of the regular file at `url`, at most `limit` of them.
    /// - Throws: `FileError.notARegularFile` for a folder, pipe, socket or device; `.tooLarge` beyond
    ///   `limit`; `.untrusted` for a file `trust` refuses; `.unreadable` with the system's reason otherwise.
    public static func read(_ url: URL, limit: Int = .max, trust: Trust = .anyone) throws(FileError) -> Data {
        try readVersioned(url, limit: limit, trust: trust).data
    }

    /// `read`, and which version of the file was read: a later read with the same version got the same bytes
    /// (its change time moves on any write, and no user can set it back).
    public static func readVersioned(_ url: URL, limit: Int = .max, trust: Trust = .anyone) throws(FileError) -> (
        data: Data, version: FileVersion
    ) {
        let path = url.path
        // O_NONBLOCK: opening a pipe with no writer would otherwise wait for ever. It does not change how a
        // regular file reads.
        let noFollow = trust == .thisUserOnly ? O_NOFOLLOW : 0
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | noFollow)
        guard descriptor >= 0 else {
            if errno == ELOOP, trust == .thisUserOnly { throw .untrusted(file: path, reason: "it is a symbolic link") }
            throw .unreadable(file: path, reason: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .unreadable(file: path, reason: String(cString: strerror(errno))) }
        if let kind = FileKind.describe(mode: status.st_mode) { throw .notARegularFile(file: path, kind: kind) }
        if trust == .thisUserOnly, let reason = FileKind.untrustedReason(status) { throw .untrusted(file: path, reason: reason) }
        let size = Int(status.st_size)
        guard size <= limit else { throw .tooLarge(file: path, bytes: size, limit: limit) }
        var data = Data(capacity: size)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadable(file: path, reason: String(cString: strerror(errno)))
            }
            guard data.count <= limit - count else { throw .tooLarge(file: path, bytes: data.count + count, limit: limit) }
            data.append(contentsOf: chunk[0..<count])
        }
        var after = stat()
        let version = FileVersion(status)
        // Written while it was read: not one version, so no version to promise.
        guard fstat(descriptor, &after) == 0, FileVersion(after) == version, size == 0 || data.count == size else {
            throw .unreadable(file: path, reason: "it changed while it was read")
        }
        return (data, version)
    }

    /// What `url` names when it is not a regular file ("a folder", "a pipe", ...); nil for a regular file or
    /// when nothing is there. Symlinks are followed, as opening the path would.
    public static func kind(of url: URL) -> String? {
        var status = stat()
        guard stat(url.path, &status) == 0 else { return nil }
        return FileKind.describe(mode: status.st_mode)
    }
}

/// One version of a file's contents: its device, inode, size and change time.
public struct FileVersion: Hashable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let changeSeconds: Int
    let changeNanoseconds: Int

    /// Seconds since this version was made (its change time).
    public var age: Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec - changeSeconds) + Double(now.tv_nsec - changeNanoseconds) * 1e-9
    }

    init(_ status: stat) {
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
        size = Int64(status.st_size)
        changeSeconds = status.st_ctim.tv_sec
        changeNanoseconds = status.st_ctim.tv_nsec
    }
}
