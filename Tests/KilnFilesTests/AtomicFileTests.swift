// AtomicFile: the new contents or the old, never a planted symlink followed, the old file kept when the
// disk is full, and the temporaries of killed writers removed at the next start.
import Foundation
import XCTest

@testable import KilnFiles

final class AtomicFileTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private func contents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() }

    func testWriteReplacesTheFileAndLeavesNoTemporary() throws {
        let url = folder.appendingPathComponent("metrics.json")
        try AtomicFile.write(Data("old".utf8), to: url)
        try AtomicFile.write(Data("new".utf8), to: url)
        XCTAssertEqual(try Data(contentsOf: url), Data("new".utf8))
        XCTAssertEqual(try contents(), ["metrics.json"])
        try AtomicFile.write(Data(), to: url)
        XCTAssertEqual(try Data(contentsOf: url), Data())
    }

    func testTemporaryNamesAreRandomAndNameTheWriter() {
        let url = folder.appendingPathComponent("checkpoint.safetensors")
        let names = Set((0..<100).map { _ in AtomicFile.temporaryName(for: url) })
        XCTAssertEqual(names.count, 100)
        for name in names {
            XCTAssertTrue(name.hasPrefix(".checkpoint.safetensors.\(getpid())."), name)
            XCTAssertEqual(AtomicFile.writerProcess(ofTemporary: name), getpid())
        }
    }

    /// A symlink planted where the temporary file goes (the old names were predictable) is never written
    /// through: the write moves on to another name and the link's target keeps its contents.
    func testAPlantedSymlinkIsNotFollowed() throws {
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-victim-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: outside) }
        try Data("precious".utf8).write(to: outside)
        let url = folder.appendingPathComponent("checkpoint.safetensors")
        let planted = ".checkpoint.safetensors.\(getpid()).tmp"
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent(planted).path, withDestinationPath: outside.path)
        try AtomicFile.write(Data("weights".utf8), to: url, permissions: 0o644, temporaryNames: [planted, "fresh.tmp"])
        XCTAssertEqual(try Data(contentsOf: outside), Data("precious".utf8))
        XCTAssertEqual(try Data(contentsOf: url), Data("weights".utf8))
        // With every name taken, the write fails and still touches nothing.
        XCTAssertThrowsError(try AtomicFile.write(Data("x".utf8), to: url, permissions: 0o644, temporaryNames: [planted])) { error in
            XCTAssertEqual("\(error)", "\(url.path): cannot write: File exists")
        }
        XCTAssertEqual(try Data(contentsOf: outside), Data("precious".utf8))
        XCTAssertEqual(try Data(contentsOf: url), Data("weights".utf8))
    }

    /// A symlink at the destination itself is replaced by the new file, not written through.
    func testASymlinkAtTheDestinationIsReplaced() throws {
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-victim-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: outside) }
        try Data("precious".utf8).write(to: outside)
        let url = folder.appendingPathComponent("metrics.csv")
        try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: outside.path)
        try AtomicFile.write(Data("epoch".utf8), to: url)
        XCTAssertEqual(try Data(contentsOf: outside), Data("precious".utf8))
        XCTAssertEqual(try Data(contentsOf: url), Data("epoch".utf8))
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: url.path)[.type] as? FileAttributeType, .typeRegular)
    }

    /// A full disk (here a file-size limit, which fails `write` the same way) keeps the old file and leaves no temporary.
    func testAFullDiskKeepsTheOldFile() throws {
        let url = folder.appendingPathComponent("checkpoint.safetensors")
        try AtomicFile.write(Data("good weights".utf8), to: url)
        var saved = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        let previousHandler = signal(SIGXFSZ, SIG_IGN)
        var small = saved
        small.rlim_cur = 4096
        XCTAssertEqual(setrlimit(Int32(RLIMIT_FSIZE.rawValue), &small), 0)
        defer {
            setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
            signal(SIGXFSZ, previousHandler)
        }
        XCTAssertThrowsError(try AtomicFile.write(Data(count: 1 << 20), to: url)) { error in
            XCTAssertTrue(
                "\(error)".hasPrefix("\(url.path): cannot write: File too large; free some space (the previous file, if any, is kept)"),
                "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: url), Data("good weights".utf8))
        XCTAssertEqual(try contents(), ["checkpoint.safetensors"])
    }

    func testUnwritableDestinationsNameTheFile() throws {
        let missing = folder.appendingPathComponent("no-such-folder/metrics.json")
        XCTAssertThrowsError(try AtomicFile.write(Data(), to: missing)) { error in
            XCTAssertEqual("\(error)", "\(missing.path): cannot write: No such file or directory")
        }
        let underFile = folder.appendingPathComponent("plain")
        try AtomicFile.write(Data(), to: underFile)
        XCTAssertThrowsError(try AtomicFile.write(Data(), to: underFile.appendingPathComponent("metrics.json"))) { error in
            XCTAssertTrue("\(error)".contains("a part of the path is a file, not a folder"), "\(error)")
        }
        let subfolder = folder.appendingPathComponent("checkpoint.safetensors")
        try FileManager.default.createDirectory(at: subfolder, withIntermediateDirectories: false)
        XCTAssertThrowsError(try AtomicFile.write(Data(), to: subfolder)) { error in
            XCTAssertTrue("\(error)".contains("the path names a folder"), "\(error)")
        }
        XCTAssertEqual(try contents(), ["checkpoint.safetensors", "plain"], "no temporary is left")
    }

    /// Temporaries of writers that no longer run are removed; a live writer's, other files and symlinks' targets are not.
    func testStaleTemporariesOfDeadWritersAreRemoved() throws {
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = finished.processIdentifier
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-victim-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: outside) }
        try Data("precious".utf8).write(to: outside)
        let stale = [
            ".checkpoint.safetensors.\(dead).00112233aabbccdd.tmp",  // this writer's names
            ".checkpoint.safetensors.\(dead).tmp",  // the earlier checkpoint writer's
            ".0123abcd.bin.\(dead).2890123.tmp",  // the earlier program cache's
        ]
        let kept = [
            ".metrics.json.\(getpid()).00112233aabbccdd.tmp",  // this process: a write in progress
            ".metrics.json.1.00112233aabbccdd.tmp",  // pid 1 runs
            "notes.tmp", ".notes.tmp", "checkpoint.safetensors",
        ]
        for name in stale + kept { try Data("x".utf8).write(to: folder.appendingPathComponent(name)) }
        let link = ".metrics.csv.\(dead).tmp"
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent(link).path, withDestinationPath: outside.path)
        XCTAssertEqual(Set(AtomicFile.removeStaleTemporaries(in: folder)), Set(stale + [link]))
        XCTAssertEqual(try contents(), kept.sorted())
        XCTAssertEqual(try Data(contentsOf: outside), Data("precious".utf8))
        XCTAssertEqual(AtomicFile.removeStaleTemporaries(in: folder.appendingPathComponent("missing")), [])
    }
}
