// Reference backend: the CPU backend that defines what every op computes. Its storage, copies in and
// out, and the dispatch from `Op` to the naive loops in the Reference+*.swift files.

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

/// The CPU reference backend: naive loops, generic over the float type, that define the semantics of every op.
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

    public func readFloats(_ storage: any DeviceStorage) throws -> [Float] {
        try reference(storage, op: "read").values.map { Float($0) }
    }

    public func readDoubles(_ storage: any DeviceStorage) throws -> [Double] {
        try reference(storage, op: "read").values.map { Double($0) }
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
        let result = try compute(op, values, shapes, outputShape)
        try write(result, to: output, op: op.name)
    }

    /// The dispatch from each op to its loops. Shapes were checked, so the input count matches the op.
    private func compute(_ op: Op, _ x: [[Scalar]], _ shapes: [Shape], _ outputShape: Shape) throws -> [Scalar] {
        switch op {
        case .data, .reshape:
            throw ReferenceBackendError.notExecutable(op: op.name)
        case .fill(let value, let shape):
            return fill(value, count: shape.count)
        case .dropoutMask(let probability, let seed, let shape):
            return dropoutMask(probability: probability, seed: seed, count: shape.count)
        case .unary(let function):
            return unary(function, x[0])
        case .unaryGradient(let function):
            return unaryGradient(function, x: x[0], dy: x[1])
        case .binary(let function):
            return binary(function, x[0], shapes[0], x[1], shapes[1], outputShape: outputShape)
        case .oneHot(let classes):
            return oneHot(labels: x[0], classes: classes)
        case .broadcast(let shape):
            return broadcast(x[0], shapes[0], to: shape)
        case .transpose(let permutation):
            return transpose(x[0], shapes[0], permutation: permutation, outputShape: outputShape)
        case .slice(let axis, let start, let length):
            return slice(x[0], shapes[0], axis: axis, start: start, length: length)
        case .pad(let axis, let before, let after):
            return pad(x[0], shapes[0], axis: axis, before: before, after: after)
        case .concatenate(let axis):
            return concatenate(x, shapes, axis: axis, outputShape: outputShape)
        case .reduce(let reduction, let axes, _):
            return reduce(reduction, x[0], shapes[0], axes: axes)
        case .argMax(let axis):
            return argMax(x[0], shapes[0], axis: axis < 0 ? axis + shapes[0].rank : axis)
        case .softmax(let axis):
            return softmax(x[0], shapes[0], axis: axis, logarithmic: false)
        case .logSoftmax(let axis):
            return softmax(x[0], shapes[0], axis: axis, logarithmic: true)
        case .matmul(let transposeA, let transposeB):
            return matmul(x[0], shapes[0], x[1], shapes[1], transposeA: transposeA, transposeB: transposeB, outputShape: outputShape)
        case .biasAdd:
            return biasAdd(x[0], shapes[0], bias: x[1])
        case .linear(let transposeA, let transposeB, let activation):
            // The fused op is defined by its decomposition.
            let product = matmul(x[0], shapes[0], x[1], shapes[1], transposeA: transposeA, transposeB: transposeB, outputShape: outputShape)
            let biased = biasAdd(product, outputShape, bias: x[2])
            return activation.map { unary($0, biased) } ?? biased
        case .conv2d(let attributes):
            return conv2d(x[0], shapes[0], weight: x[1], shapes[1], bias: x.count > 2 ? x[2] : nil, attributes, outputShape: outputShape)
        case .fusedConv2d(let attributes, let activation):
            // The fused op is defined by its decomposition.
            return unary(activation, conv2d(x[0], shapes[0], weight: x[1], shapes[1], bias: x.count > 2 ? x[2] : nil, attributes, outputShape: outputShape))
        case .conv2dBackwardInput(let attributes, let inputShape):
            return conv2dBackwardInput(dy: x[0], shapes[0], weight: x[1], shapes[1], attributes, inputShape: inputShape)
        case .conv2dBackwardWeight(let attributes, let weightShape):
            return conv2dBackwardWeight(x[0], shapes[0], dy: x[1], shapes[1], attributes, weightShape: weightShape)
        case .maxPool2d(let attributes):
            return maxPool2d(x[0], shapes[0], attributes, outputShape: outputShape)
        case .maxPool2dBackward(let attributes):
            return maxPool2dBackward(x[0], shapes[0], dy: x[1], shapes[1], attributes)
        case .avgPool2d(let attributes):
            return avgPool2d(x[0], shapes[0], attributes, outputShape: outputShape)
        case .avgPool2dBackward(let attributes, let inputShape):
            return avgPool2dBackward(dy: x[0], shapes[0], attributes, inputShape: inputShape)
        case .lstmCell:
            return lstmCell(z: x[0], cPrevious: x[1], batch: shapes[1][0], hidden: shapes[1][1])
        case .lstmCellBackward:
            return lstmCellBackward(
                z: x[0], cPrevious: x[1], state: x[2], dState: x[3], batch: shapes[1][0], hidden: shapes[1][1])
        case .lstmSequence:
            return lstmSequence(
                x: x[0], h0: x[1], c0: x[2], weightIH: x[3], weightHH: x[4], bias: x[5], steps: shapes[0][0], batch: shapes[0][1],
                inputs: shapes[0][2], hidden: shapes[1][1])
        case .lstmSequenceBackward:
            return lstmSequenceBackward(
                weightHH: x[0], state: x[1], dState: x[2], steps: (shapes[1][0] - 2) / 6, batch: shapes[1][1], hidden: shapes[1][2])
        case .softmaxCrossEntropy:
            return softmaxCrossEntropy(logits: x[0], labels: x[1], classes: shapes[0][1])
        case .softmaxCrossEntropyBackward:
            return softmaxCrossEntropyBackward(logits: x[0], labels: x[1], dy: x[2], classes: shapes[0][1])
        case .update(let rule):
            return update(rule, x)
        }
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
