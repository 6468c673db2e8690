// Shape rules: for each op, the output shape of given input shapes, or a ShapeError saying why not.

extension Op {
    /// The op's name as error messages and reports print it.
    public var name: String {
        switch self {
        case .data: "data"
        case .fill: "fill"
        case .unary(let f): "\(f)"
        case .unaryGradient(let f): "\(f)_grad"
        case .binary(let f): "\(f)"
        case .reshape: "reshape"
        case .broadcast: "broadcast"
        case .transpose: "transpose"
        case .slice: "slice"
        case .pad: "pad"
        case .concatenate: "concatenate"
        case .reduce(let r, _, _): "reduce_\(r)"
        case .argMax: "argmax"
        case .softmax: "softmax"
        case .logSoftmax: "log_softmax"
        case .matmul: "matmul"
        case .biasAdd: "bias_add"
        case .linear: "linear"
        case .conv2d: "conv2d"
        case .conv2dBackwardInput: "conv2d_backward_input"
        case .conv2dBackwardWeight: "conv2d_backward_weight"
        case .maxPool2d: "max_pool2d"
        case .maxPool2dBackward: "max_pool2d_backward"
        case .avgPool2d: "avg_pool2d"
        case .avgPool2dBackward: "avg_pool2d_backward"
        case .lstmCell: "lstm_cell"
        case .lstmCellBackward: "lstm_cell_backward"
        case .lstmSequence: "lstm_sequence"
        case .lstmSequenceBackward: "lstm_sequence_backward"
        case .oneHot: "one_hot"
        case .dropoutMask: "dropout_mask"
        case .softmaxCrossEntropy: "softmax_cross_entropy"
        case .softmaxCrossEntropyBackward: "softmax_cross_entropy_backward"
        case .update(let rule): rule.name
        case .fusedConv2d(_, let activation): "conv2d_\(activation)"
        }
    }

