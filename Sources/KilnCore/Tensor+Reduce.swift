// Reductions and softmax.

extension Tensor {
    func reduce(_ reduction: Reduction, axes: [Int]?, keepDimensions: Bool) throws -> Tensor {
        let axes = axes.map { Array(Set($0)).sorted() } ?? Array(0..<shape.rank)
        if axes.isEmpty { return self }
        return try Tensor.apply(.reduce(reduction, axes: axes, keepDimensions: keepDimensions), [self])
    }

    /// Sum over `axes` (all when nil; negative axes count from the end).
    public func sum(axes: [Int]? = nil, keepDimensions: Bool = false) throws -> Tensor {
        try reduce(.sum, axes: axes, keepDimensions: keepDimensions)
    }

    /// Mean over `axes` (all when nil; negative axes count from the end).
    public func mean(axes: [Int]? = nil, keepDimensions: Bool = false) throws -> Tensor {
        try reduce(.mean, axes: axes, keepDimensions: keepDimensions)
    }

    /// Maximum over `axes` (all when nil; negative axes count from the end).
    public func max(axes: [Int]? = nil, keepDimensions: Bool = false) throws -> Tensor {
        try reduce(.max, axes: axes, keepDimensions: keepDimensions)
    }

    /// The index of the first maximum along `axis` (negative counts from the end), as a float, with that axis
    /// removed; NaN counts as the largest value. No gradient flows through it.
    public func argMax(axis: Int) throws -> Tensor { try Tensor.apply(.argMax(axis: axis), [self]) }

    /// Softmax along `axis` (negative counts from the end), with the maximum subtracted first.
    public func softmax(axis: Int) throws -> Tensor { try Tensor.apply(.softmax(axis: axis), [self]) }

    /// Log-softmax along `axis` (negative counts from the end), with the maximum subtracted first.
    public func logSoftmax(axis: Int) throws -> Tensor { try Tensor.apply(.logSoftmax(axis: axis), [self]) }
}
