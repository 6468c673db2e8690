// Model strings that once divided by zero, overflowed or asked for terabytes: each is a clear
// `ModelSpecError` before anything is allocated, and plans check their buffers against the device.
import Kiln
import XCTest

final class ModelSpecValidationTests: XCTestCase {
    private func buildError(_ text: String, on device: Device? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        var random = RandomSource(seed: 0)
        do {
            _ = try ModelSpec(text).build(inputShape: [1, 28, 28], random: &random, on: device ?? Device.named("cpu"))
        } catch let error as ModelSpecError {
            return error.description
        }
        XCTFail("\(text) built", file: file, line: line)
        return ""
    }

    func testZeroWindowsAndStridesAreRejected() throws {
        // Each divided by zero before (issue 15).
        for (text, expected) in [
            ("maxpool0", "'maxpool0': the number after 'maxpool' must be at least 1, got 0"),
            ("maxpool2s0", "'maxpool2s0': 's' must be at least 1, got 0"),
            ("avgpool0", "'avgpool0': the number after 'avgpool' must be at least 1, got 0"),
            ("conv32k3s0", "'conv32k3s0': 's' must be at least 1, got 0"),
            ("conv8k0", "'conv8k0': 'k' must be at least 1, got 0"),
            ("conv8k3d0", "'conv8k3d0': 'd' must be at least 1, got 0"),
            ("conv8k3g0", "'conv8k3g0': 'g' must be at least 1, got 0"),
            ("conv0k3", "'conv0k3': the number after 'conv' must be at least 1, got 0"),
            ("flatten-dense0", "'dense0': the number after 'dense' must be at least 1, got 0"),
        ] {
            XCTAssertEqual(try buildError(text), "model spec: " + expected)
        }
    }

    func testNumbersALayerDoesNotReadAreRejected() throws {
        // Found by the model-string fuzzer: `maxpool2k3p1` built a 2×2 pool and ignored k3 and p1.
        XCTAssertEqual(try buildError("maxpool2k3p1"), "model spec: 'maxpool2k3p1': 'k' is not an option of maxpool")
        XCTAssertEqual(try buildError("flatten-dense10s2"), "model spec: 'dense10s2': 's' is not an option of dense")
        XCTAssertEqual(try buildError("relu5"), "model spec: 'relu5': relu takes no number")
        XCTAssertEqual(try buildError("flatten3"), "model spec: 'flatten3': flatten takes no number")
    }

    func testOverflowingNumbersAreRejected() throws {
        XCTAssertEqual(
            try buildError("conv8k3p4611686018427387904"),
            "model spec: 'conv8k3p4611686018427387904': the sizes overflow; use smaller numbers")
        XCTAssertEqual(
            try buildError("conv8k3d4611686018427387904"),
            "model spec: 'conv8k3d4611686018427387904': the sizes overflow; use smaller numbers")
        XCTAssertEqual(
            try buildError("conv8k99999999999999999999"), "model spec: 'conv8k99999999999999999999': bad number 99999999999999999999")
    }

    func testInputShapesThatCannotBeAreRejected() throws {
        // `kiln export --input-shape 2^62,2^62,2^62` trapped multiplying the sizes in flatten (issue 15's fresh
        // hostile inputs); a size of 0 or below is no shape either.
        var random = RandomSource(seed: 0)
        for shape in [[1 << 62, 1 << 62, 1 << 62], [1, 0, 8], [-1, 8, 8], []] {
            XCTAssertThrowsError(try ModelSpec("flatten-dense10").build(inputShape: shape, random: &random, on: Device.named("cpu"))) {
                XCTAssertTrue("\($0)".contains("the input shape \(shape) needs sizes of at least 1"), "\($0)")
            }
        }
    }

    func testWindowsLargerThanTheInputAreRejected() throws {
        XCTAssertEqual(
            try buildError("maxpool50"),
            "model spec: 'maxpool50': the window (50 wide) is larger than the input (28 with padding; input [1, 28, 28])")
        XCTAssertEqual(
            try buildError("conv4k3d20"),
            "model spec: 'conv4k3d20': the window (41 wide) is larger than the input (28 with padding; input [1, 28, 28])")
        XCTAssertTrue(try buildError("conv4k3g3").contains("groups (3) must divide the input channels (1)"))
    }

    /// `p` pads every side and `c1` rounds the output size up, as PyTorch's `MaxPool2d`/`AvgPool2d(kernel, stride,
    /// padding, ceil_mode=True)`: the sizes below are PyTorch's for a 28×28 input (a last window that would start in the
    /// trailing padding is dropped: avgpool2s3p1c1 gives 10, not 11).
    func testPoolingTakesPaddingAndCeilMode() throws {
        var random = RandomSource(seed: 0)
        let device = try Device.named("cpu")
        for (text, size) in [("maxpool3s2p1", 14), ("maxpool3s2", 13), ("maxpool3s2c1", 14), ("avgpool2s3p1c1", 10), ("maxpool5s3c1", 9)] {
            let model = try ModelSpec("\(text)-flatten-dense3").build(inputShape: [1, 28, 28], random: &random, on: device)
            let pool = model.layers[0]
            let ceil = text.hasSuffix("c1")
            XCTAssertEqual((pool as? MaxPool2D)?.ceilMode ?? (pool as? AvgPool2D)?.ceilMode, ceil, text)
            let y = try pool.forward(Tensor.zeros([1, 1, 28, 28], on: device), context: ForwardContext(training: false))
            XCTAssertEqual(y.shape, [1, 1, size, size], text)
        }
        XCTAssertEqual(
            try buildError("maxpool2c2"), "model spec: 'maxpool2c2': 'c' is 1 (round the output size up, PyTorch's ceil_mode) or 0, got 2")
        XCTAssertTrue(try buildError("maxpool2p2").contains("padding [2, 2, 2, 2] must be smaller than the window's extent"))
    }