    /// The output shape for `inputs`, after checking the op's attributes and the input count and shapes.
    public func outputShape(for inputs: [Shape]) throws(ShapeError) -> Shape {
        let rule = ShapeRule(op: name, shapes: inputs)
        try rule.require(inputs.allSatisfy { $0.dimensions.allSatisfy { $0 > 0 } }, "zero-sized or negative dimension")
        switch self {
        case .data:
            throw rule.error("a data leaf has no shape rule")
        case .fill(_, let shape):
            try rule.arity(0)
            try rule.require(shape.dimensions.allSatisfy { $0 > 0 }, "zero-sized dimension in \(shape)")
            return shape
        case .dropoutMask(let p, _, let shape):
            try rule.arity(0)
            try rule.require(p >= 0 && p < 1, "probability \(p) is outside [0, 1)")
            try rule.require(shape.dimensions.allSatisfy { $0 > 0 }, "zero-sized dimension in \(shape)")
            return shape
        case .unary(let f):
            try rule.arity(1)
            if case .leakyRelu(let slope) = f { try rule.require(slope.isFinite, "slope \(slope) is not finite") }
            return inputs[0]
        case .unaryGradient:
            try rule.arity(2)
            try rule.require(inputs[0] == inputs[1], "x and dy differ")
            return inputs[0]
        case .binary:
            try rule.arity(2)
            guard let shape = Shape.broadcast(inputs[0], inputs[1]) else {
                throw rule.error("shapes do not broadcast")
            }
            return shape
        case .reshape(let shape):
            try rule.arity(1)
            try rule.require(shape.dimensions.allSatisfy { $0 > 0 }, "zero-sized or negative dimension in \(shape)")
            try rule.require(shape.count == inputs[0].count, "cannot reshape \(inputs[0].count) elements to \(shape)")
            return shape
        case .broadcast(let shape):
            try rule.arity(1)
            try rule.require(inputs[0].broadcasts(to: shape), "does not broadcast to \(shape)")
            return shape
        case .transpose(let permutation):
            try rule.arity(1)
            try rule.require(
                permutation.sorted() == Array(0..<inputs[0].rank), "permutation \(permutation) is not a permutation of the axes")
            return Shape(permutation.map { inputs[0][$0] })
        case .slice(let axis, let start, let length):
            try rule.arity(1)
            try rule.axis(axis, rank: inputs[0].rank)
            try rule.require(
                start >= 0 && length > 0 && start + length <= inputs[0][axis],
                "range \(start)..<\(start + length) is outside axis \(axis) of size \(inputs[0][axis])")
            var dims = inputs[0].dimensions
            dims[axis] = length
            return Shape(dims)
        case .pad(let axis, let before, let after):
            try rule.arity(1)
            try rule.axis(axis, rank: inputs[0].rank)
            try rule.require(before >= 0 && after >= 0, "negative padding \(before), \(after)")
            var dims = inputs[0].dimensions
            dims[axis] += before + after
            return Shape(dims)
        case .concatenate(let axis):
            try rule.require(!inputs.isEmpty, "needs at least one input")
            try rule.axis(axis, rank: inputs[0].rank)
            var dims = inputs[0].dimensions
            for shape in inputs.dropFirst() {
                var other = shape.dimensions
                try rule.require(other.count == dims.count, "ranks differ")
                other[axis] = dims[axis]
                try rule.require(other == dims, "shapes differ outside axis \(axis)")
                dims[axis] += shape[axis]
            }
            return Shape(dims)
        case .reduce(_, let axes, let keep):
            try rule.arity(1)
            try rule.require(axes == Array(Set(axes)).sorted(), "axes \(axes) must be sorted and distinct")
            for axis in axes { try rule.axis(axis, rank: inputs[0].rank) }
            try rule.require(axes.allSatisfy { inputs[0][$0] > 0 }, "reducing an empty axis")
            var dims: [Int] = []
            for (axis, size) in inputs[0].dimensions.enumerated() {
                if !axes.contains(axis) { dims.append(size) } else if keep { dims.append(1) }
            }
            return Shape(dims)
        case .argMax(let axis):
            try rule.arity(1)
            let rank = inputs[0].rank
            try rule.require(axis >= -rank && axis < rank, "axis \(axis) is out of range for rank \(rank)")
            var dims = inputs[0].dimensions
            dims.remove(at: axis < 0 ? axis + rank : axis)
            return Shape(dims)
        case .softmax(let axis), .logSoftmax(let axis):
            try rule.arity(1)
            try rule.axis(axis, rank: inputs[0].rank)
            try rule.require(inputs[0][axis] > 0, "softmax over an empty axis")
            return inputs[0]
        case .matmul(let transposeA, let transposeB):
            try rule.arity(2)
            let (a, b) = (inputs[0], inputs[1])
            try rule.require(a.rank == b.rank && (a.rank == 2 || a.rank == 3), "operands must both be rank 2 or both rank 3")
            let m = transposeA ? a[a.rank - 1] : a[a.rank - 2]
            let k = transposeA ? a[a.rank - 2] : a[a.rank - 1]
            let kB = transposeB ? b[b.rank - 1] : b[b.rank - 2]
            let n = transposeB ? b[b.rank - 2] : b[b.rank - 1]
            try rule.require(k == kB, "inner dimensions \(k) and \(kB) differ")
            if a.rank == 3 {
                try rule.require(a[0] == b[0], "batch sizes \(a[0]) and \(b[0]) differ")
                return [a[0], m, n]
            }
            return [m, n]
        case .linear(let transposeA, let transposeB, let activation):
            try rule.arity(3)
            try rule.require(inputs[0].rank == 2, "operands must be rank 2")
            if let activation { try rule.require(Fusion.isFusible(activation), "\(activation) cannot be fused") }
            let product = try rule.renamed { () throws(ShapeError) in
                try Op.matmul(transposeA: transposeA, transposeB: transposeB).outputShape(for: [inputs[0], inputs[1]])
            }
            try rule.require(inputs[2] == [product[1]], "bias must be [\(product[1])]")
            return product
        case .biasAdd:
            try rule.arity(2)
            try rule.require(inputs[0].rank >= 2, "x must have a channel axis 1")
            try rule.require(inputs[1] == [inputs[0][1]], "bias must be [\(inputs[0][1])]")
            return inputs[0]
        case .conv2d(let attributes):
            try rule.require(inputs.count == 2 || inputs.count == 3, "takes x, w and an optional bias")
            let (x, w) = (inputs[0], inputs[1])
            try rule.require(x.rank == 4 && w.rank == 4, "x and w must be rank 4 (NCHW and OIHW)")
            try attributes.validate(rule)
            try rule.require(w[0] % attributes.groups == 0, "\(w[0]) output channels do not divide into \(attributes.groups) groups")
            try rule.require(
                x[1] == w[1] * attributes.groups, "x has \(x[1]) channels but w expects \(w[1]) x \(attributes.groups) groups")
            if inputs.count == 3 { try rule.require(inputs[2] == [w[0]], "bias must be [\(w[0])]") }
            let (oh, ow) = try attributes.outputSize(input: (x[2], x[3]), kernel: (w[2], w[3]), rule)
            return [x[0], w[0], oh, ow]
        case .fusedConv2d(let attributes, _):
            return try rule.renamed { () throws(ShapeError) in try Op.conv2d(attributes).outputShape(for: inputs) }
        case .conv2dBackwardInput(let attributes, let inputShape):
            try rule.arity(2)
            let (dy, w) = (inputs[0], inputs[1])
            try rule.require(dy.rank == 4 && w.rank == 4 && inputShape.rank == 4, "dy, w and the input shape must be rank 4")
            let expected = try rule.renamed { () throws(ShapeError) in try Op.conv2d(attributes).outputShape(for: [inputShape, w]) }
            try rule.require(dy == expected, "dy must be \(expected) for input \(inputShape)")
            return inputShape
        case .conv2dBackwardWeight(let attributes, let weightShape):
            try rule.arity(2)
            let (x, dy) = (inputs[0], inputs[1])
            let expected = try rule.renamed { () throws(ShapeError) in try Op.conv2d(attributes).outputShape(for: [x, weightShape]) }
            try rule.require(dy == expected, "dy must be \(expected) for weight \(weightShape)")
            return weightShape
        case .maxPool2d(let attributes), .avgPool2d(let attributes):
            try rule.arity(1)
            return try attributes.outputShape(input: inputs[0], rule)
        case .maxPool2dBackward(let attributes):
            try rule.arity(2)
            let expected = try attributes.outputShape(input: inputs[0], rule)
            try rule.require(inputs[1] == expected, "dy must be \(expected)")
            return inputs[0]
        case .avgPool2dBackward(let attributes, let inputShape):
            try rule.arity(1)
            let expected = try attributes.outputShape(input: inputShape, rule)
            try rule.require(inputs[0] == expected, "dy must be \(expected) for input \(inputShape)")
            return inputShape
        case .lstmCell:
            try rule.arity(2)
            let (z, c) = (inputs[0], inputs[1])
            try rule.require(z.rank == 2 && c.rank == 2, "z and cPrev must be rank 2")
            try rule.require(z[0] == c[0] && z[1] == 4 * c[1], "z must be [N, 4H] for cPrev [N, H]")
            return [c[0], 2 * c[1]]
        case .lstmCellBackward:
            try rule.arity(4)
            let (z, c) = (inputs[0], inputs[1])
            try rule.require(z.rank == 2 && c.rank == 2, "z and cPrev must be rank 2")
            try rule.require(z[0] == c[0] && z[1] == 4 * c[1], "z must be [N, 4H] for cPrev [N, H]")
            let state: Shape = [c[0], 2 * c[1]]
            try rule.require(inputs[2] == state && inputs[3] == state, "state and dState must be \(state)")
            return [c[0], 5 * c[1]]
        case .lstmSequence:
            try rule.arity(6)
            let (x, h0, c0, weightIH, weightHH, bias) = (inputs[0], inputs[1], inputs[2], inputs[3], inputs[4], inputs[5])
            try rule.require(x.rank == 3, "x must be [T, N, I]")
            try rule.require(h0.rank == 2 && h0 == c0 && h0[0] == x[1], "h0 and c0 must both be [N, H] with N = \(x[1])")
            let hidden = h0[1]
            try rule.require(weightIH == [4 * hidden, x[2]], "weightIH must be [\(4 * hidden), \(x[2])]")
            try rule.require(weightHH == [4 * hidden, hidden], "weightHH must be [\(4 * hidden), \(hidden)]")
            try rule.require(bias == [4 * hidden], "bias must be [\(4 * hidden)]")
            return [6 * x[0] + 2, x[1], hidden]
        case .lstmSequenceBackward:
            try rule.arity(3)
            let (weightHH, state) = (inputs[0], inputs[1])
            try rule.require(weightHH.rank == 2 && weightHH[0] == 4 * weightHH[1], "weightHH must be [4H, H]")
            let hidden = weightHH[1]
            try rule.require(
                state.rank == 3 && state[0] >= 8 && (state[0] - 2) % 6 == 0 && state[2] == hidden,
                "state must be [6T + 2, N, \(hidden)], lstm_sequence's output")
            try rule.require(inputs[2] == state, "dState must have state's shape")
            let (steps, batch) = ((state[0] - 2) / 6, state[1])
            return [steps * batch * 4 * hidden + 2 * batch * hidden]
        case .oneHot(let classes):
            try rule.arity(1)
            try rule.require(classes > 0, "needs at least one class")
            try rule.require(inputs[0].rank == 1, "labels must be rank 1")
            return [inputs[0][0], classes]
        case .softmaxCrossEntropy:
            try rule.arity(2)
            try rule.require(inputs[0].rank == 2 && inputs[1] == [inputs[0][0]], "needs logits [N, C] and labels [N]")
            return [inputs[0][0]]
        case .softmaxCrossEntropyBackward:
            try rule.arity(3)
            let rows: Shape = [inputs[0][0]]
            try rule.require(inputs[0].rank == 2 && inputs[1] == rows && inputs[2] == rows, "needs logits [N, C], labels [N] and dy [N]")
            return inputs[0]
        case .update(let update):
            try rule.arity(update.arity)
            let tensors = update.takesScalars ? inputs.dropLast() : inputs[...]
            try rule.require(tensors.allSatisfy { $0 == inputs[0] }, "every tensor must have the updated tensor's shape \(inputs[0])")
            if update.takesScalars {
                try rule.require(inputs.last!.rank == 1 && inputs.last![0] >= update.scalarCount, "scalars must be [\(update.scalarCount)] or longer")
            }
            return inputs[0]
        }
    }
}

