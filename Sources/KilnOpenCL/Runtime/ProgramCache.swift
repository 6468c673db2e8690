// ProgramCache: builds each (file, source, options) once per context, and keeps program binaries
// on disk so a second run loads them instead of compiling. What it trusts on disk is in ProgramCacheFolder.
import Foundation
import KilnFiles

/// Counters of where programs came from and how long that took.
public struct BuildStats: Sendable, Hashable, Codable {
    public var memoryHits = 0
    public var diskHits = 0
    public var compiles = 0
    public var secondsCompiling = 0.0
    public var secondsLoadingBinaries = 0.0

    public init() {}
}

/// Builds programs for one context, caching them in memory and (unless disabled) on disk.
///
/// The disk cache holds program binaries in `$KILN_CACHE_DIR`, else `$XDG_CACHE_HOME/kiln/programs`,
/// else `~/.cache/kiln/programs`; `KILN_CACHE=off` disables it. Each file is named by the SHA-256 of
/// the device name, driver and device version, build options and source, so a driver update or a
/// changed kernel misses instead of loading a stale binary. Only entries that Kiln wrote in this folder
/// reach the driver (see `ProgramCacheFolder` and `ProgramBinaryFile`); a file that is corrupt, altered
/// or refused by the driver is rebuilt and overwritten; a folder that cannot be written only disables
/// saving, and one that other users could write is not used (with a warning). Thread-safe: one lock
/// around lookups and builds.
public final class ProgramCache: @unchecked Sendable {
    public let context: OpenCLContext
    /// The folder binaries are read from and written to; nil when the disk cache is off.
    public let directory: URL?
    private var programs: [MemoryKey: OpenCLProgram] = [:]
    private var statistics = BuildStats()
    private let lock = NSLock()
    /// The folder once opened and checked (at the first build, so that merely choosing it creates nothing).
    private var opened: ProgramCacheFolder??
    private let warn: @Sendable (String) -> Void

    /// - Parameters:
    ///   - cacheDirectory: overrides the folder chosen from the environment (tests use a temporary one).
    ///   - environment: where `KILN_CACHE`, `KILN_CACHE_DIR`, `XDG_CACHE_HOME` and `HOME` are read.
    ///   - warn: where a refused folder or entry is reported (standard error by default).
    public init(
        context: OpenCLContext, cacheDirectory: URL? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        warn: @escaping @Sendable (String) -> Void = { fputs("kiln: warning: \($0)\n", stderr) }
    ) {
        self.context = context
        self.warn = warn
        if environment["KILN_CACHE"]?.lowercased() == "off" {
            self.directory = nil
        } else {
            self.directory = cacheDirectory ?? Self.defaultDirectory(environment: environment)
        }
    }

    /// What the cache has done so far.
    public var stats: BuildStats {
        lock.lock()
        defer { lock.unlock() }
        return statistics
    }

    /// The built program for `source` with `options`; `file` names it in errors and keys.
    public func program(file: String, source: String, options: String) throws(OpenCLError) -> OpenCLProgram {
        lock.lock()
        defer { lock.unlock() }
        let memoryKey = MemoryKey(file: file, source: source, options: options)
        if let program = programs[memoryKey] {
            statistics.memoryHits += 1
            return program
        }
        let folder = openFolder()
        let entry = diskKey(source: source, options: options) + ".bin"
        if let folder, let program = loadBinary(entry, in: folder, file: file, options: options) {
            programs[memoryKey] = program
            return program
        }
        let start = ContinuousClock.now
        let program = try OpenCLProgram(context: context, file: file, source: source, options: options)
        statistics.secondsCompiling += seconds(since: start)
        statistics.compiles += 1
        programs[memoryKey] = program
        if let folder, let binary = try? program.binary() {
            folder.save(ProgramBinaryFile.encode(binary, entry: entry, key: folder.key), as: entry)
        }
        return program
    }

    /// The cache folder after its checks (created 0700 if missing, refused if other users could write it),
    /// or nil when the disk cache is off or the folder was refused. Tuning tables live here too.
    public var trustedDirectory: URL? {
        lock.lock()
        defer { lock.unlock() }
        return openFolder()?.url
    }