    func testHugeLayersAreRejectedBeforeAllocating() throws {
        // Aborted in malloc before ("failed to allocate 313599999996864 bytes").
        let dense = try buildError("flatten-dense99999999999-dense10")
        XCTAssertTrue(
            dense.hasPrefix(
                "model spec: 'dense99999999999': layer 2 weight [99999999999, 784]: 313599999996864 bytes (285.2 TiB) exceeds the largest allocation of cpu"
            ), dense)
        let conv = try buildError("conv99999999k3")
        XCTAssertTrue(
            conv.hasPrefix("model spec: 'conv99999999k3': layer 1 output for one example [99999999, 26, 26]: 270399997296 bytes"), conv)
        let overflow = try buildError("flatten-dense9223372036854775807")
        XCTAssertTrue(overflow.contains("more bytes than an integer holds"), overflow)
    }

    func testLayersAreCheckedAgainstTheDevicesLargestAllocation() throws {
        let small = Device(LimitedBackend(MemoryLimits(largestAllocationBytes: 1 << 20, totalBytes: 1 << 22, bytesPerElement: 4)))
        let message = try buildError("flatten-dense512", on: small)
        XCTAssertEqual(
            message,
            "model spec: 'dense512': layer 2 weight [512, 784]: 1605632 bytes (1.5 MiB) exceeds the largest allocation of limited, 1048576 bytes (1.0 MiB); use a smaller model or batch"
        )
        var random = RandomSource(seed: 0)
        XCTAssertNoThrow(try ModelSpec("flatten-dense256").build(inputShape: [1, 28, 28], random: &random, on: small))
    }

    /// A plan checks each buffer against the device before allocating it, naming the step and the shapes.
    func testPlanChecksBuffersAgainstTheDevice() throws {
        let limits = MemoryLimits(largestAllocationBytes: 64 << 10, totalBytes: 256 << 10, bytesPerElement: 4)
        let device = Device(LimitedBackend(limits))
        let x = try Tensor([Float](repeating: 1, count: 4), shape: [4, 1], on: device)
        func row(_ count: Int) throws -> Tensor { try Tensor([Float](repeating: 2, count: count), shape: [1, count], on: device) }
        // 16384 floats: exactly the largest allocation, fine.
        XCTAssertNoThrow(try Plan(inputs: [x], outputs: [x.matmul(row(4096))], updates: []))
        XCTAssertThrowsError(try Plan(inputs: [x], outputs: [x.matmul(row(4097))], updates: [])) { error in
            XCTAssertEqual(
                "\(error)",
                "[plan] step 1 (matmul) output [4, 4097]: 65552 bytes (64.0 KiB) exceeds the largest allocation of limited, 65536 bytes (64.0 KiB); use a smaller model or batch"
            )
        }
        // Five live buffers of 64 KiB do not fit in 256 KiB.
        let wide = try row(4096)
        let products = try (1...5).map { try x.matmul(wide) * Double($0) }
        XCTAssertThrowsError(try Plan(inputs: [x], outputs: products, updates: [])) { error in
            XCTAssertTrue(
                "\(error)".contains("does not fit in the memory of limited, 262144 bytes (256.0 KiB), of which 262144 bytes are in use"),
                "\(error)")
        }
    }

    /// The reference backend refuses a buffer larger than the host's memory instead of aborting in malloc.
    func testReferenceBackendRefusesAbsurdAllocations() throws {
        let backend = ReferenceBackend<Float>()
        XCTAssertThrowsError(try backend.allocate(count: Int.max / 2)) { error in
            XCTAssertTrue(
                "\(error)".hasPrefix(
                    "buffer [4611686018427387903]: more bytes than an integer holds exceeds the largest allocation of cpu"), "\(error)")
        }
        XCTAssertThrowsError(try backend.allocate(count: 1 << 50)) { error in
            XCTAssertTrue("\(error)".contains("exceeds the largest allocation of cpu"), "\(error)")
        }
    }
}

/// The reference backend with memory limits chosen by the test.
private final class LimitedBackend: Backend {
    let reference = ReferenceBackend<Float>()
    let memoryLimits: MemoryLimits
    init(_ limits: MemoryLimits) { memoryLimits = limits }

    var name: String { "limited" }
    var launchCount: Int { reference.launchCount }
    func allocate(count: Int) throws -> any DeviceStorage {
        try memoryLimits.check("buffer", [count], on: name)
        return try reference.allocate(count: count)
    }
    func write(_ values: [Float], to storage: any DeviceStorage) throws { try reference.write(values, to: storage) }
    func write(_ values: [Double], to storage: any DeviceStorage) throws { try reference.write(values, to: storage) }
    func readFloats(_ storage: any DeviceStorage) throws -> [Float] { try reference.readFloats(storage) }
    func readDoubles(_ storage: any DeviceStorage) throws -> [Double] { try reference.readDoubles(storage) }
    func copy(_ source: any DeviceStorage, to destination: any DeviceStorage) throws { try reference.copy(source, to: destination) }
    func execute(_ op: Op, inputs: [Operand], output: any DeviceStorage, outputShape: Shape) throws {
        try reference.execute(op, inputs: inputs, output: output, outputShape: outputShape)
    }
    func synchronize() throws { try reference.synchronize() }
    func implements(_ op: Op) -> Bool { reference.implements(op) }
}
