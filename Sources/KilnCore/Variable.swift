// Variable: a persistent tensor whose value steps replace (parameters, optimizer buffers, running
// statistics). Its storage stays the same across replays of a compiled plan.

/// A named place for a tensor that outlives one graph: it always holds an evaluated leaf.
public final class Variable: CustomStringConvertible {
    /// The current value, a data leaf on the variable's device.
    public private(set) var value: Tensor

    /// A variable holding `initial`'s values (evaluated now).
    public init(_ initial: Tensor) throws {
        value = try Variable.leaf(of: initial)
    }

    public var shape: Shape { value.shape }
    public var device: Device { value.device }
    public var description: String { "Variable(\(shape))" }

    /// Replaces the value with `newValue` (same shape), evaluating it now. The storage stays the same,
    /// so compiled plans that read or update this variable see the new value.
    public func assign(_ newValue: Tensor) throws {
        guard newValue.shape == shape else {
            throw ShapeError(op: "assign", "new value has a different shape", shapes: [shape, newValue.shape])
        }
        if newValue.device !== device {
            throw TensorError.deviceMismatch(op: "assign", devices: [device.description, newValue.device.description])
        }
        try Tensor.evaluate([newValue])
        guard let source = newValue.node.storage else { preconditionFailure("[variable] evaluation left no storage") }
        try device.backend.copy(source, to: storage)
    }

    /// Overwrites the value's storage in place with host values (used by checkpoint loading).
    public func load(_ values: [Float]) throws {
        guard values.count == shape.count else { throw TensorError.valueCount(expected: shape.count, got: values.count, shape: shape) }
        try device.backend.write(values, to: storage)
    }

    /// The storage behind the value; a compiled plan writes new values into it.
    var storage: any DeviceStorage {
        guard let storage = value.node.storage else { preconditionFailure("[variable] value is not evaluated") }
        return storage
    }

    /// A data leaf with fresh storage holding `tensor`'s values, so no other tensor shares what a
    /// plan will overwrite.
    private static func leaf(of tensor: Tensor) throws -> Tensor {
        try Tensor.evaluate([tensor])
        guard let source = tensor.node.storage else { preconditionFailure("[variable] evaluation left no storage") }
        let backend = tensor.device.backend
        let storage = try backend.allocate(count: tensor.shape.count)
        try backend.copy(source, to: storage)
        return Tensor(node: Node(op: .data, inputs: [], shape: tensor.shape, device: tensor.device, storage: storage))
    }
}
