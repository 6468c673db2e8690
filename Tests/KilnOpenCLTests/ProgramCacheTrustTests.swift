// ProgramCacheTrustTests: what the program cache trusts on disk. The folder is created 0700; a folder (or
// a folder above it) or an entry that other users can write is refused with a warning; an entry the folder's
// key did not sign (an altered payload with a recomputed checksum, another entry's file, another folder's)
// never reaches the driver; a damaged tuning table is a warning naming the file.
import Foundation
import KilnFiles
import XCTest

@testable import KilnOpenCL

final class ProgramCacheTrustTests: XCTestCase {
    /// Warnings a cache reported.
    private final class Warnings: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [String] = []
        func add(_ message: String) {
            lock.lock()
            list.append(message)
            lock.unlock()
        }
        var all: [String] {
            lock.lock()
            defer { lock.unlock() }
            return list
        }
    }

    private func makeContext() throws -> OpenCLContext {
        let devices = try OpenCLDiscovery.devices()
        guard !devices.isEmpty else { throw XCTSkip("No OpenCL device: install pocl-opencl-icd to run this test.") }
        return try OpenCLContext(
            device: OpenCLDiscovery.select(ProcessInfo.processInfo.environment["KILN_TEST_OPENCL"] ?? "", from: devices))
    }

    private func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-trust-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    private func mode(_ url: URL) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int) ?? -1
    }

    /// Builds smoke.cl through a new cache on `folder`; returns the cache and the warnings it gave.
    private func build(in folder: URL, options: String = "") throws -> (ProgramCache, [String]) {
        let warnings = Warnings()
        let cache = ProgramCache(context: try makeContext(), cacheDirectory: folder, warn: { warnings.add($0) })
        let program = try cache.program(file: "smoke.cl", source: KernelSource.text(of: "smoke.cl"), options: options)
        _ = try program.kernel("smoke_add")
        return (cache, warnings.all)
    }

    private func entries(in folder: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil).filter { $0.pathExtension == "bin" }
    }

    func testFolderIsCreatedPrivateAndEntriesReadBack() throws {
        let folder = try scratch().appendingPathComponent("cache/kiln/programs")
        let (first, warnings) = try build(in: folder)
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(try mode(folder), 0o700)
        XCTAssertEqual(try mode(folder.deletingLastPathComponent()), 0o700, "missing parents are created 0700 too")
        XCTAssertEqual(first.stats.compiles, 1)
        let entry = try XCTUnwrap(try entries(in: folder).first)
        XCTAssertEqual(try mode(entry), 0o600)
        XCTAssertEqual(try mode(folder.appendingPathComponent(ProgramCacheFolder.keyName)), 0o600)
        let (second, _) = try build(in: folder)
        XCTAssertEqual(second.stats.diskHits, 1)
        XCTAssertEqual(second.stats.compiles, 0)
    }

    func testFolderOthersCanWriteIsRefused() throws {
        let folder = try scratch().appendingPathComponent("programs")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o777])
        chmod(folder.path, 0o777)
        let (cache, warnings) = try build(in: folder)
        XCTAssertEqual(cache.stats.compiles, 1, "the build still works")
        XCTAssertNil(cache.trustedDirectory)
        XCTAssertEqual(warnings.count, 1, "\(warnings)")
        XCTAssertTrue(
            warnings[0].contains("program cache not used: \(folder.path): not trusted: other users can write it (mode 777); run chmod 700"),
            warnings[0])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [], "nothing is written there")
    }

    func testFolderUnderAFolderOthersCanWriteIsRefused() throws {
        let open = try scratch().appendingPathComponent("shared")
        try FileManager.default.createDirectory(at: open, withIntermediateDirectories: false)
        chmod(open.path, 0o777)
        let (cache, warnings) = try build(in: open.appendingPathComponent("programs"))
        XCTAssertNil(cache.trustedDirectory)
        XCTAssertTrue(
            warnings.first?.contains("the folder above it, \(open.path), is not safe: other users can write it (mode 777)") ?? false,
            "\(warnings)")
        // With the sticky bit (as /tmp has), others cannot rename or delete what is ours: accepted.
        chmod(open.path, 0o1777)
        let (sticky, stickyWarnings) = try build(in: open.appendingPathComponent("programs2"))
        XCTAssertNotNil(sticky.trustedDirectory)
        XCTAssertEqual(stickyWarnings, [])
    }

    func testEntriesOthersCouldWriteAreIgnoredAndRebuilt() throws {
        let folder = try scratch().appendingPathComponent("programs")
        _ = try build(in: folder)
        let entry = try XCTUnwrap(try entries(in: folder).first)
        chmod(entry.path, 0o666)
        let (cache, warnings) = try build(in: folder)
        XCTAssertEqual(cache.stats.diskHits, 0)
        XCTAssertEqual(cache.stats.compiles, 1)
        XCTAssertEqual(
            warnings, ["program cache entry ignored and rebuilt: \(entry.path): not trusted: other users can write it (mode 666)"])
        XCTAssertEqual(try mode(entry), 0o600, "the rebuilt entry replaces it")

        // A symlink in place of an entry is not followed, even to a good entry.
        let elsewhere = try scratch().appendingPathComponent("good.bin")
        try FileManager.default.moveItem(at: entry, to: elsewhere)
        try FileManager.default.createSymbolicLink(at: entry, withDestinationURL: elsewhere)
        let (linked, linkWarnings) = try build(in: folder)
        XCTAssertEqual(linked.stats.diskHits, 0)
        XCTAssertEqual(linkWarnings, ["program cache entry ignored and rebuilt: \(entry.path): not trusted: it is a symbolic link"])
    }

    /// The probe's crash: a valid wrapper and SHA-256 around an altered payload went to pocl, which crashed.
    /// Entries are signed with the folder's secret key now, so an altered one is rebuilt, never loaded.
    func testAlteredEntriesNeverReachTheDriver() throws {
        let folder = try scratch().appendingPathComponent("programs")
        _ = try build(in: folder)
        let plain = try entries(in: folder)
        _ = try build(in: folder, options: "-DUNUSED=1")
        // The entry `build(in:)` loads, then the other one.
        let files = plain + (try entries(in: folder)).filter { !plain.contains($0) }
        XCTAssertEqual(files.count, 2)
        let original = [UInt8](try Data(contentsOf: files[0]))
        let header = 8 + 8 + 32
        var payload = Array(original[header...])
        for index in stride(from: payload.count / 3, to: payload.count, by: 97) { payload[index] ^= 0x5A }
        // The old format's check, recomputed: tag, length, SHA-256 of the payload.
        var forged = Array(original[0..<16])
        forged += SHA256.hash(payload)
        forged += payload
        let otherEntry = try Data(contentsOf: files[1])
        let otherFolder = try scratch().appendingPathComponent("other")
        _ = try build(in: otherFolder)
        let otherFoldersEntry = try Data(contentsOf: try XCTUnwrap(try entries(in: otherFolder).first))
        for (name, bad) in [
            ("altered payload", Data(forged)), ("another entry's file", otherEntry), ("another folder's entry", otherFoldersEntry),
        ] {
            try bad.write(to: files[0])
            let (cache, _) = try build(in: folder)
            XCTAssertEqual(cache.stats.diskHits, 0, name)
            XCTAssertEqual(cache.stats.compiles, 1, name)
        }
    }

    func testUnsafeKeyRefusesTheFolderAndStaleTemporariesAreRemoved() throws {
        let folder = try scratch().appendingPathComponent("programs")
        _ = try build(in: folder)
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let stale = ".0123.bin.\(finished.processIdentifier).0011223344556677.tmp"
        try Data("half".utf8).write(to: folder.appendingPathComponent(stale))
        _ = try build(in: folder)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: folder.appendingPathComponent(stale).path), "a killed writer's temporary is removed")

        let key = folder.appendingPathComponent(ProgramCacheFolder.keyName)
        chmod(key.path, 0o666)
        let (cache, warnings) = try build(in: folder)
        XCTAssertNil(cache.trustedDirectory)
        XCTAssertEqual(warnings, ["program cache not used: \(key.path): not trusted: other users can write it (mode 666)"])
    }

    // MARK: Tuning tables

    func testDamagedTuningTablesAreWarningsNamingTheFile() throws {
        let folder = try scratch()
        let identity = "platform | device | 1.0 | OpenCL 1.2"
        let file = TuningTable.file(for: identity, in: folder)
        func load(_ json: String) -> (TuningTable?, [String]) {
            try? Data(json.utf8).write(to: file)
            var warnings: [String] = []
            let table = TuningTable.load(identity: identity, directory: folder) { warnings.append($0) }
            return (table, warnings)
        }
        let ignored = "tuning table \(file.path) ignored (the kernels use their defaults; run kiln tune again or delete it): "
        XCTAssertEqual(load("{ not json").1, [ignored + "it is not a tuning table (not JSON)"])
        XCTAssertEqual(load(#"{"device": 3}"#).1, [ignored + "it is not a tuning table (wrong type at device)"])
        XCTAssertEqual(load(#"{"device": "x", "kernels": {}}"#).1, [ignored + "it was measured on 'x', not on this device ('\(identity)')"])
        let (partial, warnings) = load(
            #"{"device": "\#(identity)", "kernels": {"gemm.cl": {"GEMM_ROWS": 0}, "nope.cl": {}, "pool2d.cl": {"FOO": 1}, "conv2d.cl": {}}}"#
        )
        XCTAssertEqual(partial?.kernels, ["conv2d.cl": [:]])
        XCTAssertEqual(
            Set(warnings),
            [
                "tuning table \(file.path): gemm.cl ignored (it uses its defaults): GEMM_ROWS=0 is not a setting the kernel accepts",
                "tuning table \(file.path): nope.cl ignored (it uses its defaults): no such kernel file",
                "tuning table \(file.path): pool2d.cl ignored (it uses its defaults): FOO is not one of its tunables ()",
            ])
        chmod(file.path, 0o666)
        XCTAssertEqual(
            load(#"{"device": "\#(identity)", "kernels": {}}"#).1,
            [ignored + "\(file.path): not trusted: other users can write it (mode 666)"])
    }

    /// The probe's case: `GEMM_ROWS` 0 in the tuning table made warm-up fail with a build error that did not
    /// name the table. A backend now warns about the file and builds gemm.cl with its defaults.
    func testBackendBuildsWithDefaultsWhenTheTableIsInvalid() throws {
        let folder = try scratch()
        let handle = try OpenCLDiscovery.select(ProcessInfo.processInfo.environment["KILN_TEST_OPENCL"] ?? "")
        let identity = TuningTable.deviceIdentity(handle.info)
        try Data(#"{"device": "\#(identity)", "kernels": {"gemm.cl": {"GEMM_ROWS": 0}}}"#.utf8).write(
            to: TuningTable.file(for: identity, in: folder))
        let backend = try OpenCLBackend(device: handle, cacheDirectory: folder)
        XCTAssertEqual(backend.tuning?.kernels, [:])
        let a = try backend.allocate(count: 6)
        try backend.write([1, 2, 3, 4, 5, 6] as [Float], to: a)
        let product = try backend.allocate(count: 4)
        try backend.execute(
            .matmul(transposeA: false, transposeB: true), inputs: [.init(storage: a, shape: [2, 3]), .init(storage: a, shape: [2, 3])],
            output: product, outputShape: [2, 2])
        XCTAssertEqual(try backend.readFloats(product), [14, 32, 32, 77])
    }
}