    /// Opens and checks the folder the first time it is needed; a refusal is reported once.
    private func openFolder() -> ProgramCacheFolder? {
        if let opened { return opened }
        var folder: ProgramCacheFolder?
        if let directory {
            do { folder = try ProgramCacheFolder(directory, warn: warn) } catch {
                warn("program cache not used: \(error)")
            }
        }
        opened = .some(folder)
        return folder
    }

    /// The disk-cache key: SHA-256 over the fields that decide what the compiler produces.
    func diskKey(source: String, options: String) -> String {
        let device = context.device
        let fields = [
            ProgramBinaryFile.formatTag, device.platformName, device.name, device.driverVersion, device.deviceVersion,
            options, source,
        ]
        return SHA256.hexDigest(fields.joined(separator: "\n\u{0}\n").utf8)
    }

    // MARK: Disk

    private func loadBinary(_ entry: String, in folder: ProgramCacheFolder, file: String, options: String) -> OpenCLProgram? {
        let start = ContinuousClock.now
        guard let (data, version) = folder.read(entry) else { return nil }
        let verified = folder.wasVerified(entry, version)
        guard let binary = ProgramBinaryFile.decode(data, entry: entry, key: verified ? nil : folder.key) else { return nil }
        if !verified { folder.markVerified(entry, version) }
        guard let program = try? OpenCLProgram(context: context, file: file, binary: binary, options: options) else {
            return nil
        }
        statistics.secondsLoadingBinaries += seconds(since: start)
        statistics.diskHits += 1
        return program
    }

    static func defaultDirectory(environment: [String: String]) -> URL? {
        if let folder = environment["KILN_CACHE_DIR"], !folder.isEmpty {
            return URL(fileURLWithPath: folder, isDirectory: true)
        }
        if let folder = environment["XDG_CACHE_HOME"], !folder.isEmpty {
            return URL(fileURLWithPath: folder, isDirectory: true).appendingPathComponent(
                "kiln/programs", isDirectory: true)
        }
        if let home = environment["HOME"], !home.isEmpty {
            return URL(fileURLWithPath: home, isDirectory: true).appendingPathComponent(
                ".cache/kiln/programs", isDirectory: true)
        }
        return nil
    }

    private func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    /// Keyed by the source text itself rather than its hash: Swift hashes it as fast, and two
    /// different sources can never collide.
    private struct MemoryKey: Hashable {
        let file: String
        let source: String
        let options: String
    }
}

/// The on-disk wrapper around a driver's program binary: a magic tag, the payload length, and an
/// HMAC-SHA-256 under the cache folder's secret key over the entry's name and the payload. A truncated,
/// damaged or altered file, an entry copied under another entry's name, or one written by anyone without
/// the key (another machine, another user, a hand-made file with a recomputed checksum) is refused before
/// the driver ever sees it: some drivers crash rather than fail on a bad binary.
enum ProgramBinaryFile {
    static let formatTag = "KILNPRG2"
    private static let headerSize = 8 + 8 + 32

    static func encode(_ binary: [UInt8], entry: String, key: [UInt8]) -> Data {
        var data = Data(formatTag.utf8)
        withUnsafeBytes(of: UInt64(binary.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: authenticator(binary, entry: entry, key: key))
        data.append(contentsOf: binary)
        return data
    }

    /// The payload of `data` if it is a whole entry named `entry` written under `key`, else nil. A nil `key`
    /// skips the signature: for bytes whose signature was checked before (`VerifiedEntries`).
    static func decode(_ data: Data, entry: String, key: [UInt8]?) -> [UInt8]? {
        let bytes = [UInt8](data)
        guard bytes.count > headerSize, Array(bytes[0..<8]) == Array(formatTag.utf8) else { return nil }
        let length = bytes[8..<16].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length == UInt64(bytes.count - headerSize) else { return nil }
        let payload = Array(bytes[headerSize...])
        guard let key else { return payload }
        let expected = authenticator(payload, entry: entry, key: key)
        // Every byte compared, whatever the first difference.
        let difference = zip(expected, bytes[16..<headerSize]).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) }
        return difference == 0 ? payload : nil
    }

    private static func authenticator(_ payload: [UInt8], entry: String, key: [UInt8]) -> [UInt8] {
        SHA256.hmac(key: key, message: Array(entry.utf8) + [0] + payload)
    }
}
