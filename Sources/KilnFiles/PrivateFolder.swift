// PrivateFolder: a folder only this user can write (a cache), created 0700 when missing, and refused when
// another user could change what is in it: the folder or any folder above it is owned by someone else
// (other than root), or writable by group or everyone without the sticky bit that /tmp has.
import Foundation

public enum PrivateFolder {
    /// Creates `url` (and missing parents) with mode 0700 when it does not exist, then checks that no other
    /// user can change its contents. Returns the folder's real path (symlinks resolved).
    /// - Throws: `FileError.untrusted` naming the folder at fault and how to fix it; `.unwritable` when it
    ///   cannot be created.
    @discardableResult
    public static func open(_ url: URL) throws(FileError) -> URL {
        try OutputFolder.create(url.standardizedFileURL.path, mode: 0o700)
        guard let resolved = realpath(url.path, nil) else {
            throw .unwritable(file: url.path, reason: String(cString: strerror(errno)))
        }
        let real = String(cString: resolved)
        free(resolved)
        var status = stat()
        guard lstat(real, &status) == 0 else { throw .unwritable(file: real, reason: String(cString: strerror(errno))) }
        if let reason = FileKind.untrustedReason(status) {
            throw .untrusted(file: real, reason: reason + "; run chmod 700 \(real), or choose another folder")
        }
        // Whoever can write a folder above can rename this one away and put their own in its place.
        var ancestor = real
        while ancestor != "/" {
            ancestor = (ancestor as NSString).deletingLastPathComponent
            guard lstat(ancestor, &status) == 0 else { throw .unwritable(file: ancestor, reason: String(cString: strerror(errno))) }
            let sticky = status.st_mode & S_ISVTX != 0
            let ownerIsTrusted = status.st_uid == 0 || status.st_uid == geteuid()
            if !ownerIsTrusted || (status.st_mode & 0o022 != 0 && !sticky) {
                let reason =
                    ownerIsTrusted
                    ? "other users can write it (mode \(String(status.st_mode & 0o777, radix: 8)))" : "it belongs to user \(status.st_uid)"
                throw .untrusted(file: real, reason: "the folder above it, \(ancestor), is not safe: \(reason); choose another folder")
            }
        }
        return URL(fileURLWithPath: real, isDirectory: true)
    }
}
