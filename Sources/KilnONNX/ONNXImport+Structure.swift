// Operators that move or name values: Flatten, Reshape (0 copies a dimension, −1 is inferred), Transpose,
// Concat, Squeeze, Unsqueeze, Identity, Dropout (inference: the identity) and Constant.
import KilnCore

extension ONNXImport {
    /// `[d0 ... d(axis−1)]` and `[d(axis) ...]` each multiplied out; axis 0 gives `[1, count]`.
    static func flatten(_ graph: ONNXGraphBuilder, _ node: ONNXNode) throws -> [Tensor] {
        let x = try graph.input(node, 0)
        let rank = x.shape.rank
        let raw = try node.int("axis", default: 1)
        // Flatten's axis may equal the rank (everything in the first factor).
        let axis = raw < 0 ? raw + rank : raw
        guard axis >= 0, axis <= rank else { throw node.invalid("axis \(raw) is out of range for rank \(rank)") }
        let outer = x.shape.dimensions.prefix(axis).reduce(1, *)
        return [try x.reshaped([outer, x.shape.count / outer])]
    }

    static func reshape(_ graph: ONNXGraphBuilder, _ node: ONNXNode) throws -> [Tensor] {
        let x = try graph.input(node, 0)
        guard let requested = try graph.integerInput(node, 1, purpose: "shape") else { throw node.invalid("needs the shape input") }
        let allowZero = try node.int("allowzero", default: 0) != 0
        var dimensions = try requested.enumerated().map { index, size in
            if size == 0 && !allowZero {
                guard index < x.shape.rank else {
                    throw node.invalid("shape \(requested) copies dimension \(index) of \(x.shape), which has none")
                }
                return x.shape[index]
            }
            return size
        }
        if dimensions.contains(0) {
            throw node.unsupported("allowzero", "shape \(requested) makes an empty tensor; Kiln's tensors have no zero-sized dimensions")
        }
        let inferred = dimensions.indices.filter { dimensions[$0] == -1 }
        guard inferred.count <= 1, dimensions.allSatisfy({ $0 > 0 || $0 == -1 }) else {
            throw node.invalid("shape \(requested) is not a valid shape")
        }
        // The product of the sizes given, checked: one past the input's element count (or past Int.max, as
        // [2^62, 2^62] is) can never match it.
        var known = 1
        for size in dimensions where size > 0 {
            let (product, overflow) = known.multipliedReportingOverflow(by: size)
            guard !overflow, product <= x.shape.count else { throw node.invalid("cannot reshape \(x.shape) to \(requested)") }
            known = product
        }
        if let index = inferred.first {
            guard x.shape.count % known == 0 else { throw node.invalid("cannot reshape \(x.shape) to \(requested)") }
            dimensions[index] = x.shape.count / known
        }
        return [try x.reshaped(Shape(dimensions))]
    }

    static func transpose(_ graph: ONNXGraphBuilder, _ node: ONNXNode) throws -> [Tensor] {
        let x = try graph.input(node, 0)
        let permutation = try node.ints("perm") ?? Array((0..<x.shape.rank).reversed())
        return [try x.transposed(permutation)]
    }

    static func concat(_ graph: ONNXGraphBuilder, _ node: ONNXNode) throws -> [Tensor] {
        let tensors = try node.inputs.indices.compactMap { try graph.optionalInput(node, $0) }
        guard let first = tensors.first else { throw node.invalid("needs at least one input") }
        guard let raw = try node.int("axis") else { throw node.invalid("needs the axis attribute") }
        return [try Tensor.concatenate(tensors, axis: axis(raw, rank: first.shape.rank, node))]
    }

    /// Squeeze (opset 13: axes as an input): the named axes of size 1, or every axis of size 1.
    static func squeeze(_ graph: ONNXGraphBuilder, _ node: ONNXNode) throws -> [Tensor] {
        let x = try graph.input(node, 0)
        let rank = x.shape.rank
        let axes =
            try graph.integerInput(node, 1, purpose: "axes").map { try $0.map { try axis($0, rank: rank, node, attribute: "axes") } }
            ?? (0..<rank).filter { x.shape[$0] == 1 }
        for axis in axes where x.shape[axis] != 1 { throw node.invalid("axis \(axis) of \(x.shape) is not of size 1") }
        let kept = x.shape.dimensions.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        return [try x.reshaped(Shape(kept))]
    }

    /// Unsqueeze (opset 13: axes as an input, counted in the output's rank).
    static func unsqueeze(_ graph: ONNXGraphBuilder, _ node: ONNXNode) throws -> [Tensor] {
        let x = try graph.input(node, 0)
        guard let raw = try graph.integerInput(node, 1, purpose: "axes") else { throw node.invalid("needs the axes input") }
        let rank = x.shape.rank + raw.count
        let axes = Set(try raw.map { try axis($0, rank: rank, node, attribute: "axes") })
        guard axes.count == raw.count else { throw node.invalid("axes \(raw) repeat an axis") }
        var remaining = x.shape.dimensions[...]
        let dimensions = (0..<rank).map { axes.contains($0) ? 1 : remaining.popFirst() ?? 1 }
        return [try x.reshaped(Shape(dimensions))]
    }

    static func identity(_ graph: ONNXGraphBuilder, _ node: ONNXNode) throws -> [Tensor] {
        [try graph.input(node, 0)]
    }

    /// Dropout in inference: the identity. A training_mode input that is true, or the mask output, is refused.
    static func dropout(_ graph: ONNXGraphBuilder, _ node: ONNXNode) throws -> [Tensor] {
        let x = try graph.input(node, 0)
        _ = try node.int("seed")  // Draws masks in training only.
        if let training = try graph.constantInput(node, 2, purpose: "training_mode"), training.floats.contains(where: { $0 != 0 }) {
            throw node.unsupported("training_mode", "Kiln imports dropout in inference form (training_mode false)")
        }
        if node.outputs.count > 1, !node.outputs[1].isEmpty {
            throw node.unsupported("mask", "the mask output (boolean) is not computed")
        }
        return [x]
    }

    /// Constant: a tensor (value) or the scalar and list forms of floats and integers.
    static func constant(_ graph: ONNXGraphBuilder, _ node: ONNXNode) throws -> [Tensor] {
        let array: ONNXArray
        if let tensor = try node.tensor("value") {
            array = try ONNXArray(tensor)
        } else if let value = try node.float("value_float") {
            array = ONNXArray(name: node.name, dimensions: [], floats: [value])
        } else if let values = try node.floats("value_floats") {
            array = ONNXArray(name: node.name, dimensions: [values.count], floats: values)
        } else if let value = try node.int("value_int") {
            array = ONNXArray(name: node.name, dimensions: [], floats: [Float(value)], integers: [value])
        } else if let values = try node.ints("value_ints") {
            array = ONNXArray(name: node.name, dimensions: [values.count], floats: values.map(Float.init), integers: values)
        } else {
            let given = node.proto.attribute.first?.name ?? "value"
            throw node.unsupported(given, "Kiln reads value, value_float(s) and value_int(s)")
        }
        guard let output = node.outputs.first, !output.isEmpty else { throw node.invalid("has no output") }
        graph.define(output, array)
        return []
    }
}
