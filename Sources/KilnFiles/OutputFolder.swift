// OutputFolder: creates the folder a command writes into (`--out`), with a message that names the path
// and says what is in the way (a file, a missing permission, a read-only place such as /proc) instead of
// the system's error object.
import Foundation

public enum OutputFolder {
    /// Creates `url` and any missing parents (`mkdir -p`); nothing happens when it is already a folder.
    public static func create(_ url: URL) throws(FileError) {
        try create(url.standardizedFileURL.path, mode: 0o777)
    }

    /// `mkdir -p` giving each new folder `mode` (less the umask).
    static func create(_ path: String, mode: mode_t) throws(FileError) {
        var status = stat()
        if stat(path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFDIR else { throw .unwritable(file: path, reason: "it is a file, not a folder") }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if parent != path, !parent.isEmpty { try create(parent, mode: mode) }
        if mkdir(path, mode) != 0, errno != EEXIST { throw .unwritable(file: path, reason: FileError.reason(errno)) }
    }
}
