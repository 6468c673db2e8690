// Index arithmetic the reference loops share: a shape seen as [outer, axis, inner], and the storage offset of a
// row-major position read through strides.

extension Shape {
    /// The shape seen as `[outer, size, inner]`: the product of the axes before `axis`, its size, and the product of
    /// the axes after it.
    func split(at axis: Int) -> (outer: Int, size: Int, inner: Int) {
        let outer = dimensions[..<axis].reduce(1, *)
        let inner = dimensions[(axis + 1)...].reduce(1, *)
        return (outer, dimensions[axis], inner)
    }

    /// The storage offset of the element at row-major position `index` of this shape, for a tensor read with
    /// `strides` (which may be 0 along broadcast axes, or permuted for a transpose).
    func offset(ofFlatIndex index: Int, strides: [Int]) -> Int {
        var remainder = index
        var offset = 0
        // Peel coordinates off from the last (fastest-varying) axis to the first.
        for axis in stride(from: rank - 1, through: 0, by: -1) {
            let coordinate = remainder % dimensions[axis]
            remainder /= dimensions[axis]
            offset += coordinate * strides[axis]
        }
        return offset
    }

    /// `axis` counted from the end when negative (`-1` is the last axis).
    func normalized(axis: Int) -> Int { axis < 0 ? axis + rank : axis }
}
