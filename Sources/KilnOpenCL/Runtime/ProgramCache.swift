// ProgramCache: builds each (file, source, options) once per context, and keeps program binaries
// on disk so a second run loads them instead of compiling.
import Foundation

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
/// changed kernel misses instead of loading a stale binary. A file that is corrupt or that the
/// driver refuses is rebuilt and overwritten; a folder that cannot be written only disables
/// saving. Thread-safe: one lock around lookups and builds.
public final class ProgramCache: @unchecked Sendable {
    public let context: OpenCLContext
    /// The folder binaries are read from and written to; nil when the disk cache is off.
    public let directory: URL?
    private var programs: [MemoryKey: OpenCLProgram] = [:]
    private var statistics = BuildStats()
    private let lock = NSLock()

    /// - Parameters:
    ///   - cacheDirectory: overrides the folder chosen from the environment (tests use a temporary one).
    ///   - environment: where `KILN_CACHE`, `KILN_CACHE_DIR`, `XDG_CACHE_HOME` and `HOME` are read.
    public init(
        context: OpenCLContext, cacheDirectory: URL? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.context = context
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
        let diskFile = directory.map { $0.appendingPathComponent(diskKey(source: source, options: options) + ".bin") }
        if let diskFile, let program = loadBinary(diskFile, file: file, options: options) {
            programs[memoryKey] = program
            return program
        }
        let start = ContinuousClock.now
        let program = try OpenCLProgram(context: context, file: file, source: source, options: options)
        statistics.secondsCompiling += seconds(since: start)
        statistics.compiles += 1
        programs[memoryKey] = program
        if let diskFile, let binary = try? program.binary() {
            Self.writeAtomically(ProgramBinaryFile.encode(binary), to: diskFile)
        }
        return program
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

    private func loadBinary(_ url: URL, file: String, options: String) -> OpenCLProgram? {
        let start = ContinuousClock.now
        guard let data = try? Data(contentsOf: url), let binary = ProgramBinaryFile.decode(data) else { return nil }
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

    /// Writes to a temporary file in the same folder, fsyncs, renames over `url`. Any failure
    /// leaves no partial file behind and is otherwise ignored: the cache is an optimisation.
    static func writeAtomically(_ data: Data, to url: URL) {
        let folder = url.deletingLastPathComponent()
        guard (try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)) != nil else {
            return
        }
        let temporary = folder.appendingPathComponent(
            ".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else { return }
        let written = data.withUnsafeBytes { bytes -> Bool in
            guard let base = bytes.baseAddress else { return true }
            var offset = 0
            while offset < bytes.count {
                let count = write(descriptor, base + offset, bytes.count - offset)
                if count <= 0 { return false }
                offset += count
            }
            return true
        }
        let synced = fsync(descriptor) == 0
        let closed = close(descriptor) == 0
        if !(written && synced && closed && rename(temporary.path, url.path) == 0) {
            unlink(temporary.path)
        }
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

/// The on-disk wrapper around a driver's program binary: a magic tag, the payload length and its
/// SHA-256, so a truncated or overwritten file is recognised before the driver ever sees it
/// (some drivers crash rather than fail on a damaged binary).
enum ProgramBinaryFile {
    static let formatTag = "KILNPRG1"
    private static let headerSize = 8 + 8 + 32

    static func encode(_ binary: [UInt8]) -> Data {
        var data = Data(formatTag.utf8)
        withUnsafeBytes(of: UInt64(binary.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: SHA256.hash(binary))
        data.append(contentsOf: binary)
        return data
    }

    static func decode(_ data: Data) -> [UInt8]? {
        let bytes = [UInt8](data)
        guard bytes.count > headerSize, Array(bytes[0..<8]) == Array(formatTag.utf8) else { return nil }
        let length = bytes[8..<16].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length == UInt64(bytes.count - headerSize) else { return nil }
        let payload = Array(bytes[headerSize...])
        guard SHA256.hash(payload) == Array(bytes[16..<headerSize]) else { return nil }
        return payload
    }
}
