// Op: the operations of the graph and their attributes. What each one means (shape rule, gradient, reference
// loops, decomposition) is declared once per family in Ops/*.swift; `Op.definition` maps each case to it.

/// An operation of the graph. Inputs are listed on each case; the output is one tensor. Ops outside the minimal set
/// (`isMinimal`) have a decomposition into simpler ops, which runs on backends that do not implement them. An axis
/// may be given negative (counted from the end): `Tensor.apply` normalises it before the node is made.
public enum Op: Hashable, Sendable {
    /// A leaf whose data was written by the user. Never executed.
    case data
    /// A tensor of `shape` with every element `value`. No inputs.
    case fill(value: Double, shape: Shape)
    /// Elementwise function of one input `x`.
    case unary(UnaryFunction)
    /// Inputs `(x, dy)`: `dy * f'(x)`, the gradient of a unary function.
    case unaryGradient(UnaryFunction)
    /// Inputs `(a, b)` broadcast against each other (NumPy rules).
    case binary(BinaryFunction)
    /// Input `x`: the same elements in a new shape with the same count.
    case reshape(Shape)
    /// Input `x`: copied into `shape`, which `x` broadcasts to.
    case broadcast(Shape)
    /// Input `x`: axes permuted, `output.dims[i] = x.dims[permutation[i]]`.
    case transpose(permutation: [Int])
    /// Input `x`: elements `start ..< start + length` along `axis`.
    case slice(axis: Int, start: Int, length: Int)
    /// Input `x`: zero-padded along `axis` by `before` and `after` elements (the gradient of `slice`).
    case pad(axis: Int, before: Int, after: Int)
    /// Inputs `x0, x1, ...`: joined along `axis`.
    case concatenate(axis: Int)
    /// Input `x`: reduced over the sorted, distinct `axes`.
    case reduce(Reduction, axes: [Int], keepDimensions: Bool)
    /// Input `x`: the index (as a float, like labels) of the first maximum along `axis`, which is removed from the
    /// shape; a negative axis counts from the end. NaN counts as larger than every number, so a row holding NaN gives
    /// the index of its first NaN (NumPy's and PyTorch's rule). No gradient.
    case argMax(axis: Int)
    /// Input `x`: softmax along `axis`, computed with the maximum subtracted.
    case softmax(axis: Int)
    /// Input `x`: log-softmax along `axis`, computed with the maximum subtracted.
    case logSoftmax(axis: Int)
    /// Inputs `(a, b)`, rank 2 (`[M, K] x [K, N]`) or rank 3 with equal batch (`[B, M, K] x [B, K, N]`);
    /// a transposed operand is stored with its last two axes swapped.
    case matmul(transposeA: Bool, transposeB: Bool)
    /// Inputs `(x [N, C, ...], b [C])`: `b` added along axis 1.
    case biasAdd
    /// Inputs `(a, b, bias [N])`, rank 2: `activation(op(a) · op(b) + bias)`, the fused form of matmul, bias add and
    /// a fusible activation (`UnaryFunction.isFusibleActivation`: relu, leaky ReLU, sigmoid, tanh, GELU, SiLU) that plans create.
    case linear(transposeA: Bool, transposeB: Bool, activation: UnaryFunction?)
    /// Inputs `(a, b, x)`, rank 2: `op(a) · op(b) ⊙ activation'(x)`, the fused form of a matmul and the fusible
    /// activation's gradient (`unaryGradient`) that alone reads it, which plans create: the gradient that flows back
    /// through a dense layer into the activation before it.
    case linearGradient(transposeA: Bool, transposeB: Bool, activation: UnaryFunction)
    /// Inputs `(x [N, C, H, W], w [O, C/groups, KH, KW])` and optionally `b [O]`: cross-correlation.
    case conv2d(Convolution2D)
    /// Inputs `(dy [N, O, OH, OW], w [O, C/groups, KH, KW])`: the gradient with respect to the input,
    /// of shape `inputShape`. It is also the transposed convolution.
    case conv2dBackwardInput(Convolution2D, inputShape: Shape)
    /// Inputs `(x [N, C, H, W], dy [N, O, OH, OW])`: the gradient with respect to the weight, of shape `weightShape`.
    case conv2dBackwardWeight(Convolution2D, weightShape: Shape)
    /// Input `x [N, C, H, W]`: max over each window; padding never wins. Every window holds at least one
    /// input element (the shape rule rejects attributes that would make a window of padding only).
    case maxPool2d(Pooling2D)
    /// Inputs `(x, dy)`: `dy` routed to the first maximum of each window in row-major window order.
    case maxPool2dBackward(Pooling2D)
    /// Input `x [N, C, H, W]`: mean over each window.
    case avgPool2d(Pooling2D)
    /// Input `dy`: the gradient of average pooling, of shape `inputShape`.
    case avgPool2dBackward(Pooling2D, inputShape: Shape)
    /// Inputs `(z [N, 4H], cPrev [N, H])`, gates in the order i, f, g, o:
    /// output `[N, 2H]` holding `h` in columns `0..<H` and `c` in `H..<2H`.
    case lstmCell
    /// Inputs `(z [N, 4H], cPrev [N, H], state [N, 2H], dState [N, 2H])`, where `state` is `lstmCell`'s
    /// output and `dState` its gradient: output `[N, 5H]` holding `dz` in `0..<4H` and `dcPrev` in `4H..<5H`.
    case lstmCellBackward
    /// Inputs `(x [T, N, I], h0 [N, H], c0 [N, H], weightIH [4H, I], weightHH [4H, H], bias [4H])`, where `bias` is
    /// `b_ih + b_hh`: a whole LSTM layer over `T` steps (gates i, f, g, o). Output `[6T + 2, N, H]`, blocks of `[N, H]`:
    /// `0...T` hold `h0, h_0, ..., h_{T−1}`, `T + 1 ... 2T + 1` hold `c0, c_0, ..., c_{T−1}`, and block
    /// `2T + 2 + 4t + k` holds gate `k`'s activation at step `t`, which the backward reuses.
    case lstmSequence
    /// Inputs `(weightHH [4H, H], state, dState)`, where `state [6T + 2, N, H]` is `lstmSequence`'s output and
    /// `dState` its gradient: output `[T·N·4H + 2·N·H]` holding the gate pre-activation gradients `dz [T, N, 4H]`, then
    /// `dh0 [N, H]` and `dc0 [N, H]`. The gradients of `x`, the weights and the bias are products of `dz` in the graph.
    case lstmSequenceBackward
    /// Input `labels [N]` holding class indices as floats: output `[N, classes]` of zeros and ones.
    /// A label that is not an integer in `0..<classes` (or is NaN) gives a zero row.
    case oneHot(classes: Int)
    /// A dropout mask of `shape`: each element is `0` with probability `probability`, else `1 / (1 - probability)`.
    /// Element `i` is dropped when `DropoutHash.bits(seed:index:) < DropoutHash.threshold(probability:)`,
    /// identical on every backend.
    case dropoutMask(probability: Double, seed: UInt64, shape: Shape)
    /// Inputs `(logits [N, C], labels [N])`, labels as class indices in floats: output `[N]` holding each
    /// row's `logsumexp(logits[n]) − logits[n, label]` (computed with the maximum subtracted); a label that is
    /// not a whole number in `0..<C` gives 0, as `−Σ logSoftmax · oneHot` does.
    case softmaxCrossEntropy
    /// Inputs `(logits [N, C], labels [N], dy [N])`: output `[N, C]`, `dy[n] · (softmax(logits[n]) − oneHot(label))`,
    /// or zeros for a row whose label is invalid.
    case softmaxCrossEntropyBackward
    /// An optimizer's elementwise update of one tensor in one launch; see `UpdateRule` for the inputs.
    /// The output replaces `inputs[0]`, and plans write it in place.
    case update(UpdateRule)
    /// Input `x [N, C, ...]` (rank 2 or more): output `[2, C]`, each channel's (axis 1's) mean in row 0 and biased
    /// variance (the mean squared deviation from the mean) in row 1, over every other axis: batch normalisation's
    /// statistics in training.
    case batchMoments
    /// Inputs `(x [N, C, ...], moments [2, C], dMoments [2, C])`, `moments` being `batchMoments(x)`: the gradient of
    /// `batchMoments`, `dMean / n + 2 (x − mean) dVariance / n` with `n` the values per channel.
    case batchMomentsBackward
    /// Inputs `(x [N, C, ...], moments [2, C], weight [C], bias [C])`: `(x − mean) · weight / √(variance + epsilon) + bias`
    /// per channel (axis 1), the mean and variance read from `moments`.
    case batchNormalize(epsilon: Double)
    /// Inputs `(x [N, C, ...], moments [2, C], dy)`: output `[2, C]`, each channel's `Σ dy` in row 0 and
    /// `Σ dy · (x − mean) / √(variance + epsilon)` in row 1: the sums `batchNormalize`'s gradients are made of.
    case batchNormSums(epsilon: Double)
    /// Inputs as `conv2d`: `activation(conv2d(x, w, b))` (a fusible activation) in one launch
    /// where the backend can, the fused form plans create.
    case fusedConv2d(Convolution2D, activation: UnaryFunction)
}
