// Tensor: a value naming a node of a lazy graph. Ops check shapes and append nodes; nothing runs
// until a result is read or `Tensor.evaluate` is called.

/// A node of the graph: an op applied to other nodes, on one device. Once evaluated it holds its storage.
public final class Node {
    public let op: Op
    public let inputs: [Node]
    public let shape: Shape
    public let device: Device
    /// The computed values, present for data leaves and for nodes evaluated as requested outputs.
    var storage: (any DeviceStorage)?

    init(op: Op, inputs: [Node], shape: Shape, device: Device, storage: (any DeviceStorage)? = nil) {
        self.op = op
        self.inputs = inputs
        self.shape = shape
        self.device = device
        self.storage = storage
    }
}

/// Errors from combining tensors, reading them, or differentiating a graph.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    /// Tensors on two different devices were combined.
    case deviceMismatch(op: String, devices: [String])
    /// The value count does not match the shape.
    case valueCount(expected: Int, got: Int, shape: Shape)
    /// `gradients(of:)` needs a loss with one element.
    case nonScalarLoss(Shape)
    /// The op's gradient is not defined (a gradient of a gradient op, for example).
    case noGradient(op: String)
    /// The op never runs on a backend (a data leaf holds values written by the user).
    case notExecutable(op: String)
    /// The backend implements neither the op nor, through a decomposition, the ops it is written with.
    case unsupported(op: String, backend: String)
    /// A buffer to read a tensor into does not hold exactly its element count.
    case destinationCount(expected: Int, got: Int, shape: Shape)
    /// An integer label (at flat position `index`) is outside `0..<classes` and is not the ignored label.
    case labelOutOfRange(index: Int, label: String, classes: Int, ignoreIndex: Int?)
    /// Labels are held as floats, which hold every integer exactly only up to 2^24 in magnitude.
    case labelNotRepresentable(String)

    public var description: String {
        switch self {
        case .deviceMismatch(let op, let devices):
            "[\(op)] inputs live on different devices (\(devices.joined(separator: ", "))); move them to one device first"
        case .valueCount(let expected, let got, let shape):
            "[tensor] shape \(shape) needs \(expected) values, got \(got)"
        case .nonScalarLoss(let shape):
            "[gradients] the loss must have one element, it has shape \(shape); reduce it with sum() or mean() first"
        case .noGradient(let op):
            "[\(op)] has no gradient rule (higher-order gradients of this op are not supported)"
        case .notExecutable(let op):
            "[\(op)] holds values and never runs on a backend"
        case .unsupported(let op, let backend):
            "[\(op)] \(backend) does not implement this op, which belongs to the minimal set every backend must implement"
        case .destinationCount(let expected, let got, let shape):
            "[tensor] reading shape \(shape) needs a destination of \(expected) floats, got \(got)"
        case .labelOutOfRange(let index, let label, let classes, let ignoreIndex):
            "[labels] label \(label) at index \(index) is outside 0..<\(classes)"
                + (ignoreIndex.map { " and is not the ignored label \($0)" } ?? "")
        case .labelNotRepresentable(let what):
            "[labels] \(what) is beyond 2^24 = 16777216, the largest whole number float labels hold exactly"
        }
    }
}

/// A multi-dimensional array of floats on a device, computed lazily.
public struct Tensor: CustomStringConvertible {
    public let node: Node

    public init(node: Node) { self.node = node }

    public var shape: Shape { node.shape }
    public var device: Device { node.device }
    public var description: String { "Tensor(\(shape), \(node.op.name), on \(device))" }

    /// A tensor holding `values` (row-major) on `device`.
    public init(_ values: [Float], shape: Shape, on device: Device) throws {
        try self.init(shape: shape, count: values.count, on: device) { try device.backend.write(values, to: $0) }
    }

    /// A tensor holding `values` (row-major) on `device`, converted to the backend's float type.
    public init(_ values: [Double], shape: Shape, on device: Device) throws {
        try self.init(shape: shape, count: values.count, on: device) { try device.backend.write(values, to: $0) }
    }

    /// A tensor holding the floats of the caller's buffer (row-major) on `device`, copied once, straight from the
    /// buffer to the device's storage.
    public init(_ values: UnsafeBufferPointer<Float>, shape: Shape, on device: Device) throws {
        try self.init(shape: shape, count: values.count, on: device) { try device.backend.write(values, to: $0) }
    }

    private init(shape: Shape, count: Int, on device: Device, write: (any DeviceStorage) throws -> Void) throws {
        guard shape.dimensions.allSatisfy({ $0 > 0 }) else {
            throw ShapeError(op: "tensor", "zero-sized or negative dimension in \(shape)", shapes: [shape])
        }
        guard count == shape.count else { throw TensorError.valueCount(expected: shape.count, got: count, shape: shape) }
        let storage = try device.backend.allocate(count: count)
        try write(storage)
        node = Node(op: .data, inputs: [], shape: shape, device: device, storage: storage)
    }

    /// A tensor of `shape` with every element `value`.
    public static func full(_ value: Double, shape: Shape, on device: Device) throws -> Tensor {
        try apply(.fill(value: value, shape: shape), [], on: device)
    }

    public static func zeros(_ shape: Shape, on device: Device) throws -> Tensor { try full(0, shape: shape, on: device) }
    public static func ones(_ shape: Shape, on device: Device) throws -> Tensor { try full(1, shape: shape, on: device) }

    /// Appends `op` applied to `inputs` to the graph after checking devices and shapes. Negative axes count from the
    /// end and are normalised first.
    public static func apply(_ op: Op, _ inputs: [Tensor], on device: Device? = nil) throws -> Tensor {
        guard let device = device ?? inputs.first?.device else {
            preconditionFailure("[\(op.name)] an op without inputs needs a device")
        }
        if inputs.contains(where: { $0.device !== device }) {
            throw TensorError.deviceMismatch(op: op.name, devices: inputs.map(\.device.description))
        }
        let shapes = inputs.map(\.shape)
        let op = try op.normalizingAxes(for: shapes)
        let shape = try op.outputShape(for: shapes)
        return Tensor(node: Node(op: op, inputs: inputs.map(\.node), shape: shape, device: device))
    }

    /// Computes every tensor in `tensors` (sharing the work between them) and keeps their values.
    public static func evaluate(_ tensors: [Tensor]) throws {
        try Executor.evaluate(tensors.map(\.node))
    }

    /// Computes this tensor if needed and returns its elements in row-major order.
    public func floats() throws -> [Float] {
        try Tensor.evaluate([self])
        return try device.backend.readFloats(try storage())
    }

    /// Computes this tensor if needed and returns its elements as `Double`.
    public func doubles() throws -> [Double] {
        try Tensor.evaluate([self])
        return try device.backend.readDoubles(try storage())
    }

    /// Computes this tensor if needed and copies its elements (row-major) straight into the caller's buffer, which
    /// must hold exactly `shape.count` floats.
    public func read(into destination: UnsafeMutableBufferPointer<Float>) throws {
        guard destination.count == shape.count else {
            throw TensorError.destinationCount(expected: shape.count, got: destination.count, shape: shape)
        }
        try Tensor.evaluate([self])
        try device.backend.read(try storage(), into: destination)
    }

    /// The single element of a one-element tensor.
    public func scalar() throws -> Double {
        let values = try doubles()
        guard values.count == 1 else { throw TensorError.valueCount(expected: 1, got: values.count, shape: shape) }
        return values[0]
    }

    private func storage() throws -> any DeviceStorage {
        guard let storage = node.storage else { preconditionFailure("[tensor] evaluated node has no storage") }
        return storage
    }
}
