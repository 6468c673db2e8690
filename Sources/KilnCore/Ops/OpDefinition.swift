// OpDefinition: what one op is, declared in one place. Each op family's file in Ops/ holds, per op, its name,
// shape rule, gradient rule (a vector-Jacobian product written in ops), reference evaluation (the naive loops,
// generic over the float type, that define its semantics) and, for every op outside the minimal set, its
// decomposition into simpler ops. `Op.definition` is the one switch that maps each case to its definition;
// shape checks, autodiff, the reference backend and lowering all go through it.

/// One op described once.
protocol OpDefinition {
    /// The op's name as error messages and reports print it.
    var name: String { get }
    /// The output shape for the input shapes in `rule.shapes`, after checking the attributes and the input count
    /// and shapes; errors go through `rule`, so they start with `[name]` and print the shapes.
    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape
    /// The gradients with respect to each input given the output's gradient, written in ops (so backward graphs run
    /// on every backend); `nil` for an input that gets none. The default throws: higher-order gradients of the
    /// backward ops are not defined.
    func gradients(inputs: [Tensor], output: Tensor, gradient: Tensor) throws -> [Tensor?]
    /// What the op computes, as naive loops over row-major values (the reference backend's implementation).
    /// Shapes were checked by `outputShape`, so the input count and sizes match.
    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar]
    /// Whether each output element is computed from the same element of every input of the output's shape (and
    /// from other inputs), so that the output may overwrite such an input: plans write updates in place.
    var isElementwise: Bool { get }
}

extension OpDefinition {
    func gradients(inputs: [Tensor], output: Tensor, gradient: Tensor) throws -> [Tensor?] {
        throw TensorError.noGradient(op: name)
    }

    var isElementwise: Bool { false }
}

/// An op outside the minimal set: it can be written with simpler ops. A backend that does not implement it runs
/// the decomposition instead (recursively, until every op is one the backend implements).
protocol Decomposable: OpDefinition {
    /// The op applied to `inputs`, written with other ops; the result has the op's output shape. It may use other
    /// decomposable ops, but never, through them, itself.
    func decomposition(of inputs: [Tensor]) throws -> Tensor
}

extension Op {
    /// The op's definition: the one place that says what each case is.
    var definition: any OpDefinition {
        switch self {
        case .data: DataLeaf()
        case .fill(let value, let shape): Fill(value: value, shape: shape)
        case .dropoutMask(let probability, let seed, let shape): DropoutMask(probability: probability, seed: seed, shape: shape)
        case .unary(let function): Unary(function: function)
        case .unaryGradient(let function): UnaryGradient(function: function)
        case .binary(let function): Binary(function: function)
        case .reshape(let shape): Reshape(shape: shape)
        case .broadcast(let shape): Broadcast(shape: shape)
        case .transpose(let permutation): Transpose(permutation: permutation)
        case .slice(let axis, let start, let length): Slice(axis: axis, start: start, length: length)
        case .pad(let axis, let before, let after): Pad(axis: axis, before: before, after: after)
        case .concatenate(let axis): Concatenate(axis: axis)
        case .reduce(let reduction, let axes, let keep): Reduce(reduction: reduction, axes: axes, keepDimensions: keep)
        case .argMax(let axis): ArgMax(axis: axis)
        case .softmax(let axis): Softmax(axis: axis, logarithmic: false)
        case .logSoftmax(let axis): Softmax(axis: axis, logarithmic: true)
        case .matmul(let transposeA, let transposeB): Matmul(transposeA: transposeA, transposeB: transposeB)
        case .biasAdd: BiasAdd()
        case .linear(let transposeA, let transposeB, let activation):
            Linear(transposeA: transposeA, transposeB: transposeB, activation: activation)
        case .linearGradient(let transposeA, let transposeB, let activation):
            LinearGradient(transposeA: transposeA, transposeB: transposeB, activation: activation)
        case .conv2d(let attributes): Conv2D(attributes: attributes)
        case .fusedConv2d(let attributes, let activation): FusedConv2D(attributes: attributes, activation: activation)
        case .conv2dBackwardInput(let attributes, let inputShape): Conv2DBackwardInput(attributes: attributes, inputShape: inputShape)
        case .conv2dBackwardWeight(let attributes, let weightShape):
            Conv2DBackwardWeight(attributes: attributes, weightShape: weightShape)
        case .maxPool2d(let attributes): MaxPool2D(attributes: attributes)
        case .maxPool2dBackward(let attributes): MaxPool2DBackward(attributes: attributes)
        case .avgPool2d(let attributes): AvgPool2D(attributes: attributes)
        case .avgPool2dBackward(let attributes, let inputShape): AvgPool2DBackward(attributes: attributes, inputShape: inputShape)
        case .lstmCell: LSTMCell()
        case .lstmCellBackward: LSTMCellBackward()
        case .lstmSequence: LSTMSequence()
        case .lstmSequenceBackward: LSTMSequenceBackward()
        case .oneHot(let classes): OneHot(classes: classes)
        case .softmaxCrossEntropy: SoftmaxCrossEntropy()
        case .softmaxCrossEntropyBackward: SoftmaxCrossEntropyBackward()
        case .update(let rule): Update(rule: rule)
        case .batchMoments: BatchMoments()
        case .batchMomentsBackward: BatchMomentsBackward()
        case .batchNormalize(let epsilon): BatchNormalize(epsilon: epsilon)
        case .batchNormSums(let epsilon): BatchNormSums(epsilon: epsilon)
        }
    }

    /// The op's name as error messages and reports print it.
    public var name: String { definition.name }

    /// The output shape for `inputs`, after checking the op's attributes and the input count and shapes.
    public func outputShape(for inputs: [Shape]) throws(ShapeError) -> Shape {
        let rule = ShapeRule(op: name, shapes: inputs)
        try rule.require(inputs.allSatisfy { $0.dimensions.allSatisfy { $0 > 0 } }, "zero-sized or negative dimension")
        return try definition.outputShape(rule)
    }

    /// The gradients of the op's output with respect to each input, given the output's gradient `g`.
    /// `nil` means the input gets no gradient (constant, or zero almost everywhere).
    func vectorJacobianProduct(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        try definition.gradients(inputs: inputs, output: output, gradient: g)
    }

    /// The op's output on `inputs` (row-major values of `shapes`) computed by its reference loops, which define what it
    /// means. `outputShape` must be the shape rule's answer for `shapes`.
    public func evaluateReference<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], shapes: [Shape], outputShape: Shape) throws -> [Scalar] {
        try definition.evaluate(inputs, shapes, output: outputShape)
    }

    /// Whether the op belongs to the minimal set every backend implements: it has no decomposition. The set is `fill`,
    /// `dropoutMask`, every `unary` and `binary` function, the movement ops (`reshape`, `broadcast`, `transpose`,
    /// `slice`, `pad`, `concatenate`), `reduce` (sum, mean, max) and `matmul`; `data` and `reshape` never reach a backend.
    public var isMinimal: Bool { !(definition is any Decomposable) }

    /// The op applied to `inputs` written with simpler ops, or nil for an op of the minimal set.
    public func decomposition(of inputs: [Tensor]) throws -> Tensor? {
        guard let decomposable = definition as? any Decomposable else { return nil }
        return try decomposable.decomposition(of: inputs)
    }

    /// Whether the op's output may overwrite an input of its own shape: each output element is computed
    /// from the same element of such an input (and from other inputs), so no element is read after it is written.
    var writesInPlaceSafely: Bool { definition.isElementwise }
}
