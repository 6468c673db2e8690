// The elementwise family: fill, dropout masks, every unary function and its gradient, every binary function
// with and without broadcasting and the gradients of the differentiable ones through the graph, one-hot and
// bias addition, over awkward shapes (1, primes, around the work-group size of 64 and the 128-element runs of
// the OpenCL row kernels). Tolerances: `.exact` where nothing is computed (fill, masks whose keep scale is exact
// in Float32, comparisons, one-hot); `.elementwise` for float32 math; `.accumulation` for gradients summed
// over broadcast axes.
import KilnCore

extension OpCatalog {
    /// The unary functions the catalog covers, each forward and as a gradient: every one the engine defines.
    public static let unaryFunctions = UnaryFunction.all
    /// The activations the GEMM and convolution epilogues fuse, which the linear and fused convolution cases cover.
    public static var fusibleActivations: [UnaryFunction] { unaryFunctions.filter(\.isFusibleActivation) }
    /// The binary functions the catalog covers.
    public static let binaryFunctions: [BinaryFunction] = [
        .add, .subtract, .multiply, .divide, .power, .maximum, .minimum, .equal, .greater,
    ]

    static var elementwise: [OpCase] {
        fill + dropoutMasks + unary + unaryGradients + binary + binaryGradients + oneHot + biasAdd
    }

    /// Whether the `index`th case of a sweep over `shape` joins the quick set: the first `count` with at most
    /// `limit` elements.
    static func quick(_ shape: Shape, index: Int, count: Int = 3, limit: Int = 4_096) -> OpCase.Tier {
        index < count && shape.count <= limit ? .quick : .standard
    }

    private static var fill: [OpCase] {
        var random = RandomSource(seed: 1)
        return ([Shape([])] + AwkwardShapes.shapes(24, using: &random)).enumerated().map { index, shape in
            let value = Double(Float(Double.random(in: -100...100, using: &random)))
            return OpCase(.fill(value: value, shape: shape), [], tolerance: .exact, tier: quick(shape, index: index))
        }
    }

    /// Probabilities whose keep scale 1 / (1 − p) is exact in Float32 (bit-exact masks), then any probability on
    /// long masks, where the kept value is Float32(1 / (1 − p)).
    private static var dropoutMasks: [OpCase] {
        var random = RandomSource(seed: 2)
        let probabilities = [0, 0.5, 0.75, 0.875, 0.9375]
        let exact = AwkwardShapes.shapes(24, using: &random).enumerated().map { index, shape in
            OpCase(
                .dropoutMask(probability: probabilities[index % probabilities.count], seed: random.next(), shape: shape), [],
                tolerance: .exact, tier: quick(shape, index: index))
        }
        let long = [(0.1, UInt64(7)), (0.3, 0xDEAD_BEEF_0123_4567), (0.37, UInt64.max), (0.999, 42)].map { probability, seed in
            OpCase(.dropoutMask(probability: probability, seed: seed, shape: [100_003]), [], tolerance: .elementwise)
        }
        return exact + long
    }

    /// Inputs for `function`: positive for log and sqrt; otherwise wide enough to reach both tails of sigmoid,
    /// tanh, softplus, erf, GELU and SiLU, with exact zeros to pin the kinks (relu'(0) = 0, abs'(0) = 0).
    private static func unaryInput(_ function: UnaryFunction, _ shape: Shape) -> SeededInput {
        switch function {
        case .log, .sqrt: SeededInput(shape, .uniform(0.01...5))
        default: SeededInput(shape, .uniformWithZeros(-12...12))
        }
    }

    private static func unaryShapes(seed: UInt64) -> [Shape] {
        var random = RandomSource(seed: seed)
        return [Shape([])] + AwkwardShapes.shapes(22, using: &random)
    }

    private static var unary: [OpCase] {
        unaryFunctions.flatMap { function in
            unaryShapes(seed: 3).enumerated().map { index, shape in
                OpCase(.unary(function), [unaryInput(function, shape)], tolerance: .elementwise, tier: quick(shape, index: index))
            }
        }
    }

