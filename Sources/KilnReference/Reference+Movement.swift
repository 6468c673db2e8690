// Reference movement ops: broadcast, transpose, slice, pad and concatenate. They copy elements without
// arithmetic; slice, pad and concatenate view the tensor as [outer, axis, inner].

import KilnCore

extension ReferenceBackend {
    /// `x` copied into `shape`; along a broadcast axis every output element reads the same input element.
    func broadcast(_ x: [Scalar], _ xShape: Shape, to shape: Shape) -> [Scalar] {
        let strides = xShape.broadcastStrides(to: shape)
        return (0..<shape.count).map { index in x[offset(ofFlatIndex: index, in: shape, strides: strides)] }
    }

    /// `output[i0, i1, ...]` is `x` at the coordinates where axis `permutation[k]` has coordinate `ik`.
    func transpose(_ x: [Scalar], _ xShape: Shape, permutation: [Int], outputShape: Shape) -> [Scalar] {
        // Walking output axis k moves along input axis permutation[k].
        let inputStrides = xShape.strides
        let strides = permutation.map { inputStrides[$0] }
        return (0..<outputShape.count).map { index in x[offset(ofFlatIndex: index, in: outputShape, strides: strides)] }
    }

    /// Elements `start ..< start + length` along `axis`.
    func slice(_ x: [Scalar], _ xShape: Shape, axis: Int, start: Int, length: Int) -> [Scalar] {
        let (outer, size, inner) = split(xShape, at: axis)
        var output: [Scalar] = []
        output.reserveCapacity(outer * length * inner)
        for o in 0..<outer {
            for j in start..<(start + length) {
                for i in 0..<inner {
                    output.append(x[(o * size + j) * inner + i])
                }
            }
        }
        return output
    }

    /// `x` with `before` zeros ahead of it and `after` zeros behind it along `axis`.
    func pad(_ x: [Scalar], _ xShape: Shape, axis: Int, before: Int, after: Int) -> [Scalar] {
        let (outer, size, inner) = split(xShape, at: axis)
        let paddedSize = before + size + after
        var output = [Scalar](repeating: 0, count: outer * paddedSize * inner)
        for o in 0..<outer {
            for j in 0..<size {
                for i in 0..<inner {
                    // Input position j along the axis lands at before + j in the output.
                    output[(o * paddedSize + before + j) * inner + i] = x[(o * size + j) * inner + i]
                }
            }
        }
        return output
    }

    /// The inputs joined along `axis`: for each outer index, each input's block of `size * inner` elements in turn.
    func concatenate(_ inputs: [[Scalar]], _ shapes: [Shape], axis: Int, outputShape: Shape) -> [Scalar] {
        let (outer, _, _) = split(outputShape, at: axis)
        var output: [Scalar] = []
        output.reserveCapacity(outputShape.count)
        for o in 0..<outer {
            for (x, shape) in zip(inputs, shapes) {
                let (_, size, inner) = split(shape, at: axis)
                let block = size * inner
                output.append(contentsOf: x[(o * block)..<((o + 1) * block)])
            }
        }
        return output
    }

    /// `shape` seen as `[outer, size, inner]`: the product of the axes before `axis`, its size, and the
    /// product of the axes after it.
    func split(_ shape: Shape, at axis: Int) -> (outer: Int, size: Int, inner: Int) {
        let outer = shape.dimensions[..<axis].reduce(1, *)
        let inner = shape.dimensions[(axis + 1)...].reduce(1, *)
        return (outer, shape[axis], inner)
    }
}
