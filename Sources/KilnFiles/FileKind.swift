// FileKind: what a path names (a file, a folder, a device, ...) and whether another user could have
// written it, from stat's mode and owner, for messages that say why a path cannot be used.
import Foundation

enum FileKind {
    /// "a folder", "a symbolic link", ... for a `st_mode`; nil for a regular file.
    static func describe(mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: nil
        case S_IFDIR: "a folder"
        case S_IFLNK: "a symbolic link"
        case S_IFIFO: "a pipe"
        case S_IFSOCK: "a socket"
        case S_IFCHR, S_IFBLK: "a device"
        default: "not a regular file"
        }
    }

    /// Why a file or folder with `status` could have been written by another user (owned by someone else,
    /// or writable by its group or by everyone); nil when only this user (or root) can write it.
    static func untrustedReason(_ status: stat) -> String? {
        let owner = status.st_uid
        if owner != geteuid() { return "it belongs to user \(owner), not to this user (\(geteuid()))" }
        let mode = status.st_mode & 0o777
        if mode & 0o022 != 0 { return "other users can write it (mode \(String(mode, radix: 8)))" }
        return nil
    }
}
