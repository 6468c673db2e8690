// Reference backend: the CPU backend that runs every op with its reference loops (declared with the op, in
// KilnCore's Ops/*.swift), which define what it computes. Its storage, copies in and out, and the checks around
// each op.

import Foundation
import KilnCore

/// Elements of a tensor held in host memory by `ReferenceBackend`.
public final class ReferenceStorage<Scalar: ReferenceScalar>: DeviceStorage {
    /// The elements in row-major order.
    public var values: [Scalar]

    public init(values: [Scalar]) { self.values = values }

    public var count: Int { values.count }
}

/// What went wrong when the reference backend was used outside its contract.
public enum ReferenceBackendError: Error, CustomStringConvertible, Equatable {
    /// `.data` and `.reshape` are handled by the executor and never reach a backend.
    case notExecutable(op: String)
    /// The storage was allocated by another backend, or for another float type.
    case foreignStorage(op: String, expected: String, actual: String)
    /// A storage holds a different number of elements than its shape or the copied values.
    case countMismatch(op: String, role: String, expected: Int, actual: Int)
    /// The output shape passed to `execute` is not the one the op's shape rule gives.
    case outputShapeMismatch(op: String, expected: Shape, actual: Shape)

    public var description: String {
        switch self {
        case .notExecutable(let op):
            "[\(op)] is handled by the executor and never runs on a backend; do not pass it to execute"
        case .foreignStorage(let op, let expected, let actual):
            "[\(op)] expected a storage of type \(expected) allocated by this backend, got \(actual); copy the tensor to this device first"
        case .countMismatch(let op, let role, let expected, let actual):
            "[\(op)] \(role) holds \(actual) elements but \(expected) were expected"
        case .outputShapeMismatch(let op, let expected, let actual):
            "[\(op)] output shape \(actual) differs from \(expected), the shape rule's answer; pass op.outputShape(for:)"
        }
    }
}

/// The CPU reference backend: each op's naive loops, generic over the float type, that define its semantics.
/// Every other backend, kernel variant and gradient is tested against it.
public final class ReferenceBackend<Scalar: ReferenceScalar>: Backend {
    /// Ops executed and copies made so far.
    public internal(set) var launchCount = 0

    public init() {}

    /// `cpu` for `Float`, `cpu-double` for `Double`.
    public var name: String { Scalar.backendName }

    /// The host's memory, for the largest buffer and in all.
    public var memoryLimits: MemoryLimits {
        let memory = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        return MemoryLimits(largestAllocationBytes: memory, totalBytes: memory, bytesPerElement: MemoryLayout<Scalar>.size)
    }

    public func allocate(count: Int) throws -> any DeviceStorage {
        try memoryLimits.check("buffer", [Swift.max(count, 0)], on: name)
        return ReferenceStorage<Scalar>(values: [Scalar](repeating: 0, count: Swift.max(count, 0)))
    }

    public func write(_ values: [Float], to storage: any DeviceStorage) throws {
        try write(values.map { Scalar($0) }, to: storage, op: "write")
    }

    public func write(_ values: [Double], to storage: any DeviceStorage) throws {
        try write(values.map { Scalar($0) }, to: storage, op: "write")
    }

    public func write(_ values: UnsafeBufferPointer<Float>, to storage: any DeviceStorage) throws {
        try write(values.map { Scalar($0) }, to: storage, op: "write")
    }

    public func read(_ storage: any DeviceStorage, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let storage = try reference(storage, op: "read")
        guard storage.count == destination.count else {
            throw ReferenceBackendError.countMismatch(
                op: "read", role: "the destination", expected: storage.count, actual: destination.count)
        }
        for (index, value) in storage.values.enumerated() { destination[index] = Float(value) }
    }

    public func readFloats(_ storage: any DeviceStorage) throws -> [Float] {
        try reference(storage, op: "read").values.map { Float($0) }
    }

    public func readDoubles(_ storage: any DeviceStorage) throws -> [Double] {
        try reference(storage, op: "read").values.map { Double($0) }
    }

    /// Every op has reference loops.
    public func implements(_ op: Op) -> Bool {
        switch op {
        case .data, .reshape: false
        default: true
        }
    }

    /// Work runs when it is enqueued, so there is nothing to wait for.
    public func synchronize() throws {}

    /// Runs `op` at once. Shapes are checked again by `op.outputShape(for:)` so that a caller's mistake
    /// throws instead of indexing out of range.
    public func execute(_ op: Op, inputs: [Operand], output: any DeviceStorage, outputShape: Shape) throws {
        launchCount += 1
        switch op {
        case .data, .reshape: throw ReferenceBackendError.notExecutable(op: op.name)
        default: break
        }
        let shapes = inputs.map(\.shape)
        let expected = try op.outputShape(for: shapes)
        guard expected == outputShape else {
            throw ReferenceBackendError.outputShapeMismatch(op: op.name, expected: expected, actual: outputShape)
        }
        var values: [[Scalar]] = []
        for (index, input) in inputs.enumerated() {
            let storage = try reference(input.storage, op: op.name)
            guard storage.count == input.shape.count else {
                throw ReferenceBackendError.countMismatch(
                    op: op.name, role: "input \(index) of shape \(input.shape)", expected: input.shape.count, actual: storage.count)
            }
            values.append(storage.values)
        }
        try write(try op.evaluateReference(values, shapes: shapes, outputShape: outputShape), to: output, op: op.name)
    }

    /// The storage as this backend's type, or an error naming what it is instead.
    private func reference(_ storage: any DeviceStorage, op: String) throws -> ReferenceStorage<Scalar> {
        guard let storage = storage as? ReferenceStorage<Scalar> else {
            throw ReferenceBackendError.foreignStorage(
                op: op, expected: "\(ReferenceStorage<Scalar>.self)", actual: "\(type(of: storage))")
        }
        return storage
    }

    private func write(_ values: [Scalar], to storage: any DeviceStorage, op: String) throws {
        let storage = try reference(storage, op: op)
        guard storage.count == values.count else {
            throw ReferenceBackendError.countMismatch(op: op, role: "the destination", expected: values.count, actual: storage.count)
        }
        storage.values = values
    }
}