extension UpdateRule {
    /// The op's name in reports.
    public var name: String {
        switch self {
        case .momentumBuffer: "momentum_buffer_update"
        case .sgdParameter: "sgd_update"
        case .adamMoment: "adam_moment_update"
        case .adamParameter: "adam_update"
        }
    }

    /// Inputs the rule takes.
    public var arity: Int {
        switch self {
        case .momentumBuffer, .adamMoment: 3
        case .sgdParameter(let momentum, _, _): momentum == 0 ? 3 : 4
        case .adamParameter: 4
        }
    }

    /// Whether the last input is the per-step scalars tensor.
    public var takesScalars: Bool {
        switch self {
        case .momentumBuffer, .adamMoment: false
        case .sgdParameter, .adamParameter: true
        }
    }

    /// Per-step scalars the rule reads.
    public var scalarCount: Int {
        switch self {
        case .momentumBuffer, .adamMoment: 0
        case .sgdParameter: 1
        case .adamParameter: 3
        }
    }
}

/// Helpers a shape rule uses to check its inputs and throw errors that name the op and shapes.
struct ShapeRule {
    let op: String
    let shapes: [Shape]

    func error(_ reason: String) -> ShapeError { ShapeError(op: op, reason, shapes: shapes) }

    func require(_ condition: Bool, _ reason: @autoclosure () -> String) throws(ShapeError) {
        if !condition { throw error(reason()) }
    }

