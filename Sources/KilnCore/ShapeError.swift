// ShapeError: the typed error every shape rule throws, naming the op and the shapes.

/// An op was given shapes or attributes it cannot accept. The description starts with `[op]`
/// and prints the shapes involved.
public struct ShapeError: Error, CustomStringConvertible, Equatable {
    /// The op's name, e.g. `conv2d`.
    public let op: String
    /// What is wrong, in words.
    public let reason: String
    /// The input shapes the op received.
    public let shapes: [Shape]

    public init(op: String, _ reason: String, shapes: [Shape]) {
        self.op = op
        self.reason = reason
        self.shapes = shapes
    }

    public var description: String {
        let listed = shapes.map(\.description).joined(separator: ", ")
        return "[\(op)] \(reason) (input shapes: \(listed))"
    }
}
