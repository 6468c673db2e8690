// Gradient rules: for each op, the vector-Jacobian product written in ops, so backward graphs are
// ordinary lazy graphs that run on every backend.

extension Op {
    /// The gradients of the op's output with respect to each input, given the output's gradient `g`.
    /// `nil` means the input gets no gradient (constant, or zero almost everywhere).
    func vectorJacobianProduct(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        switch self {
        case .data, .fill, .dropoutMask:
            return []
        case .oneHot, .argMax, .binary(.equal), .binary(.greater):
            return inputs.map { _ in nil }
        case .unary(.relu):
            // relu'(x) = [x > 0] = [relu(x) > 0]: reading the output leaves the input to its producer alone,
            // so a plan can fuse the activation into the layer before it in training too.
            return [try Tensor.apply(.unaryGradient(.relu), [output, g])]
        case .unary(let function):
            return [try Tensor.apply(.unaryGradient(function), [inputs[0], g])]
        case .binary(let function):
            return try binaryGradients(function, a: inputs[0], b: inputs[1], output: output, g: g)
        case .reshape:
            return [try g.reshaped(inputs[0].shape)]
        case .broadcast:
            return [try g.sum(to: inputs[0].shape)]
        case .transpose(let permutation):
            var inverse = permutation
            for (index, axis) in permutation.enumerated() { inverse[axis] = index }
            return [try g.transposed(inverse)]
        case .slice(let axis, let start, let length):
            return [try g.padded(axis: axis, before: start, after: inputs[0].shape[axis] - start - length)]
        case .pad(let axis, let before, _):
            return [try g.slice(axis: axis, start: before, length: inputs[0].shape[axis])]
        case .concatenate(let axis):
            var start = 0
            return try inputs.map { input in
                defer { start += input.shape[axis] }
                return try g.slice(axis: axis, start: start, length: input.shape[axis])
            }
        case .reduce(let reduction, let axes, _):
            return [try reductionGradient(reduction, axes: axes, x: inputs[0], y: output, g: g)]
        case .softmax(let axis):
            return [try output * (g - (g * output).sum(axes: [axis], keepDimensions: true))]
        case .logSoftmax(let axis):
            return [try g - output.exp() * g.sum(axes: [axis], keepDimensions: true)]
        case .matmul(let transposeA, let transposeB):
            return try matmulGradients(transposeA: transposeA, transposeB: transposeB, a: inputs[0], b: inputs[1], g: g)
        case .linear(let transposeA, let transposeB, let activation):
            // The decomposition's gradients: through the activation, then the bias add and the matmul.
            let preactivation = try Tensor.apply(.biasAdd, [inputs[0].matmul(inputs[1], transposeSelf: transposeA, transposeOther: transposeB), inputs[2]])
            let gPre = try activation.map { try Tensor.apply(.unaryGradient($0), [preactivation, g]) } ?? g
            return try matmulGradients(transposeA: transposeA, transposeB: transposeB, a: inputs[0], b: inputs[1], g: gPre) + [gPre.sum(axes: [0])]
        case .biasAdd:
            let axes = (0..<g.shape.rank).filter { $0 != 1 }
            return [g, try g.sum(axes: axes)]
        case .conv2d(let attributes):
            let (x, w) = (inputs[0], inputs[1])
            var gradients: [Tensor?] = [
                try Tensor.apply(.conv2dBackwardInput(attributes, inputShape: x.shape), [g, w]),
                try Tensor.apply(.conv2dBackwardWeight(attributes, weightShape: w.shape), [x, g]),
            ]
            if inputs.count == 3 { gradients.append(try g.sum(axes: [0, 2, 3])) }
            return gradients
        case .conv2dBackwardInput(let attributes, _):
            // Linear in dy (its adjoint is the convolution) and in w (a weight gradient with the roles of x and dy).
            let (dy, w) = (inputs[0], inputs[1])
            return [
                try Tensor.apply(.conv2d(attributes), [g, w]),
                try Tensor.apply(.conv2dBackwardWeight(attributes, weightShape: w.shape), [g, dy]),
            ]
        case .maxPool2d(let attributes):
            return [try Tensor.apply(.maxPool2dBackward(attributes), [inputs[0], g])]
        case .avgPool2d(let attributes):
            return [try Tensor.apply(.avgPool2dBackward(attributes, inputShape: inputs[0].shape), [g])]
        case .avgPool2dBackward(let attributes, _):
            // Average pooling's backward is the transpose of a linear map, so its own gradient is the forward.
            return [try Tensor.apply(.avgPool2d(attributes), [g])]
        case .lstmCell:
            let (z, cPrev) = (inputs[0], inputs[1])
            let hidden = cPrev.shape[1]
            let packed = try Tensor.apply(.lstmCellBackward, [z, cPrev, output, g])
            return [
                try packed.slice(axis: 1, start: 0, length: 4 * hidden),
                try packed.slice(axis: 1, start: 4 * hidden, length: hidden),
            ]
        case .softmaxCrossEntropy:
            return [try Tensor.apply(.softmaxCrossEntropyBackward, [inputs[0], inputs[1], g]), nil]
        case .lstmSequence:
            return try lstmSequenceGradients(inputs: inputs, output: output, g: g)
        case .unaryGradient, .conv2dBackwardWeight, .maxPool2dBackward, .lstmCellBackward, .lstmSequenceBackward,
            .softmaxCrossEntropyBackward, .update, .fusedConv2d:
            throw TensorError.noGradient(op: name)
        }
    }

