// Tensor operations that move elements: reshape, broadcast, transpose, slice, pad, concatenate.

extension Tensor {
    /// The same elements in `shape` (same count). Free: it shares storage.
    public func reshaped(_ shape: Shape) throws -> Tensor {
        shape == self.shape ? self : try Tensor.apply(.reshape(shape), [self])
    }

    /// Copied into `shape` by NumPy broadcasting.
    public func broadcast(to shape: Shape) throws -> Tensor {
        shape == self.shape ? self : try Tensor.apply(.broadcast(shape), [self])
    }

    /// Axes permuted: result axis `i` is axis `permutation[i]` of `self` (negative entries count from the end).
    public func transposed(_ permutation: [Int]) throws -> Tensor { try Tensor.apply(.transpose(permutation: permutation), [self]) }

    /// The last two axes swapped.
    public func transposed() throws -> Tensor {
        var permutation = Array(0..<shape.rank)
        if shape.rank >= 2 { permutation.swapAt(shape.rank - 1, shape.rank - 2) }
        return try transposed(permutation)
    }

    /// Elements `start ..< start + length` along `axis` (negative counts from the end).
    public func slice(axis: Int, start: Int, length: Int) throws -> Tensor {
        try Tensor.apply(.slice(axis: axis, start: start, length: length), [self])
    }

    /// Zero padding along `axis` (negative counts from the end).
    public func padded(axis: Int, before: Int, after: Int) throws -> Tensor {
        try Tensor.apply(.pad(axis: axis, before: before, after: after), [self])
    }

    /// `tensors` joined along `axis` (negative counts from the end).
    public static func concatenate(_ tensors: [Tensor], axis: Int) throws -> Tensor {
        tensors.count == 1 ? tensors[0] : try apply(.concatenate(axis: axis), tensors)
    }

    /// Sums `self` over the axes along which `shape` was broadcast to give `self.shape`: the gradient
    /// of a broadcast.
    public func sum(to shape: Shape) throws -> Tensor {
        if self.shape == shape { return self }
        let offset = self.shape.rank - shape.rank
        let axes = (0..<self.shape.rank).filter { axis in
            axis < offset || (shape[axis - offset] == 1 && self.shape[axis] != 1)
        }
        let reduced = axes.isEmpty ? self : try sum(axes: axes, keepDimensions: true)
        return try reduced.reshaped(shape)
    }
}
