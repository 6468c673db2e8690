// Backend: the narrow protocol every device implements, and Device, the handle tensors carry.

/// Memory owned by a backend. It is freed when the last reference goes away.
public protocol DeviceStorage: AnyObject {
    /// Number of elements it holds.
    var count: Int { get }
}

/// One input of an op as a backend sees it: its storage and its shape.
public struct Operand {
    public let storage: any DeviceStorage
    public let shape: Shape
    public init(storage: any DeviceStorage, shape: Shape) {
        self.storage = storage
        self.shape = shape
    }
}

/// A device that can hold tensors and run ops (never `.data` or `.reshape`, which the executor handles).
///
/// Kept narrow on purpose: allocate, copy in and out, say which ops are native, execute one op, synchronise. A backend
/// must implement the minimal set (`Op.isMinimal`); every other op it does not implement is lowered through its
/// decomposition before it runs.
/// One kernel launch's time on the device (`Backend.timeLaunches`).
public struct LaunchTime: Sendable {
    /// What the launch was part of, as the timed code labelled it.
    public var label: String
    public var kernel: String
    public var seconds: Double

    public init(label: String, kernel: String, seconds: Double) {
        (self.label, self.kernel, self.seconds) = (label, kernel, seconds)
    }
}

public protocol Backend: AnyObject {
    /// A short name for messages and reports, e.g. `cpu` or `opencl:0 (pthread-haswell)`.
    var name: String { get }
    /// Storage for `count` elements of the backend's float type; contents undefined.
    func allocate(count: Int) throws -> any DeviceStorage
    /// Copies `values` into `storage` (`values.count == storage.count`).
    func write(_ values: [Float], to storage: any DeviceStorage) throws
    /// Copies `values` into `storage`, converting to the backend's float type.
    func write(_ values: [Double], to storage: any DeviceStorage) throws
    /// Reads every element, waiting for pending work.
    func readFloats(_ storage: any DeviceStorage) throws -> [Float]
    /// Reads every element as `Double`, waiting for pending work.
    func readDoubles(_ storage: any DeviceStorage) throws -> [Double]
    /// Copies `values` into `storage` (`values.count == storage.count`) straight from the caller's memory.
    func write(_ values: UnsafeBufferPointer<Float>, to storage: any DeviceStorage) throws
    /// Reads every element into `destination` (`destination.count == storage.count`), waiting for pending work.
    func read(_ storage: any DeviceStorage, into destination: UnsafeMutableBufferPointer<Float>) throws
    /// Enqueues a copy of every element of `source` into `destination` (same count).
    func copy(_ source: any DeviceStorage, to destination: any DeviceStorage) throws
    /// Whether `execute` runs `op` natively; plans and the executor lower every other op through its decomposition.
    func implements(_ op: Op) -> Bool
    /// Enqueues `op` on `inputs`, writing `output` (freshly allocated, shape `outputShape`). Only ops the backend
    /// `implements` reach it. Shapes were already checked by `Op.outputShape(for:)`.
    func execute(_ op: Op, inputs: [Operand], output: any DeviceStorage, outputShape: Shape) throws
    /// Enqueues a plan's closing optimizer updates as if each ran through `execute` in order; a backend may update
    /// many tensors per launch.
    func executeUpdates(_ updates: [UpdateStep]) throws
    /// Waits until all enqueued work is done.
    func synchronize() throws
    /// The launches `body` enqueues, counted without running or enqueuing anything, or nil where the backend
    /// cannot count them so.
    func countingLaunches(_ body: () throws -> Void) throws -> Int?
    /// Runs `body`, whose launches stay queued back to back, and returns the device time of each kernel launch, in
    /// launch order (`body` calls `label` before the launches it names), or nil where the backend cannot time
    /// launches on the device.
    func timeLaunches(_ body: (_ label: (String) -> Void) throws -> Void) throws -> [LaunchTime]?
    /// Device launches enqueued so far (kernels and buffer copies; on the reference backend, executed ops and
    /// copies): the difference across a plan run is what the run costs in launches.
    var launchCount: Int { get }
    /// The largest buffer and the total memory the device can hand out; allocations are checked against it.
    var memoryLimits: MemoryLimits { get }
}

extension Backend {
    /// A backend that cannot say how much memory it has: no limit.
    public var memoryLimits: MemoryLimits { .unlimited }

    /// Through an array, for a backend without a direct path (the reference and OpenCL backends copy directly).
    public func write(_ values: UnsafeBufferPointer<Float>, to storage: any DeviceStorage) throws {
        try write(Array(values), to: storage)
    }

    /// Through an array, for a backend without a direct path (the reference and OpenCL backends copy directly).
    public func read(_ storage: any DeviceStorage, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let values = try readFloats(storage)
        guard values.count == destination.count else {
            throw TensorError.destinationCount(expected: values.count, got: destination.count, shape: [values.count])
        }
        _ = destination.update(fromContentsOf: values)
    }

    /// A backend that cannot time launches on the device.
    public func timeLaunches(_ body: (_ label: (String) -> Void) throws -> Void) throws -> [LaunchTime]? { nil }

    /// A backend that cannot count launches without running them.
    public func countingLaunches(_ body: () throws -> Void) throws -> Int? { nil }

    /// One `execute` per update, in order.
    public func executeUpdates(_ updates: [UpdateStep]) throws {
        for update in updates {
            try execute(.update(update.rule), inputs: update.inputs, output: update.output, outputShape: update.shape)
        }
    }
}

/// One `update` op as `Backend.executeUpdates` receives it: the op's rule, inputs and output, as `execute` takes them.
public struct UpdateStep {
    public let rule: UpdateRule
    public let inputs: [Operand]
    public let output: any DeviceStorage
    public let shape: Shape
    public init(rule: UpdateRule, inputs: [Operand], output: any DeviceStorage, shape: Shape) {
        self.rule = rule
        self.inputs = inputs
        self.output = output
        self.shape = shape
    }
}

/// A backend and the name the user chose it by. Tensors on one device only combine with each other.
public final class Device: CustomStringConvertible {
    public let backend: any Backend
    public init(_ backend: any Backend) { self.backend = backend }
    public var description: String { backend.name }
}
