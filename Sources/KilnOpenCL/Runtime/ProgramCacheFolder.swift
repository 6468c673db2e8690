// ProgramCacheFolder: the program cache's folder on disk and what it trusts. The folder is created 0700 and
// refused when another user could write it or a folder above it; entries are read only when they are
// regular files of this user that no one else can write; a secret key kept in the folder (0600) signs
// every entry, so only entries that Kiln wrote here reach the driver. Temporaries that killed writers left
// behind are removed when the folder is opened.
import Foundation
import KilnFiles

struct ProgramCacheFolder {
    /// The folder's real path.
    let url: URL
    /// The secret that entries are signed with (`ProgramBinaryFile`).
    let key: [UInt8]
    private let warn: @Sendable (String) -> Void

    /// The file holding `key`.
    static let keyName = "key"
    /// The largest entry read: program binaries are kilobytes to a few megabytes.
    static let entryLimit = 256 << 20

    /// Opens `directory`, creating it (0700) when missing, and reads or creates its key.
    /// - Throws: `FileError` when the folder or its key is not safe to use, or cannot be created.
    init(_ directory: URL, warn: @escaping @Sendable (String) -> Void) throws(FileError) {
        url = try PrivateFolder.open(directory)
        self.warn = warn
        AtomicFile.removeStaleTemporaries(in: url)
        key = try Self.secret(in: url)
    }

    /// The entry's bytes and their version; nil when it is missing or unreadable, and nil with a warning when
    /// another user could have written it (a symlink, another owner, group- or world-writable).
    func read(_ entry: String) -> (data: Data, version: FileVersion)? {
        do {
            return try FileContents.readVersioned(url.appendingPathComponent(entry), limit: Self.entryLimit, trust: .thisUserOnly)
        } catch {
            if case .untrusted = error { warn("program cache entry ignored and rebuilt: \(error)") }
            return nil
        }
    }

    /// Whether this process already checked the signature of `version` of `entry` under this folder's key.
    func wasVerified(_ entry: String, _ version: FileVersion) -> Bool {
        VerifiedEntries.shared.contains(VerifiedEntries.Item(entry: url.appendingPathComponent(entry).path, version: version, key: key))
    }

    /// Records that `version` of `entry` carries a valid signature, so later devices in this process skip hashing it.
    /// Only for a version older than a second: the file system's clock ticks coarsely (milliseconds), so a file
    /// rewritten within one tick of its last change could keep its change time, but not one rewritten later.
    func markVerified(_ entry: String, _ version: FileVersion) {
        guard version.age > 1 else { return }
        VerifiedEntries.shared.insert(VerifiedEntries.Item(entry: url.appendingPathComponent(entry).path, version: version, key: key))
    }

    /// Writes an entry (0600) atomically; a failure only means the next run compiles again.
    func save(_ data: Data, as entry: String) {
        try? AtomicFile.write(data, to: url.appendingPathComponent(entry), permissions: 0o600)
    }

    /// The folder's 32-byte key, created from the system's secure random source the first time.
    private static func secret(in folder: URL) throws(FileError) -> [UInt8] {
        let file = folder.appendingPathComponent(keyName)
        if !FileManager.default.fileExists(atPath: file.path) {
            var generator = SystemRandomNumberGenerator()
            let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Whoever creates it first wins; the others read that one.
            try AtomicFile.create(Data(bytes), at: file, permissions: 0o600)
        }
        let data = try FileContents.read(file, limit: 64, trust: .thisUserOnly)
        guard data.count == 32 else {
            throw .untrusted(file: file.path, reason: "it holds \(data.count) bytes, not a 32-byte key; delete it and the cache is rebuilt")
        }
        return [UInt8](data)
    }
}

/// Entry versions whose signature this process has checked. A version (device, inode, size, change time)
/// names unchanged bytes, so a device opened again (an embedding app, a test suite) does not hash megabytes of
/// binaries again, which a debug build does slowly.
final class VerifiedEntries: @unchecked Sendable {
    struct Item: Hashable {
        let entry: String
        let version: FileVersion
        let key: [UInt8]
    }

    static let shared = VerifiedEntries()
    private let lock = NSLock()
    private var items = Set<Item>()

    func contains(_ item: Item) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return items.contains(item)
    }

    func insert(_ item: Item) {
        lock.lock()
        items.insert(item)
        lock.unlock()
    }
}
