// Leaks of OpenCL objects and memory: 1,000 cycles that each open the device, build a model, run a training
// step and drop everything leave as many contexts, queues, programs, kernels and buffers alive as before,
// and the process's resident memory does not grow. The cycles run in a new process (this test binary, running
// only this test): pocl parses every program it builds into one LLVM context per process, whose metadata and
// tables only grow, so after the suite's other tests had built hundreds of programs the same cycles grew the heap by
// 13-20 MiB (heaptrack: LLVM's MDTuple::getImpl and its hash tables under clBuildProgram, 60 KiB from Kiln's own
// code over 300 cycles), against 0.06-1.8 MiB in a process that starts with them.
import Foundation
import Kiln
import KilnTestSupport
import XCTest

final class LiveObjectTests: XCTestCase {
    /// Resident memory in bytes (the second field of /proc/self/statm, in pages).
    private func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }

    /// Set in the process that runs the cycles.
    private static let cyclesProcessVariable = "KILN_LEAK_CYCLES_PROCESS"

    func testThousandDeviceModelStepCyclesLeakNothing() throws {
        guard ProcessInfo.processInfo.environment[Self.cyclesProcessVariable] != nil else {
            let (status, text) = try runCapturingOutput(
                URL(fileURLWithPath: CommandLine.arguments[0]), ["KilnTests.LiveObjectTests/testThousandDeviceModelStepCyclesLeakNothing"],
                environment: ProcessInfo.processInfo.environment.merging([Self.cyclesProcessVariable: "1"]) { $1 })
            XCTAssertEqual(status, 0, text)
            if text.contains("No OpenCL device") { throw XCTSkip("No OpenCL device: install pocl-opencl-icd to run this test.") }
            XCTAssertTrue(text.contains("[kiln] 1000 device/model/step cycles"), "the cycles did not run:\n\(text)")
            print(text.split(separator: "\n").filter { $0.hasPrefix("[kiln]") }.joined(separator: "\n"))
            return
        }
        let devices = try OpenCLDiscovery.devices()
        guard !devices.isEmpty else { throw XCTSkip("No OpenCL device: install pocl-opencl-icd to run this test.") }
        let handle = try OpenCLDiscovery.select(ProcessInfo.processInfo.environment["KILN_TEST_OPENCL"] ?? "", from: devices)
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-leaks-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let inputs = (0..<(4 * 64)).map { Float($0 % 7) / 7 }
        let labels: [Float] = [1, 3, 0, 2]
        /// One cycle: a device, a model on it, one training step; everything is released on return.
        func cycle(_ index: Int) throws -> Float {
            let device = Device(try OpenCLBackend(device: handle, cacheDirectory: cache))
            var random = RandomSource(seed: UInt64(index))
            let model = try ModelSpec("conv3k3p1-relu-maxpool2-flatten-dense4").build(inputShape: [1, 8, 8], random: &random, on: device)
            let step = TrainingStep(model: model, optimizer: SGD(momentum: 0.9), loss: .softmaxCrossEntropy)
            return try step(inputs: inputs, shape: [4, 1, 8, 8], targets: labels, learningRate: 0.1, on: device)
        }
        let before = OpenCLLiveObjects.current
        // The first cycles fill the program cache, pocl's own caches and the allocator's pools.
        for index in 0..<50 { XCTAssertTrue(try cycle(index).isFinite) }
        XCTAssertEqual(OpenCLLiveObjects.current, before, "objects alive after the warm-up cycles")
        let warmedUp = residentBytes()
        for index in 50..<1000 { XCTAssertTrue(try cycle(index).isFinite) }
        let after = OpenCLLiveObjects.current
        let growth = residentBytes() - warmedUp
        print(
            "[kiln] 1000 device/model/step cycles: live objects before \(before), after \(after); resident memory grew \(growth / 1024) KiB over the last 950"
        )
        XCTAssertEqual(after, before, "every context, queue, program, kernel and buffer is released")
        // A leak of one buffer or program per cycle would be megabytes over 950 cycles.
        XCTAssertLessThan(growth, 16 << 20, "resident memory grew \(growth) bytes")
    }

    func testCountsFollowCreationAndRelease() throws {
        let devices = try OpenCLDiscovery.devices()
        guard !devices.isEmpty else { throw XCTSkip("No OpenCL device: install pocl-opencl-icd to run this test.") }
        let before = OpenCLLiveObjects.current
        var context: OpenCLContext? = try OpenCLContext(device: OpenCLDiscovery.select("", from: devices))
        var buffer: OpenCLBuffer? = try OpenCLBuffer(context: try XCTUnwrap(context), byteCount: 1000)
        var expected = before
        expected.contexts += 1
        expected.queues += 1
        expected.buffers += 1
        expected.bufferBytes += 1000
        XCTAssertEqual(OpenCLLiveObjects.current, expected)
        XCTAssertEqual(context?.bufferBytes, 1000)
        buffer = nil
        XCTAssertEqual(context?.bufferBytes, 0)
        context = nil
        XCTAssertNil(buffer)
        XCTAssertEqual(OpenCLLiveObjects.current, before)
    }
}