    func arity(_ count: Int) throws(ShapeError) {
        try require(shapes.count == count, "takes \(count) inputs, got \(shapes.count)")
    }

    /// Runs another op's shape rule, reporting its errors under this op's name and shapes.
    func renamed<T>(_ body: () throws(ShapeError) -> T) throws(ShapeError) -> T {
        do { return try body() } catch { throw self.error(error.reason) }
    }

    func axis(_ axis: Int, rank: Int) throws(ShapeError) {
        try require(axis >= 0 && axis < rank, "axis \(axis) is out of range for rank \(rank)")
    }
}

extension Convolution2D {
    func validate(_ rule: ShapeRule) throws(ShapeError) {
        try rule.require(stride.count == 2 && stride.allSatisfy { $0 > 0 }, "stride \(stride) must be two positive numbers")
        try rule.require(dilation.count == 2 && dilation.allSatisfy { $0 > 0 }, "dilation \(dilation) must be two positive numbers")
        try rule.require(
            padding.count == 4 && padding.allSatisfy { $0 >= 0 }, "padding \(padding) must be four non-negative numbers [top, left, bottom, right]")
        try rule.require(groups > 0, "groups \(groups) must be positive")
    }

    /// Output height and width; throws when the dilated kernel does not fit in the padded input.
    func outputSize(input: (Int, Int), kernel: (Int, Int), _ rule: ShapeRule) throws(ShapeError) -> (Int, Int) {
        try rule.require(kernel.0 > 0 && kernel.1 > 0, "kernel size \(kernel.0)x\(kernel.1) must be positive")
        try rule.require(input.0 > 0 && input.1 > 0, "zero-sized input")
        let paddedH = input.0 + padding[0] + padding[2]
        let paddedW = input.1 + padding[1] + padding[3]
        let spanH = dilation[0] * (kernel.0 - 1) + 1
        let spanW = dilation[1] * (kernel.1 - 1) + 1
        try rule.require(
            spanH <= paddedH && spanW <= paddedW,
            "window \(spanH)x\(spanW) (kernel \(kernel.0)x\(kernel.1), dilation \(dilation)) is larger than the padded input \(paddedH)x\(paddedW)")
        return ((paddedH - spanH) / stride[0] + 1, (paddedW - spanW) / stride[1] + 1)
    }
}