    /// Every gradient on the sweep, and the kinks as the design fixes them: relu'(0) = 0, abs'(0) = 0, leakyRelu'(0) = slope.
    private static var unaryGradients: [OpCase] {
        let sweep = unaryFunctions.flatMap { function in
            unaryShapes(seed: 4).enumerated().map { index, shape in
                OpCase(
                    .unaryGradient(function), [unaryInput(function, shape), SeededInput(shape, .uniform(-2...2))], tolerance: .elementwise,
                    tier: quick(shape, index: index))
            }
        }
        let kinks = [UnaryFunction.relu, .abs, .leakyRelu(slope: 0.5)].map { function in
            OpCase(
                .unaryGradient(function), [SeededInput([3], .fixed([0, 0, 0])), SeededInput([3], .fixed([1, 2, -3]))], tolerance: .exact,
                tier: .quick)
        }
        return sweep + kinks
    }

    /// Operand values for `function`: positive bases for power, divisors away from 0, and few distinct values for
    /// the comparisons, maximum and minimum so that ties occur.
    private static func binaryInputs(_ function: BinaryFunction, _ a: Shape, _ b: Shape) -> [SeededInput] {
        switch function {
        case .power: [SeededInput(a, .uniform(0.1...3)), SeededInput(b, .uniform(-3...3))]
        case .divide: [SeededInput(a, .uniform(-4...4)), SeededInput(b, .awayFromZero(0.25...4))]
        case .equal, .greater, .maximum, .minimum: [SeededInput(a, .levels([-1, 0, 0.5, 1])), SeededInput(b, .levels([-1, 0, 0.5, 1]))]
        default: [SeededInput(a, .uniform(-4...4)), SeededInput(b, .uniform(-4...4))]
        }
    }

    /// Operands of the output's shape (the plain kernel) and broadcast ones (missing leading axes, axes of size 1
    /// on either side, scalars); one-element operands (the scalar kernel); per-channel and per-row operands (the
    /// row kernels, rows of 1, primes and around the 128-element run); and negative bases with whole exponents.
    private static var binary: [OpCase] {
        var random = RandomSource(seed: 5)
        let sweep: [[(Shape, Shape)]] = binaryFunctions.map { _ in
            AwkwardShapes.shapes(24, using: &random).enumerated().map { index, shape in
                switch index % 4 {
                case 0: (shape, shape)
                case 1: (AwkwardShapes.broadcastOperand(of: shape, using: &random), shape)
                case 2: (shape, AwkwardShapes.broadcastOperand(of: shape, using: &random))
                default:
                    (AwkwardShapes.broadcastOperand(of: shape, using: &random), AwkwardShapes.broadcastOperand(of: shape, using: &random))
                }
            }
        }
        let mutual: [(Shape, Shape)] = [
            ([13, 1], [1, 65]), ([7, 1, 3], [31, 1]), ([], []), ([1], [64, 1, 2]), ([2, 1, 3, 1], [1, 5, 1, 7]),
        ]
        let scalars: [(Shape, Shape)] = [
            ([], [128, 31]), ([7, 13], []), ([1, 1], [3, 65]), ([63], [1]), ([1], [1]), ([], [1]), ([64], [1, 1]),
        ]
        let run = 128
        let channels: [(Shape, Shape)] = [
            ([2, 3, 5, 7], [1, 3, 1, 1]), ([1, 7, 1, 127], [1, 7, 1, 1]), ([3, 2, 1, run], [2, 1, 1]), ([2, 5, run + 1], [5, 1]),
            ([13, run - 1], [13, 1]), ([2, 13, 2 * run + 1], [13, 1]), ([1, 2, 2 * run], [1, 2, 1]), ([3, 31, 2, 2], [1, 31, 1, 1]),
            ([2, 2, 1, 1, 3, 5], [2, 1, 1, 1, 1]),
        ]
        let rows: [(Shape, Shape)] = [
            ([5, 127], [127]), ([3, run], [1, run]), ([2, run + 1], [run + 1]), ([31, 1, 2 * run + 1], [2 * run + 1]),
            ([64, 3, 1, 1], [1, 3, 1, 1]), ([3, 7, 2], [7, 2]), ([1, 7, 2], [1, 1, 2]), ([2, 2], [1, 2]), ([65, 10], [10]),
        ]
        let rowPatterns = (channels + rows).flatMap { full, small in [(full, small), (small, full)] }
        var cases: [OpCase] = []
        for (function, shapes) in zip(binaryFunctions, sweep) {
            for (index, (a, b)) in (shapes + mutual + scalars + rowPatterns).enumerated() {
                let outputs = (try? Op.binary(function).outputShape(for: [a, b]))?.count ?? 0
                let tier: OpCase.Tier = [0, 1, 2, 3, 25, 27, 35, 36, 37, 55].contains(index) && outputs <= 4_096 ? .quick : .standard
                cases.append(OpCase(.binary(function), binaryInputs(function, a, b), tolerance: .elementwise, tier: tier))
            }
        }
        // C's pow gives a finite, signed result for a negative base and a whole exponent.
        for count in [7, 64, 65] {
            cases.append(
                OpCase(
                    .binary(.power),
                    [SeededInput([count], .uniform(-3 ... -0.1)), SeededInput([count], .levels([-3, -2, -1, 0, 1, 2, 3, 4]))],
                    tolerance: .elementwise, tier: count == 65 ? .quick : .standard))
        }
        return cases
    }

