// The fuzz harnesses' view of Kiln: the library modules they need, and the few files of the umbrella module
// (the model-string parser, the character vocabulary) that `build.sh` compiles into this shim module.
@_exported import KilnCore
@_exported import KilnData
@_exported import KilnFiles
@_exported import KilnNN
@_exported import KilnReference

/// The CPU reference backend with a small memory budget: what a harness builds models on, so that a
/// fuzzed size that passes the checks still cannot exhaust the fuzzer's memory (libFuzzer stops at 2 GB)
/// or make one input take seconds.
public final class FuzzBackend: Backend {
    let reference = ReferenceBackend<Float>()
    public let memoryLimits = MemoryLimits(largestAllocationBytes: 4 << 20, totalBytes: 32 << 20, bytesPerElement: 4)

    public init() {}

    public var name: String { "fuzz" }
    public var launchCount: Int { reference.launchCount }
    public func implements(_ op: Op) -> Bool { reference.implements(op) }
    public func allocate(count: Int) throws -> any DeviceStorage {
        try memoryLimits.check("buffer", [count], on: name)
        return try reference.allocate(count: count)
    }
    public func write(_ values: [Float], to storage: any DeviceStorage) throws { try reference.write(values, to: storage) }
    public func write(_ values: [Double], to storage: any DeviceStorage) throws { try reference.write(values, to: storage) }
    public func readFloats(_ storage: any DeviceStorage) throws -> [Float] { try reference.readFloats(storage) }
    public func readDoubles(_ storage: any DeviceStorage) throws -> [Double] { try reference.readDoubles(storage) }
    public func copy(_ source: any DeviceStorage, to destination: any DeviceStorage) throws { try reference.copy(source, to: destination) }
    public func execute(_ op: Op, inputs: [Operand], output: any DeviceStorage, outputShape: Shape) throws {
        try reference.execute(op, inputs: inputs, output: output, outputShape: outputShape)
    }
    public func synchronize() throws { try reference.synchronize() }
}
