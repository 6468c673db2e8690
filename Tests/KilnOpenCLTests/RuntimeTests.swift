// RuntimeTests: the OpenCL runtime layer: errors, discovery and selection, buffers and launches,
// the program cache (memory and disk), embedded kernel sources, SHA-256, and build timings.
import Foundation
import XCTest

@testable import KilnOpenCL

final class RuntimeTests: XCTestCase {
    // MARK: Helpers

    /// The devices there are, or a skip when this machine has none.
    private func requireDevices() throws -> [OpenCLDeviceHandle] {
        let devices = try OpenCLDiscovery.devices()
        if devices.isEmpty { throw XCTSkip("No OpenCL device: install pocl-opencl-icd to run this test.") }
        return devices
    }

    private func requirePocl() throws -> OpenCLDeviceHandle {
        guard let pocl = try requireDevices().first(where: { $0.info.platformName.lowercased().contains("portable") })
        else { throw XCTSkip("No pocl device; this test checks pocl's names.") }
        return pocl
    }

    private func makeContext() throws -> OpenCLContext {
        try OpenCLContext(device: OpenCLDiscovery.select("", from: requireDevices()))
    }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-runtime-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    private func cacheFiles(in folder: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "bin" }
    }

    /// Runs smoke_add on `count` elements and checks every result.
    private func runSmoke(count: Int, kernel: OpenCLKernel, file: StaticString = #filePath, line: UInt = #line) throws {
        let context = kernel.context
        let a = (0..<count).map { Float($0 % 1000) * 0.5 }
        let b = (0..<count).map { Float(($0 * 7) % 1000) }
        let byteCount = count * MemoryLayout<Float>.stride
        let bufferA = try OpenCLBuffer(context: context, byteCount: byteCount)
        let bufferB = try OpenCLBuffer(context: context, byteCount: byteCount)
        let bufferC = try OpenCLBuffer(context: context, byteCount: byteCount)
        try a.withUnsafeBytes { try bufferA.write(from: $0) }
        try b.withUnsafeBytes { try bufferB.write(from: $0) }
        try kernel.setArgument(0, bufferA)
        try kernel.setArgument(1, bufferB)
        try kernel.setArgument(2, bufferC)
        try kernel.setArgument(3, int32: Int32(count))
        let size = launchSize(global: [count], preferredLocal: [64], kernel: kernel)
        XCTAssertEqual(size.global[0] % size.local[0], 0, "global must be a multiple of local", file: file, line: line)
        XCTAssertGreaterThanOrEqual(size.global[0], count, file: file, line: line)
        try kernel.enqueue(global: size.global, local: size.local)
        var c = [Float](repeating: -1, count: count)
        try c.withUnsafeMutableBytes { try bufferC.read(into: $0) }
        if let bad = c.indices.first(where: { c[$0] != a[$0] + b[$0] }) {
            XCTFail("n=\(count): c[\(bad)] = \(c[bad]), expected \(a[bad] + b[bad])", file: file, line: line)
        }
    }

    // MARK: Errors and pure helpers

    func testSHA256KnownVectors() {
        XCTAssertEqual(
            SHA256.hexDigest("abc".utf8), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hexDigest("".utf8), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(
            SHA256.hexDigest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(
            SHA256.hexDigest([UInt8](repeating: 0x61, count: 1_000_000)),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testErrorDescriptionsNameTheStatus() {
        let error = OpenCLError.call(function: "clEnqueueNDRangeKernel", status: -54)
        XCTAssertTrue(error.description.contains("clEnqueueNDRangeKernel"), error.description)
        XCTAssertTrue(error.description.contains("CL_INVALID_WORK_GROUP_SIZE (-54)"), error.description)
        XCTAssertEqual(OpenCLStatus.name(of: -1001), "CL_PLATFORM_NOT_FOUND_KHR")
        XCTAssertEqual(OpenCLStatus.name(of: -12345), "CL_UNKNOWN_ERROR")
        for status in Int32(-72)...0 where !(-29 ... -20).contains(status) {
            XCTAssertNotEqual(OpenCLStatus.name(of: status), "CL_UNKNOWN_ERROR", "status \(status) has no name")
        }
        XCTAssertTrue(OpenCLError.noDevice.description.contains("pocl-opencl-icd"))
    }

    func testLaunchSizeArithmetic() {
        // Local clamped by the work-item limit, then the group limit; global rounded up.
        var fit = fitLaunchSize(
            global: [1_000_003], preferredLocal: [256], maxWorkItemSizes: [128, 1, 1], maxWorkGroupSize: 4096)
        XCTAssertEqual(fit.local, [128])
        XCTAssertEqual(fit.global, [1_000_064])
        fit = fitLaunchSize(
            global: [100, 30], preferredLocal: [16, 16], maxWorkItemSizes: [1024, 1024, 64], maxWorkGroupSize: 64)
        XCTAssertEqual(fit.local, [8, 8])
        XCTAssertEqual(fit.global, [104, 32])
        fit = fitLaunchSize(global: [1, 0], preferredLocal: [0], maxWorkItemSizes: [4096, 4096], maxWorkGroupSize: 1)
        XCTAssertEqual(fit.local, [1, 1])
        XCTAssertEqual(fit.global, [1, 0])
    }

    func testKernelSourcesAreEmbeddedAndOverridable() throws {
        XCTAssertTrue(KernelSource.fileNames(environment: [:]).contains("smoke.cl"))
        XCTAssertTrue(try KernelSource.text(of: "smoke.cl", environment: [:]).contains("__kernel void smoke_add"))
        XCTAssertThrowsError(try KernelSource.text(of: "nonexistent.cl", environment: [:])) { error in
            XCTAssertEqual(error as? OpenCLError, .kernelSourceMissing(file: "nonexistent.cl"))
        }
        let folder = try temporaryDirectory()
        try "// edited\n".write(to: folder.appendingPathComponent("smoke.cl"), atomically: true, encoding: .utf8)
        let environment = ["KILN_KERNEL_DIR": folder.path]
        XCTAssertEqual(try KernelSource.text(of: "smoke.cl", environment: environment), "// edited\n")
        XCTAssertEqual(KernelSource.fileNames(environment: environment), ["smoke.cl"])
        XCTAssertThrowsError(try KernelSource.text(of: "gemm.cl", environment: environment))
    }

    func testCacheDirectoryFromEnvironment() throws {
        let context = try makeContext()
        XCTAssertNil(
            ProgramCache(context: context, environment: ["KILN_CACHE": "off", "KILN_CACHE_DIR": "/tmp/x"]).directory)
        XCTAssertEqual(
            ProgramCache(context: context, environment: ["KILN_CACHE_DIR": "/tmp/x"]).directory?.path, "/tmp/x")
        XCTAssertEqual(
            ProgramCache(context: context, environment: ["XDG_CACHE_HOME": "/c", "HOME": "/h"]).directory?.path,
            "/c/kiln/programs")
        XCTAssertEqual(
            ProgramCache(context: context, environment: ["HOME": "/h"]).directory?.path, "/h/.cache/kiln/programs")
    }

    // MARK: Discovery and selection

    func testDiscoveryListsPocl() throws {
        let devices = try requireDevices()
        XCTAssertEqual(devices.map(\.info.index), Array(devices.indices))
        _ = try requirePocl()
        let info = try requirePocl().info
        XCTAssertEqual(info.typeDescription, "CPU")
        XCTAssertFalse(info.isGPU)
        XCTAssertGreaterThan(info.computeUnits, 0)
        XCTAssertGreaterThan(info.maxWorkGroupSize, 0)
        XCTAssertEqual(info.maxWorkItemSizes.count, 3)
        XCTAssertGreaterThan(info.maxAllocationBytes, 0)
        XCTAssertFalse(info.extensions.isEmpty)
        // Codable round trip, as `kiln devices --json` will use it.
        let decoded = try JSONDecoder().decode(OpenCLDeviceInfo.self, from: JSONEncoder().encode(info))
        XCTAssertEqual(decoded, info)
    }

    func testSelection() throws {
        let devices = try requireDevices()
        let pocl = try requirePocl()
        let expectedDefault = devices.first(where: { $0.info.isGPU }) ?? devices[0]
        XCTAssertEqual(try OpenCLDiscovery.select("").info, expectedDefault.info)
        XCTAssertEqual(try OpenCLDiscovery.select("0").info, devices[0].info)
        XCTAssertEqual(try OpenCLDiscovery.select(":0").info, devices[0].info, "the colon of opencl:0 is optional")
        XCTAssertEqual(try OpenCLDiscovery.select("pocl").info.platformName, pocl.info.platformName)
        XCTAssertTrue(try OpenCLDiscovery.select("PTHREAD").info.name.lowercased().contains("pthread"))
        XCTAssertThrowsError(try OpenCLDiscovery.select("no-such-device-xyz")) { error in
            guard case .deviceNotFound(let query, let available)? = error as? OpenCLError else {
                return XCTFail("expected deviceNotFound, got \(error)")
            }
            XCTAssertEqual(query, "no-such-device-xyz")
            XCTAssertEqual(available.count, devices.count)
            XCTAssertTrue(available[0].hasPrefix("0: "), available[0])
            XCTAssertTrue("\(error)".contains(devices[0].info.name))
        }
        XCTAssertThrowsError(try OpenCLDiscovery.select("\(devices.count)"))
        XCTAssertThrowsError(try OpenCLDiscovery.select("", from: [])) { error in
            XCTAssertEqual(error as? OpenCLError, .noDevice)
        }
    }

    // MARK: Buffers and launches

    func testSmokeKernelAwkwardSizes() throws {
        let context = try makeContext()
        let cache = ProgramCache(context: context, cacheDirectory: try temporaryDirectory())
        let program = try cache.program(file: "smoke.cl", source: KernelSource.text(of: "smoke.cl"), options: "")
        let kernel = try program.kernel("smoke_add")
        XCTAssertGreaterThan(kernel.workGroupSizeLimit, 0)
        for count in [1, 63, 64, 65, 1_000_003] {
            try runSmoke(count: count, kernel: kernel)
        }
        try context.finish()
    }

    func testBuffersAndLaunchErrors() throws {
        let context = try makeContext()
        let empty = try OpenCLBuffer(context: context, byteCount: 0)
        XCTAssertEqual(empty.byteCount, 0)
        try empty.fillZero()
        let buffer = try OpenCLBuffer(context: context, byteCount: 10)
        let ones = [UInt8](repeating: 1, count: 10)
        try ones.withUnsafeBytes { try buffer.write(from: $0) }
        try buffer.fillZero()
        var back = [UInt8](repeating: 9, count: 4)
        try back.withUnsafeMutableBytes { try buffer.read(into: $0, offset: 6) }
        XCTAssertEqual(back, [0, 0, 0, 0])
        XCTAssertThrowsError(try back.withUnsafeMutableBytes { try buffer.read(into: $0, offset: 7) }) { error in
            guard case .invalidArgument? = error as? OpenCLError else { return XCTFail("\(error)") }
        }

        let cache = ProgramCache(context: context, environment: ["KILN_CACHE": "off"])
        let kernel = try cache.program(file: "smoke.cl", source: KernelSource.text(of: "smoke.cl"), options: "")
            .kernel("smoke_add")
        XCTAssertThrowsError(try kernel.enqueue(global: [10], local: [4])) { error in
            guard case .invalidLaunch? = error as? OpenCLError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try kernel.enqueue(global: [1 << 20], local: [1 << 20])) { error in
            guard case .invalidLaunch? = error as? OpenCLError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(
            try cache.program(file: "smoke.cl", source: KernelSource.text(of: "smoke.cl"), options: "")
                .kernel("no_such_entry")
        ) { error in
            XCTAssertTrue("\(error)".contains("CL_INVALID_KERNEL_NAME"), "\(error)")
        }
        try kernel.enqueue(global: [0], local: nil)
    }

    // MARK: Program cache

    func testBuildErrorCarriesLogAndFileName() throws {
        let context = try makeContext()
        let cache = ProgramCache(context: context, environment: ["KILN_CACHE": "off"])
        let broken = "__kernel void broken(__global float *x) { x[0] = 1.0f +; }\n"
        XCTAssertThrowsError(try cache.program(file: "broken.cl", source: broken, options: "-DTILE=4")) { error in
            guard case .build(let kernel, let options, let log)? = error as? OpenCLError else {
                return XCTFail("expected .build, got \(error)")
            }
            XCTAssertEqual(kernel, "broken.cl")
            XCTAssertEqual(options, "-DTILE=4")
            XCTAssertFalse(log.isEmpty, "the device build log should say what is wrong")
            XCTAssertTrue("\(error)".contains("broken.cl"))
        }
        XCTAssertEqual(cache.stats.compiles, 0)
    }

    func testMemoryAndDiskCache() throws {
        let folder = try temporaryDirectory()
        let source = try KernelSource.text(of: "smoke.cl")
        let first = ProgramCache(context: try makeContext(), cacheDirectory: folder)
        let program = try first.program(file: "smoke.cl", source: source, options: "")
        XCTAssertTrue(try first.program(file: "smoke.cl", source: source, options: "") === program)
        XCTAssertEqual(first.stats.compiles, 1)
        XCTAssertEqual(first.stats.memoryHits, 1)
        XCTAssertEqual(try cacheFiles(in: folder).count, 1)
        _ = try first.program(file: "smoke.cl", source: source, options: "-DUNUSED=1")
        XCTAssertEqual(first.stats.compiles, 2, "other options are another program")

        let second = ProgramCache(context: try makeContext(), cacheDirectory: folder)
        let loaded = try second.program(file: "smoke.cl", source: source, options: "")
        XCTAssertEqual(second.stats.diskHits, 1)
        XCTAssertEqual(second.stats.compiles, 0)
        try runSmoke(count: 1000, kernel: loaded.kernel("smoke_add"))
    }

    func testCorruptCacheFilesAreRebuilt() throws {
        let folder = try temporaryDirectory()
        let source = try KernelSource.text(of: "smoke.cl")
        _ = try ProgramCache(context: try makeContext(), cacheDirectory: folder)
            .program(file: "smoke.cl", source: source, options: "")
        guard let file = try cacheFiles(in: folder).first else { return XCTFail("no cache file written") }
        let good = try Data(contentsOf: file)
        let key = [UInt8](try Data(contentsOf: folder.appendingPathComponent(ProgramCacheFolder.keyName)))
        let entry = file.lastPathComponent

        // Truncated, garbage, and a well-formed wrapper whose payload the driver must refuse.
        let damaged: [Data] = [
            good.prefix(good.count / 2), Data("not a binary".utf8), ProgramBinaryFile.encode(Array("garbage".utf8), entry: entry, key: key),
        ]
        for bad in damaged {
            try bad.write(to: file)
            let cache = ProgramCache(context: try makeContext(), cacheDirectory: folder)
            let program = try cache.program(file: "smoke.cl", source: source, options: "")
            XCTAssertEqual(cache.stats.compiles, 1)
            XCTAssertEqual(cache.stats.diskHits, 0)
            try runSmoke(count: 17, kernel: program.kernel("smoke_add"))
            XCTAssertNotNil(
                ProgramBinaryFile.decode(try Data(contentsOf: file), entry: entry, key: key), "the rebuilt binary overwrites it")
        }
        XCTAssertEqual(try cacheFiles(in: folder).count, 1, "no temporary files left behind")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        XCTAssertEqual(names.sorted(), [entry, ProgramCacheFolder.keyName], "\(names)")
    }

    func testUnwritableCacheFolderDoesNotFailTheBuild() throws {
        let folder = try temporaryDirectory()
        let notAFolder = folder.appendingPathComponent("file")
        try Data("x".utf8).write(to: notAFolder)
        let cache = ProgramCache(
            context: try makeContext(), cacheDirectory: notAFolder.appendingPathComponent("programs"))
        _ = try cache.program(file: "smoke.cl", source: KernelSource.text(of: "smoke.cl"), options: "")
        XCTAssertEqual(cache.stats.compiles, 1)
    }

    /// Prints cold and warm build times of smoke.cl, and the time to the first launch's end (pocl
    /// compiles the work-group function at the first launch). Unique build options make sure neither
    /// Kiln's cache nor pocl's own (~/.cache/pocl) has seen the program: the first build is cold.
    func testMeasureBuildTimes() throws {
        let folder = try temporaryDirectory()
        let source = try KernelSource.text(of: "smoke.cl")
        // A define no cache has seen. (A new comment is not enough: in our measurement pocl's own
        // cache still hit, so it seems to key on the preprocessed source.)
        let options = "-DKILN_MEASUREMENT=\(UInt64.random(in: 0...UInt64.max))"
        func buildAndLaunch(_ cache: ProgramCache) throws -> (build: Double, launch: Double) {
            var start = Date()
            let program = try cache.program(file: "smoke.cl", source: source, options: options)
            let build = Date().timeIntervalSince(start)
            start = Date()
            try runSmoke(count: 1000, kernel: program.kernel("smoke_add"))
            return (build, Date().timeIntervalSince(start))
        }
        let cold = try buildAndLaunch(ProgramCache(context: try makeContext(), cacheDirectory: folder))
        let warmCache = ProgramCache(context: try makeContext(), cacheDirectory: folder)
        let warm = try buildAndLaunch(warmCache)
        XCTAssertEqual(warmCache.stats.diskHits, 1)
        let memory = try buildAndLaunch(warmCache)
        let binaryBytes = try cacheFiles(in: folder).first.map { try Data(contentsOf: $0).count } ?? 0
        print(
            String(
                format: "[kiln] smoke.cl: cold build %.1f ms + first launch %.1f ms; warm (disk) build %.1f ms + "
                    + "first launch %.1f ms; memory hit %.3f ms + launch %.1f ms; cached binary %d bytes",
                cold.build * 1000, cold.launch * 1000, warm.build * 1000, warm.launch * 1000, memory.build * 1000,
                memory.launch * 1000, binaryBytes))
    }
}
