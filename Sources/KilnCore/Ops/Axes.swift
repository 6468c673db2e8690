// Negative axes: an axis counted from the end (−1 the last), as NumPy, PyTorch and ONNX allow. Every op that takes
// an axis has it normalised here, once, when the op is appended to the graph (`Tensor.apply`), so shape rules,
// gradients, reference loops, kernels and plans only ever see axes in 0..<rank.

extension Shape {
    /// `axis` as a position in `0..<rank`, counted from the end when negative; an axis outside `−rank..<rank` is an
    /// error naming `op` and the shape.
    public func axis(_ axis: Int, of op: String) throws(ShapeError) -> Int {
        guard axis >= -rank && axis < rank else {
            throw ShapeError(op: op, "axis \(axis) is out of range for rank \(rank) (valid: \(-rank) to \(rank - 1))", shapes: [self])
        }
        return axis < 0 ? axis + rank : axis
    }
}

extension Op {
    /// The op with each axis it takes (a reduction's axes, a permutation's entries) normalised against its first
    /// input's shape; a reduction's axes end sorted and distinct.
    func normalizingAxes(for inputs: [Shape]) throws(ShapeError) -> Op {
        guard let x = inputs.first else { return self }
        let op = name
        func axis(_ axis: Int) throws(ShapeError) -> Int { try x.axis(axis, of: op) }
        func axes(_ axes: [Int]) throws(ShapeError) -> [Int] {
            var normalised: [Int] = []
            for entry in axes { normalised.append(try axis(entry)) }
            return normalised
        }
        switch self {
        case .slice(let a, let start, let length): return .slice(axis: try axis(a), start: start, length: length)
        case .pad(let a, let before, let after): return .pad(axis: try axis(a), before: before, after: after)
        case .concatenate(let a): return .concatenate(axis: try axis(a))
        case .reduce(let reduction, let list, let keep):
            return .reduce(reduction, axes: Array(Set(try axes(list))).sorted(), keepDimensions: keep)
        case .argMax(let a): return .argMax(axis: try axis(a))
        case .softmax(let a): return .softmax(axis: try axis(a))
        case .logSoftmax(let a): return .logSoftmax(axis: try axis(a))
        case .transpose(let permutation): return .transpose(permutation: try axes(permutation))
        default: return self
        }
    }
}
