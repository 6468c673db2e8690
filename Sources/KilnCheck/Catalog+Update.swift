// The update family: every optimizer update rule and its options (momentum, Nesterov, weight decay, Adam's
// moments and step) over awkward lengths, not multiples of the 8 lanes an OpenCL work item takes. Tolerance
// `.elementwise`: a few float32 operations per element.
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
        return updateRules.flatMap { rule in
            AwkwardShapes.shapes(14, using: &random).enumerated().map { index, shape in
                let tensors = rule.takesScalars ? rule.arity - 1 : rule.arity
                var inputs = (0..<tensors).map { position in
                    // Adam's second moment (input 2 of adamParameter) is a mean of squares: never negative.
                    SeededInput(shape, .uniform(position == 2 && rule.isAdamParameter ? 0...4 : -2...2))
                }
                if rule.takesScalars { inputs.append(SeededInput([rule.scalarCount], .fixed(Array(scalars.prefix(rule.scalarCount))))) }
                return OpCase(.update(rule), inputs, tolerance: .elementwise, tier: quick(shape, index: index, count: 2))
            }
        }
    }
}

extension UpdateRule {
    fileprivate var isAdamParameter: Bool {
        if case .adamParameter = self { return true }
        return false
    }
}
