// MinimalBackend: a backend that implements only the minimal op set, on top of another backend, and refuses every
// other op. It stands for a new backend that has nothing more: plans and the executor must lower the rest through
// the ops' decompositions.
import KilnCore

/// Implements exactly the ops of the minimal set (`Op.isMinimal`) by running them on `base`; any other op reaching
/// `execute` throws.
public final class MinimalBackend: Backend {
    /// The backend that runs the minimal ops.
    public let base: any Backend
    /// How many times each op (by name) ran, for tests that check what reached the backend.
    public private(set) var executedOps: [String: Int] = [:]

    /// Asked to run an op outside the minimal set.
    public struct NotImplemented: Error, CustomStringConvertible {
        public let op: String
        public var description: String { "[\(op)] the minimal backend does not implement this op; it should have been lowered" }
    }

    public init(_ base: any Backend) { self.base = base }

    public var name: String { "minimal(\(base.name))" }
    public var launchCount: Int { base.launchCount }
    public var memoryLimits: MemoryLimits { base.memoryLimits }

    public func implements(_ op: Op) -> Bool { op.isMinimal && base.implements(op) }

    public func execute(_ op: Op, inputs: [Operand], output: any DeviceStorage, outputShape: Shape) throws {
        guard implements(op) else { throw NotImplemented(op: op.name) }
        executedOps[op.name, default: 0] += 1
        try base.execute(op, inputs: inputs, output: output, outputShape: outputShape)
    }

    public func allocate(count: Int) throws -> any DeviceStorage { try base.allocate(count: count) }
    public func write(_ values: [Float], to storage: any DeviceStorage) throws { try base.write(values, to: storage) }
    public func write(_ values: [Double], to storage: any DeviceStorage) throws { try base.write(values, to: storage) }
    public func readFloats(_ storage: any DeviceStorage) throws -> [Float] { try base.readFloats(storage) }
    public func readDoubles(_ storage: any DeviceStorage) throws -> [Double] { try base.readDoubles(storage) }
    public func copy(_ source: any DeviceStorage, to destination: any DeviceStorage) throws { try base.copy(source, to: destination) }
    public func synchronize() throws { try base.synchronize() }
}
