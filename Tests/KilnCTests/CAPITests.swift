// The C API from C and Python: the contract program (errors, training, checkpoints, descriptions, ONNX), a C
// classifier of the Fashion-MNIST test set against `kiln eval`'s accuracy, the README's C and ctypes examples,
// and the leak checks (OpenCL objects after 1,000 create/run/destroy cycles, valgrind on the C cycles).
import Foundation
import Kiln
import KilnC
import XCTest

final class CAPITests: XCTestCase {
    /// `cpu`, and `opencl` when a device exists.
    var deviceNames: [String] {
        ["cpu"] + ((try? OpenCLDiscovery.devices().isEmpty) == false ? ["opencl"] : [])
    }

    static let lstmONNX = CProgram.root.appendingPathComponent("Tests/KilnONNXTests/Data/pytorch/lstm/model.onnx")

    override class func tearDown() {
        try? FileManager.default.removeItem(at: CProgram.scratch)
        super.tearDown()
    }

    func testContractHoldsOnEveryDevice() throws {
        let contract = try CProgram.program("contract")
        for device in deviceNames {
            let result = try CProgram.run(contract.path, [device, CProgram.scratch.path, Self.lstmONNX.path])
            XCTAssertEqual(result.status, 0, "contract on \(device):\n\(result.output)")
            XCTAssertTrue(result.output.contains("checks passed"), result.output)
            print("C API contract on \(device): \(result.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    // MARK: Classifying Fashion-MNIST from C and Python

    /// A CNN trained for 150 steps on an OpenCL device, saved as `kiln train` saves it; its `kiln eval` accuracy.
    static let trained = Result { try train("cnn") }
    /// The same for the MLP, whose evaluation on the (slow) reference backend takes seconds rather than minutes.
    static let trainedMLP = Result { try train("mlp") }

    static func train(_ model: String) throws -> (checkpoint: URL, evalCorrect: Int, device: String) {
        guard (try? OpenCLDiscovery.devices().isEmpty) == false else { throw XCTSkip("no OpenCL device to train the \(model) on quickly") }
        let data = try ImageDataset(IDXDataset(directory: IDXDataset.fashionMNISTDirectory), name: "fashion-mnist")
        let device = try Device.named("opencl")
        var configuration = TrainingConfiguration()
        configuration.model = model
        let trainer = try Trainer(configuration: configuration, data: data, device: device)
        let batches = trainer.trainingBatches
        let order = batches.order(epoch: 0)
        for index in 0..<150 {
            let batch = try batches.batch(index, order: order)
            try trainer.step(
                inputs: batch.inputs, shape: batches.shape(count: batch.count), targets: batch.labels, learningRate: 0.01, on: device)
        }
        let checkpoint = CProgram.scratch.appendingPathComponent("\(model).safetensors")
        try trainer.saveCheckpoint(to: checkpoint)
        // What `kiln eval --checkpoint` does: the stored configuration, a fresh trainer, the weights, the test set.
        let stored = try XCTUnwrap(CheckpointModel.storedConfiguration(in: checkpoint))
        let evaluator = try Trainer(configuration: stored, data: data, device: device)
        try evaluator.loadWeights(from: checkpoint)
        let report = try evaluator.evaluate(data.test)
        return (checkpoint, Int((report.accuracy * Double(data.test.count)).rounded()), "opencl")
    }

    func testCClassifierMatchesKilnEval() throws {
        let trained = try Self.trained.get()
        let classify = try CProgram.program("classify")
        let result = try CProgram.run(classify.path, [trained.device, trained.checkpoint.path, IDXDataset.fashionMNISTDirectory.path])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(
            result.output.contains("correct \(trained.evalCorrect) of 10000"),
            "kiln eval: \(trained.evalCorrect) of 10000; C:\n\(result.output)")
        print("C classifier: \(result.output.split(separator: "\n").last ?? ""); kiln eval: \(trained.evalCorrect) of 10000")
    }

    func testCClassifierGivesTheSameAnswersOnTheReferenceBackend() throws {
        let trained = try Self.trainedMLP.get()
        let classify = try CProgram.program("classify")
        // The reference backend is slow (a debug build of naive loops): an MLP, the first 500 images on both devices.
        let outputs = try ["cpu", trained.device].map { device in
            let result = try CProgram.run(classify.path, [device, trained.checkpoint.path, IDXDataset.fashionMNISTDirectory.path, "500"])
            XCTAssertEqual(result.status, 0, result.output)
            return result.output.split(separator: "\n").last.map(String.init) ?? ""
        }
        XCTAssertEqual(outputs[0], outputs[1], "cpu and \(trained.device) through the C API")
    }

    func testREADMECExampleClassifiesLikeKilnEval() throws {
        let trained = try Self.trained.get()
        let source = CProgram.scratch.appendingPathComponent("readme_example.c")
        try CProgram.readmeExample("c-example", language: "c").write(to: source, atomically: true, encoding: .utf8)
        let program = try CProgram.compile(source, name: "readme_example")
        let result = try CProgram.run(program.path, [trained.checkpoint.path, IDXDataset.fashionMNISTDirectory.path])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(
            result.output.contains("accuracy \(String(format: "%.2f", Double(trained.evalCorrect) / 100))%"),
            "kiln eval: \(trained.evalCorrect) of 10000; README's C example:\n\(result.output)")
    }

    func testREADMEPythonCtypesExampleClassifiesLikeKilnEval() throws {
        let trained = try Self.trained.get()
        let script = CProgram.scratch.appendingPathComponent("readme_example.py")
        try CProgram.readmeExample("python-example", language: "python").write(to: script, atomically: true, encoding: .utf8)
        let result = try CProgram.run(
            "/usr/bin/env", ["python3", script.path, trained.checkpoint.path, IDXDataset.fashionMNISTDirectory.path],
            environment: ["KILN_LIBRARY": try CProgram.libraryDirectory.appendingPathComponent("libKilnC.so").path])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(
            result.output.contains("accuracy \(String(format: "%.2f", Double(trained.evalCorrect) / 100))%"),
            "kiln eval: \(trained.evalCorrect) of 10000; README's Python example:\n\(result.output)")
    }

    // MARK: Threads

    /// kiln.h's promise: any thread may call; calls on one device are serialised, devices run in parallel. Four
    /// threads, two per device, each create, run and destroy models and compare with the answer computed alone.
    func testThreadsSharingAndNotSharingDevicesGetTheSerialAnswers() throws {
        var sample: [Int64] = [1, 5, 5]
        var shape: [Int64] = [3, 1, 5, 5]
        let x = (0..<75).map { Float($0 % 7) / 7 - 0.3 }
        func answer(on device: OpaquePointer?, seed: UInt64) -> [Float]? {
            var model: OpaquePointer?
            var y = [Float](repeating: 0, count: 12)
            guard kiln_model_create(device, "conv3k3p1-tanh-flatten-dense4", &sample, 3, seed, &model) == 0,
                kiln_model_run(model, x, &shape, 4, &y, 12, nil) == 0, kiln_model_destroy(model) == 0
            else { return nil }
            return y
        }
        var devices: [OpaquePointer?] = [nil, nil]
        for index in devices.indices { XCTAssertEqual(kiln_device_open("cpu", &devices[index]), 0) }
        let expected = (0..<8).map { answer(on: devices[0], seed: UInt64($0)) }
        let results = LockedResults()
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for round in 0..<8 {
                let seed = UInt64((thread + round) % 8)
                results.record(answer(on: devices[thread % 2], seed: seed) == expected[Int(seed)])
            }
        }
        XCTAssertEqual(results.outcomes.count, 32)
        XCTAssertTrue(results.outcomes.allSatisfy { $0 }, "a threaded call failed or gave another answer")
        for device in devices { XCTAssertEqual(kiln_device_destroy(device), 0) }
    }

    // MARK: Leaks

    /// 1,000 model create/run/destroy cycles on one OpenCL device, and device open/destroy cycles: every OpenCL
    /// object Kiln created is released (the runtime's own count returns to where it was).
    func testCreateRunDestroyCyclesReleaseEveryOpenCLObject() throws {
        guard deviceNames.contains("opencl") else { throw XCTSkip("no OpenCL device") }
        let before = OpenCLLiveObjects.current
        var device: OpaquePointer?
        XCTAssertEqual(kiln_device_open("opencl", &device), 0, String(cString: kiln_last_error()))
        var sample: [Int64] = [1, 6, 6]
        var shape: [Int64] = [2, 1, 6, 6]
        let x = (0..<72).map { Float($0 % 9) / 9 }
        var y = [Float](repeating: 0, count: 8)
        var count = 0
        for cycle in 0..<1000 {
            var model: OpaquePointer?
            XCTAssertEqual(kiln_model_create(device, "conv2k3p1-relu-flatten-dense4", &sample, 3, UInt64(cycle), &model), 0)
            XCTAssertEqual(kiln_model_run(model, x, &shape, 4, &y, 8, &count), 0)
            XCTAssertEqual(kiln_model_destroy(model), 0)
            if cycle == 0 { XCTAssertNotEqual(OpenCLLiveObjects.current, before, "a live device holds objects") }
        }
        XCTAssertEqual(kiln_device_destroy(device), 0)
        for _ in 0..<10 {
            XCTAssertEqual(kiln_device_open("opencl", &device), 0)
            XCTAssertEqual(kiln_device_destroy(device), 0)
        }
        XCTAssertEqual(OpenCLLiveObjects.current, before, "OpenCL objects left after the cycles")
        print("OpenCL objects after 1,000 C API cycles: \(OpenCLLiveObjects.current) (before: \(before))")
    }

    /// valgrind on the C cycles program (reference backend): nothing definitely or indirectly lost, and the heap
    /// left at exit is the same after 2 and after 8 cycles (what remains is the Swift runtime's one-time caches).
    func testValgrindFindsNoLeakInCreateRunDestroyCycles() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/valgrind") else {
            if ProcessInfo.processInfo.environment["CI"] != nil { throw CAPITestError("valgrind is required in CI (.ci/run installs it)") }
            throw XCTSkip("valgrind is not installed")
        }
        let cycles = try CProgram.program("cycles")
        func leftAtExit(_ count: Int) throws -> String {
            let result = try CProgram.run(
                "/usr/bin/valgrind",
                ["--leak-check=full", "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=9", cycles.path, "cpu", "\(count)"])
            XCTAssertEqual(result.status, 0, "valgrind reported errors or leaks:\n\(result.output)")
            XCTAssertTrue(result.output.contains("definitely lost: 0 bytes"), result.output)
            XCTAssertTrue(result.output.contains("indirectly lost: 0 bytes"), result.output)
            let line = result.output.split(separator: "\n").first { $0.contains("in use at exit") }
            return line.map { String($0.split(separator: ":", maxSplits: 1).last ?? "") } ?? "?"
        }
        let (few, many) = (try leftAtExit(2), try leftAtExit(8))
        XCTAssertEqual(few, many, "memory in use at exit grows with the cycles")
        print("valgrind, C cycles on cpu: in use at exit after 2 cycles \(few), after 8 \(many); definitely and indirectly lost 0")
    }
}

/// Outcomes recorded from several threads.
final class LockedResults: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var outcomes: [Bool] = []
    func record(_ outcome: Bool) {
        lock.lock()
        outcomes.append(outcome)
        lock.unlock()
    }
}
