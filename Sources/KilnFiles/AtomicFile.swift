// AtomicFile: the one way Kiln writes a file. A reader sees the old contents or the new, never a mix; a
// crash, a kill or a full disk leaves the old file as it was; a symlink planted where the temporary file
// goes is never followed. Temporaries that a killed process left behind are removed at the next start.
import Foundation

public enum AtomicFile {
    /// Replaces `url` with `data`: a temporary file with a random name in the same folder, opened with
    /// `O_CREAT | O_EXCL | O_NOFOLLOW` (so nothing already there, a planted symlink included, is written
    /// through), written, fsynced, renamed over `url`, and the folder fsynced so the rename survives a
    /// power cut. On failure the temporary is removed and `url` is unchanged.
    /// - Parameter permissions: the new file's mode before the umask (0644; the program cache uses 0600).
    public static func write(_ data: Data, to url: URL, permissions: mode_t = 0o644) throws(FileError) {
        try write(data, to: url, permissions: permissions, temporaryNames: (0..<8).lazy.map { _ in temporaryName(for: url) })
    }

    /// Creates `url` holding `data` unless something is already there; returns whether it created it. Like
    /// `write`, but the temporary is linked to `url` (which fails when it exists) instead of renamed over it,
    /// so two processes racing to create it agree on one file, and no reader sees it half written.
    @discardableResult
    public static func create(_ data: Data, at url: URL, permissions: mode_t = 0o644) throws(FileError) -> Bool {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(temporaryName(for: url))
        try write(data, to: temporary, permissions: permissions)
        defer { unlink(temporary.path) }
        if link(temporary.path, url.path) == 0 { return true }
        if errno == EEXIST { return false }
        throw .unwritable(file: url.path, reason: FileError.reason(errno))
    }

    /// `write` trying each of `temporaryNames` in turn until one can be created (tests pass planted names).
    static func write<Names: Sequence<String>>(
        _ data: Data, to url: URL, permissions: mode_t, temporaryNames: Names
    ) throws(FileError) {
        let folder = url.deletingLastPathComponent()
        var temporary: URL?
        var descriptor: Int32 = -1
        var lastError: Int32 = EEXIST
        for name in temporaryNames {
            let candidate = folder.appendingPathComponent(name)
            descriptor = open(candidate.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, permissions)
            if descriptor >= 0 {
                temporary = candidate
                break
            }
            lastError = errno
            // Only a name that is taken is worth another try; anything else (no folder, no permission) is final.
            if lastError != EEXIST { break }
        }
        guard let temporary, descriptor >= 0 else {
            throw .unwritable(file: url.path, reason: FileError.reason(lastError))
        }
        var failure: Int32?
        data.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            var offset = 0
            while offset < bytes.count {
                let written = Foundation.write(descriptor, base + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if failure == nil, fsync(descriptor) != 0 { failure = errno }
        if close(descriptor) != 0, failure == nil { failure = errno }
        if failure == nil, rename(temporary.path, url.path) != 0 { failure = errno }
        if let failure {
            unlink(temporary.path)
            throw .unwritable(file: url.path, reason: FileError.reason(failure))
        }
        // Make the rename itself durable.
        let folderDescriptor = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folderDescriptor >= 0 {
            fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }

    /// `.NAME.PID.RANDOM.tmp`: hidden, unpredictable, and naming the process that writes it, so that
    /// `removeStaleTemporaries` can tell a dead writer's leftovers from a live writer's file.
    static func temporaryName(for url: URL) -> String {
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return ".\(url.lastPathComponent).\(getpid()).\(String(repeating: "0", count: 16 - random.count) + random).tmp"
    }

    /// Removes the temporary files in `folder` that `write` (or an earlier Kiln, whose temporaries were
    /// `.NAME.PID.tmp` and `.NAME.PID.NUMBER.tmp`) left behind when its process was killed: those whose
    /// process no longer runs. Live writers' files, other files and symlinks' targets are left alone.
    /// Returns the names removed.
    @discardableResult
    public static func removeStaleTemporaries(in folder: URL) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        var removed: [String] = []
        for name in names {
            guard let pid = writerProcess(ofTemporary: name), pid != getpid(), !isRunning(pid) else { continue }
            let path = folder.appendingPathComponent(name).path
            var status = stat()
            // unlink removes a symlink itself, never its target; folders are not ours to remove.
            guard lstat(path, &status) == 0, status.st_mode & S_IFMT != S_IFDIR else { continue }
            if unlink(path) == 0 { removed.append(name) }
        }
        return removed
    }

    /// The process id in a temporary's name (`.NAME.PID.RANDOM.tmp` or the older `.NAME.PID[.NUMBER].tmp`),
    /// or nil when `name` is not one of Kiln's temporaries.
    static func writerProcess(ofTemporary name: String) -> pid_t? {
        guard name.hasPrefix("."), name.hasSuffix(".tmp") else { return nil }
        let parts = name.dropFirst().dropLast(4).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return nil }
        func number(_ part: Substring) -> pid_t? { part.allSatisfy { $0.isASCII && $0.isNumber } ? pid_t(part) : nil }
        let last = parts[parts.count - 1]
        if parts.count >= 3, let pid = number(parts[parts.count - 2]), !last.isEmpty,
            last.allSatisfy({ $0.isASCII && $0.isHexDigit })
        {
            return pid
        }
        return number(last)
    }

    /// Whether a process with id `pid` exists (signal 0 checks without sending anything).
    private static func isRunning(_ pid: pid_t) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}
