// The update family: every optimizer update rule and its options (momentum, Nesterov, weight decay, Adam's
// moments and step) over awkward lengths, not multiples of the 8 lanes an OpenCL work item takes. Tolerance
// `.elementwise`: a few float32 operations per element. Then each rule that reads a gradient with the gradient's rows
// to sum (1, 7 and 64 rows: a bias's gradient over a batch, as plans fold it in), tolerance `.accumulation` over the
// rows: a device may sum them in another order than the reference.
import KilnCore

extension OpCatalog {
    /// The update rules the catalog covers, with their options.
    public static let updateRules: [UpdateRule] = [
        .momentumBuffer(momentum: 0.9, weightDecay: 0), .momentumBuffer(momentum: 0.5, weightDecay: 0.01),
        .sgdParameter(momentum: 0, nesterov: false, weightDecay: 0), .sgdParameter(momentum: 0, nesterov: false, weightDecay: 1e-3),
        .sgdParameter(momentum: 0.9, nesterov: false, weightDecay: 0), .sgdParameter(momentum: 0.9, nesterov: true, weightDecay: 5e-4),
        .adamMoment(beta: 0.9, squared: false, weightDecay: 0), .adamMoment(beta: 0.999, squared: true, weightDecay: 0.01),
        .adamParameter(epsilon: 1e-8),
    ]

    static var update: [OpCase] {
        var random = RandomSource(seed: 31)
        // [lr, 1/(1−β₁²), 1/√(1−β₂²)]: Adam's scalars at step 2.
        let scalars = [0.05, 1 / (1 - 0.81), 1 / (1 - 0.998001).squareRoot()]
        /// `rule`'s inputs: `tensor(position)` for each tensor, then the scalars where the rule takes them.
        func inputs(_ rule: UpdateRule, _ tensor: (Int) -> SeededInput) -> [SeededInput] {
            let tensors = rule.takesScalars ? rule.arity - 1 : rule.arity
            let perStep = SeededInput([rule.scalarCount], .fixed(Array(scalars.prefix(rule.scalarCount))))
            return (0..<tensors).map(tensor) + (rule.takesScalars ? [perStep] : [])
        }
        let rules = updateRules.flatMap { rule in
            AwkwardShapes.shapes(14, using: &random).enumerated().map { index, shape in
                // Adam's second moment (input 2 of adamParameter) is a mean of squares: never negative.
                OpCase(
                    .update(rule), inputs(rule) { SeededInput(shape, .uniform($0 == 2 && rule.isAdamParameter ? 0...4 : -2...2)) },
                    tolerance: .elementwise, tier: quick(shape, index: index, count: 2))
            }
        }
        let summedRows = updateRules.flatMap { rule -> [OpCase] in
            guard let gradient = rule.gradientInput else { return [] }
            return [(1, Shape([13])), (7, Shape([3, 5])), (64, Shape([10])), (64, Shape([257]))].map { rows, shape in
                OpCase(
                    .update(rule),
                    inputs(rule) { SeededInput($0 == gradient ? Shape([rows] + shape.dimensions) : shape, .uniform(-2...2)) },
                    tolerance: .accumulation(terms: rows), tier: rows == 64 && shape.count > 100 ? .standard : .quick)
            }
        }
        return rules + summedRows
    }
}

extension UpdateRule {
    fileprivate var isAdamParameter: Bool {
        if case .adamParameter = self { return true }
        return false
    }
}