    /// The recurrence runs backwards in one op that yields the gate pre-activation gradients `dz` of every step
    /// (and those of the initial state); the gradients of `x`, the weights and the bias are then whole-sequence
    /// products of `dz`, so the graph keeps only those that are asked for and runs them as large matrix products.
    private func lstmSequenceGradients(inputs: [Tensor], output: Tensor, g: Tensor) throws -> [Tensor?] {
        let (x, weightIH, weightHH) = (inputs[0], inputs[3], inputs[4])
        let (steps, batch, hidden) = (x.shape[0], x.shape[1], weightHH.shape[1])
        let packed = try Tensor.apply(.lstmSequenceBackward, [weightHH, output, g])
        let rows = steps * batch
        let dz = try packed.slice(axis: 0, start: 0, length: rows * 4 * hidden).reshaped([rows, 4 * hidden])
        func initialState(_ index: Int) throws -> Tensor {
            try packed.slice(axis: 0, start: rows * 4 * hidden + index * batch * hidden, length: batch * hidden).reshaped([batch, hidden])
        }
        // Blocks 0 ..< T of the output are h_{t−1} for every step t (h0 first).
        let previousHidden = try output.slice(axis: 0, start: 0, length: steps).reshaped([rows, hidden])
        return [
            try dz.matmul(weightIH).reshaped(x.shape),
            try initialState(0),
            try initialState(1),
            try dz.matmul(x.reshaped([rows, x.shape[2]]), transposeSelf: true),
            try dz.matmul(previousHidden, transposeSelf: true),
            // Column sums as a product with a row of ones: it runs on the matrix-product kernels, which on pocl
            // took a tenth of the time the generic reduction took over the 1024 rows of the benchmark's dz.
            try Tensor.full(1, shape: [1, rows], on: dz.device).matmul(dz).reshaped([4 * hidden]),
        ]
    }

    private func binaryGradients(_ function: BinaryFunction, a: Tensor, b: Tensor, output: Tensor, g: Tensor) throws -> [Tensor?] {
        let (ga, gb): (Tensor, Tensor)
        switch function {
        case .add: (ga, gb) = (g, g)
        case .subtract: (ga, gb) = (g, try -g)
        case .multiply: (ga, gb) = (try g * b, try g * a)
        case .divide: (ga, gb) = (try g / b, try -(g * output / b))
        case .power:
            // d(a^b)/da = b·a^(b−1); d(a^b)/db = a^b·log(a) (only evaluated when b needs a gradient).
            (ga, gb) = (try g * b * a.pow(b - 1), try g * output * a.log())
        case .maximum:
            // Ties send the gradient to `a`.
            let bWins = try b.greater(a)
            (ga, gb) = (try g * (1 - bWins), try g * bWins)
        case .minimum:
            let aWins = try b.greater(a)
            (ga, gb) = (try g * aWins, try g * (1 - aWins))
        case .equal, .greater:
            return [nil, nil]
        }
        return [try ga.sum(to: a.shape), try gb.sum(to: b.shape)]
    }

    private func reductionGradient(_ reduction: Reduction, axes: [Int], x: Tensor, y: Tensor, g: Tensor) throws -> Tensor {
        var kept = x.shape.dimensions
        for axis in axes { kept[axis] = 1 }
        let gKept = try g.reshaped(Shape(kept))
        switch reduction {
        case .sum:
            return try gKept.broadcast(to: x.shape)
        case .mean:
            let count = axes.reduce(1) { $0 * x.shape[$1] }
            return try (gKept / Double(count)).broadcast(to: x.shape)
        case .max:
            // Ties share the gradient equally, as in PyTorch's amax.
            let isMax = try x.equal(y.reshaped(Shape(kept)))
            let ties = try isMax.sum(axes: axes, keepDimensions: true)
            return try isMax * (gKept / ties)
        }
    }

    private func matmulGradients(transposeA: Bool, transposeB: Bool, a: Tensor, b: Tensor, g: Tensor) throws -> [Tensor?] {
        // With C = op(A)·op(B): dop(A) = G·op(B)ᵀ and dop(B) = op(A)ᵀ·G, written back in each operand's stored layout.
        switch (transposeA, transposeB) {
        case (false, false):
            return [try g.matmul(b, transposeOther: true), try a.matmul(g, transposeSelf: true)]
        case (false, true):
            return [try g.matmul(b), try g.matmul(a, transposeSelf: true)]
        case (true, false):
            return [try b.matmul(g, transposeOther: true), try a.matmul(g)]
        case (true, true):
            return [try b.matmul(g, transposeSelf: true, transposeOther: true), try g.matmul(a, transposeSelf: true, transposeOther: true)]
        }
    }
}