    /// The gradients of `Σ r · f(a, b)` with respect to both operands, through the graph: the elementwise
    /// gradient rules and the sums over broadcast axes they end in. Inputs are (a, b, r); values away from the
    /// kinks of maximum and minimum (no ties), positive bases for power.
    private static var binaryGradients: [OpCase] {
        let pairs: [(Shape, Shape)] = [
            ([13, 1], [1, 65]), ([7, 1, 3], [31, 1]), ([], [5, 4]), ([64, 3], [3]), ([2, 3, 4], [2, 3, 4]), ([1], [1]),
        ]
        let differentiable: [BinaryFunction] = [.add, .subtract, .multiply, .divide, .power, .maximum, .minimum]
        return differentiable.flatMap { function in
            pairs.enumerated().map { index, pair in
                let (a, b) = pair
                let output = (try? Op.binary(function).outputShape(for: [a, b])) ?? a
                // The largest sum over broadcast axes: an operand of one element gathers every output.
                let terms = output.count / Swift.max(1, Swift.min(a.count, b.count))
                let operands: [SeededInput] =
                    switch function {
                    case .power: [SeededInput(a, .uniform(0.5...2)), SeededInput(b, .uniform(-2...2))]
                    case .divide: [SeededInput(a, .uniform(-2...2)), SeededInput(b, .awayFromZero(0.5...2))]
                    default: [SeededInput(a, .uniform(-2...2)), SeededInput(b, .uniform(-2...2))]
                    }
                return OpCase(
                    graph: "\(function)_gradients", summary: "d/da, d/db of Σ r · \(function)(a, b)", operands + [SeededInput(output)],
                    tolerance: .accumulation(terms: terms), tier: index < 2 ? .quick : .standard
                ) { tensors in
                    let (a, b, r) = (tensors[0], tensors[1], tensors[2])
                    let loss = try (Tensor.apply(.binary(function), [a, b]) * r).sum()
                    return try gradients(of: loss, withRespectTo: [a, b])
                }
            }
        }
    }

    /// Labels as floats, including out-of-range (−1, classes, classes + 3), fractional and NaN ones: zero rows.
    private static var oneHot: [OpCase] {
        let lengths = AwkwardShapes.vectorLengths + [2, 3, 5, 100, 1000, 4, 9, 17, 33]
        let classes = [1, 2, 3, 7, 10, 13, 63, 64, 65, 127]
        return lengths.enumerated().map { index, length in
            let count = classes[index % classes.count]
            return OpCase(
                .oneHot(classes: count), [SeededInput([length], .labels(classes: count, invalidEvery: 5))], tolerance: .exact,
                tier: quick([length, count], index: index, count: 4))
        }
    }

    private static var biasAdd: [OpCase] {
        var random = RandomSource(seed: 8)
        var shapes: [Shape] = [[1, 1], [1, 64], [65, 3], [2, 7, 13, 13], [3, 64, 1], [1, 1, 1, 257]]
        while shapes.count < 24 {
            shapes.append(AwkwardShapes.randomShape(using: &random, rank: Int.random(in: 2...4, using: &random)))
        }
        return shapes.enumerated().map { index, shape in
            OpCase(
                .biasAdd, [SeededInput(shape, .uniform(-4...4)), SeededInput([shape[1]], .uniform(-4...4))], tolerance: .elementwise,
                tier: quick(shape, index: index))
        }
    }
}
