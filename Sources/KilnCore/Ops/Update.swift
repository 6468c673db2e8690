// The optimizers' update rules (PyTorch's semantics), each one elementwise op that plans write in place, with its
// reference loop (in the order of operations the OpenCL kernels use) and its decomposition into arithmetic.

/// The elementwise update rules of the optimizers. `d = g + decay·p` is the gradient with weight decay; every rule's
/// first input is the tensor it replaces, of the output's shape. The gradient `g` (input 1 of every rule but
/// `adamParameter`) may carry one more leading axis of rows, which the update sums first exactly as `reduce_sum` over
/// axis 0 sums them on the same backend: plans fold a bias's gradient, the sum of the batch's rows, into its updates.
public enum UpdateRule: Hashable, Sendable {
    /// Inputs `(buffer, g, p)`: SGD's momentum buffer, `buffer·μ + d`.
    case momentumBuffer(momentum: Double, weightDecay: Double)
    /// Inputs `(p, g, scalars)` when `momentum` is 0, else `(p, g, buffer, scalars)` with the buffer's new
    /// value: `p − lr·step`, where step is `d`, the buffer, or `d + buffer·μ` (Nesterov); `lr = scalars[0]`.
    case sgdParameter(momentum: Double, nesterov: Bool, weightDecay: Double)
    /// Inputs `(m, g, p)`: an Adam moment, `m·β + d·(1 − β)`, or with `d·d` for the second moment (`squared`).
    case adamMoment(beta: Double, squared: Bool, weightDecay: Double)
    /// Inputs `(p, m, v, scalars)` with the moments' new values and `scalars = [lr, 1/(1−β₁ᵗ), 1/√(1−β₂ᵗ)]`:
    /// `p − lr·c₁·m / (√v·c₂ + ε)`.
    case adamParameter(epsilon: Double)

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

    /// The index of the gradient among the rule's inputs, nil for a rule that reads none.
    public var gradientInput: Int? {
        switch self {
        case .momentumBuffer, .sgdParameter, .adamMoment: 1
        case .adamParameter: nil
        }
    }

    /// Whether the rule is one of SGD's (the parameter's, or its momentum buffer's).
    public var isSGD: Bool {
        switch self {
        case .momentumBuffer, .sgdParameter: true
        case .adamMoment, .adamParameter: false
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

/// An optimizer's elementwise update of one tensor; see `UpdateRule` for the inputs. The output replaces `inputs[0]`.
struct Update: Decomposable {
    let rule: UpdateRule

    var name: String { rule.name }
    var isElementwise: Bool { true }

    func outputShape(_ shapeRule: ShapeRule) throws(ShapeError) -> Shape {
        let inputs = shapeRule.shapes
        try shapeRule.arity(rule.arity)
        let tensors = rule.takesScalars ? inputs.dropLast() : inputs[...]
        let matches = tensors.indices.allSatisfy { index in
            tensors[index] == inputs[0]
                || (index == rule.gradientInput && tensors[index].rank == inputs[0].rank + 1
                    && Array(tensors[index].dimensions.dropFirst()) == inputs[0].dimensions)
        }
        try shapeRule.require(
            matches, "every tensor must have the updated tensor's shape \(inputs[0]) (the gradient may add leading rows to sum)")
        if rule.takesScalars, let scalars = inputs.last {
            try shapeRule.require(scalars.rank == 1 && scalars[0] >= rule.scalarCount, "scalars must be [\(rule.scalarCount)] or longer")
        }
        return inputs[0]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let count = inputs[0].count
        var x = inputs
        if let gradient = rule.gradientInput, x[gradient].count != count {
            // Rows summed in order, as Reduce's loop sums axis 0.
            var sums = [Scalar](repeating: 0, count: count)
            for (index, value) in x[gradient].enumerated() { sums[index % count] += value }
            x[gradient] = sums
        }
        func decayed(_ i: Int, gradient: [Scalar], parameter: [Scalar], decay: Double) -> Scalar {
            decay == 0 ? gradient[i] : gradient[i] + parameter[i] * Scalar(decay)
        }
        switch rule {
        case .momentumBuffer(let momentum, let decay):
            let (buffer, gradient, parameter) = (x[0], x[1], x[2])
            return (0..<count).map { i in buffer[i] * Scalar(momentum) + decayed(i, gradient: gradient, parameter: parameter, decay: decay)
            }
        case .sgdParameter(let momentum, let nesterov, let decay):
            let (parameter, gradient) = (x[0], x[1])
            let rate = x[x.count - 1][0]
            return (0..<count).map { i in
                var step = decayed(i, gradient: gradient, parameter: parameter, decay: decay)
                if momentum != 0 { step = nesterov ? step + x[2][i] * Scalar(momentum) : x[2][i] }
                return parameter[i] - rate * step
            }
        case .adamMoment(let beta, let squared, let decay):
            let (moment, gradient, parameter) = (x[0], x[1], x[2])
            return (0..<count).map { i in
                let d = decayed(i, gradient: gradient, parameter: parameter, decay: decay)
                return moment[i] * Scalar(beta) + (squared ? d * d : d) * Scalar(1 - beta)
            }
        case .adamParameter(let epsilon):
            let (parameter, first, second, scalars) = (x[0], x[1], x[2], x[3])
            let (rate, firstCorrection, secondCorrection) = (scalars[0], scalars[1], scalars[2])
            return (0..<count).map { i in
                parameter[i] - rate * firstCorrection * first[i] / (second[i].squareRoot() * secondCorrection + Scalar(epsilon))
            }
        }
    }

    /// The same arithmetic in the same order, with the per-step scalars sliced out of their tensor.
    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        var x = inputs
        if let gradient = rule.gradientInput, x[gradient].shape != x[0].shape { x[gradient] = try x[gradient].sum(axes: [0]) }
        func decayed(gradient: Tensor, parameter: Tensor, decay: Double) throws -> Tensor {
            try decay == 0 ? gradient : gradient + parameter * decay
        }
        func scalar(_ index: Int) throws -> Tensor { try x[x.count - 1].slice(axis: 0, start: index, length: 1).reshaped([]) }
        switch rule {
        case .momentumBuffer(let momentum, let decay):
            return try x[0] * momentum + decayed(gradient: x[1], parameter: x[2], decay: decay)
        case .sgdParameter(let momentum, let nesterov, let decay):
            var step = try decayed(gradient: x[1], parameter: x[0], decay: decay)
            if momentum != 0 { step = try nesterov ? step + x[2] * momentum : x[2] }
            return try x[0] - scalar(0) * step
        case .adamMoment(let beta, let squared, let decay):
            let d = try decayed(gradient: x[1], parameter: x[2], decay: decay)
            return try x[0] * beta + (squared ? d * d : d) * (1 - beta)
        case .adamParameter(let epsilon):
            return try x[0] - scalar(0) * scalar(1) * x[1] / (x[2].sqrt() * scalar(2) + epsilon)
        }
    }
}