extension Pooling2D {
    func outputShape(input x: Shape, _ rule: ShapeRule) throws(ShapeError) -> Shape {
        try rule.require(x.rank == 4, "x must be rank 4 (NCHW)")
        try rule.require(kernel.count == 2 && kernel.allSatisfy { $0 > 0 }, "kernel \(kernel) must be two positive numbers")
        try rule.require(stride.count == 2 && stride.allSatisfy { $0 > 0 }, "stride \(stride) must be two positive numbers")
        try rule.require(dilation.count == 2 && dilation.allSatisfy { $0 > 0 }, "dilation \(dilation) must be two positive numbers")
        try rule.require(
            padding.count == 4 && padding.allSatisfy { $0 >= 0 }, "padding \(padding) must be four non-negative numbers [top, left, bottom, right]")
        try rule.require(
            padding[0] * 2 <= kernel[0] && padding[2] * 2 <= kernel[0] && padding[1] * 2 <= kernel[1] && padding[3] * 2 <= kernel[1],
            "padding \(padding) is larger than half the window \(kernel)")
        try rule.require(x.count > 0, "zero-sized input")
        let convolution = Convolution2D(stride: stride, padding: padding, dilation: dilation)
        let (oh, ow) = try convolution.outputSize(input: (x[2], x[3]), kernel: (kernel[0], kernel[1]), rule)
        // With dilation a window can skip over the whole input; every window must read at least one element.
        for (axis, outputs) in [(0, oh), (1, ow)] {
            for position in 0..<outputs {
                let start = position * stride[axis] - padding[axis]
                let taps = (0..<kernel[axis]).map { start + $0 * dilation[axis] }
                try rule.require(
                    taps.contains { $0 >= 0 && $0 < x[2 + axis] },
                    "window \(position) along \(axis == 0 ? "height" : "width") lies entirely in the padding (padding \(padding), dilation \(dilation))")
            }
        }
        return [x[0], x[1], oh, ow]
    }
}
