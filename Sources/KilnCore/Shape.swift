// Shape: the dimensions of a tensor, row-major, and the helpers shape rules need.

/// The dimensions of a tensor in row-major order. A scalar has no dimensions.
public struct Shape: Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public var dimensions: [Int]

    public init(_ dimensions: [Int]) { self.dimensions = dimensions }
    public init(arrayLiteral elements: Int...) { self.dimensions = elements }

    public var rank: Int { dimensions.count }
    /// Number of elements (1 for a scalar).
    public var count: Int { dimensions.reduce(1, *) }
    public subscript(axis: Int) -> Int { dimensions[axis] }

    /// Row-major strides in elements.
    public var strides: [Int] {
        var strides = [Int](repeating: 1, count: rank)
        var running = 1
        for axis in stride(from: rank - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= dimensions[axis]
        }
        return strides
    }

    public var description: String { "[" + dimensions.map(String.init).joined(separator: ", ") + "]" }

    /// The NumPy broadcast of two shapes, or nil when a pair of dimensions is neither equal nor 1.
    public static func broadcast(_ a: Shape, _ b: Shape) -> Shape? {
        let rank = max(a.rank, b.rank)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let x = i < rank - a.rank ? 1 : a.dimensions[i - (rank - a.rank)]
            let y = i < rank - b.rank ? 1 : b.dimensions[i - (rank - b.rank)]
            guard x == y || x == 1 || y == 1 else { return nil }
            result[i] = x == 1 ? y : x
        }
        return Shape(result)
    }

    /// Whether this shape broadcasts to `target` (NumPy rules, aligned at the trailing axis).
    public func broadcasts(to target: Shape) -> Bool {
        guard rank <= target.rank else { return false }
        let offset = target.rank - rank
        return (0..<rank).allSatisfy { dimensions[$0] == 1 || dimensions[$0] == target.dimensions[$0 + offset] }
    }

    /// Element strides for reading this shape as if broadcast to `target`: 0 along broadcast axes.
    public func broadcastStrides(to target: Shape) -> [Int] {
        let own = strides
        let offset = target.rank - rank
        return (0..<target.rank).map { axis in
            let source = axis - offset
            guard source >= 0, dimensions[source] != 1 else { return 0 }
            return own[source]
        }
    }
}
