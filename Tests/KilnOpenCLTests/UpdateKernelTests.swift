// UpdateKernelTests: the optimizer update kernels of Kernels/elementwise.cl (op `update`) against the CPU
// reference, for every rule and its options, over awkward lengths (not multiples of the 8 lanes a work item takes).
import KilnCore
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

final class UpdateKernelTests: XCTestCase {
    static let rules: [UpdateRule] = [
        .momentumBuffer(momentum: 0.9, weightDecay: 0), .momentumBuffer(momentum: 0.5, weightDecay: 0.01),
        .sgdParameter(momentum: 0, nesterov: false, weightDecay: 0), .sgdParameter(momentum: 0, nesterov: false, weightDecay: 1e-3),
        .sgdParameter(momentum: 0.9, nesterov: false, weightDecay: 0), .sgdParameter(momentum: 0.9, nesterov: true, weightDecay: 5e-4),
        .adamMoment(beta: 0.9, squared: false, weightDecay: 0), .adamMoment(beta: 0.999, squared: true, weightDecay: 0.01),
        .adamParameter(epsilon: 1e-8),
    ]

    func testEveryRuleMatchesTheReference() throws {
        var generator = SeededGenerator(seed: 31)
        for rule in Self.rules {
            for shape in KernelTestShapes.shapes(14, using: &generator) {
                var inputs: [CaseInput] = []
                for index in 0..<(rule.takesScalars ? rule.arity - 1 : rule.arity) {
                    // Adam's second moment (input 2 of adamParameter) is a mean of squares: never negative.
                    let range: ClosedRange<Double> = (index == 2 && rule == .adamParameter(epsilon: 1e-8)) ? 0...4 : -2...2
                    inputs.append(CaseInput(shape, generator.values(shape.count, in: range)))
                }
                if rule.takesScalars {
                    // [lr, 1/(1−β₁²), 1/√(1−β₂²)]: Adam's scalars at step 2.
                    let corrections: [Double] = [1 / (1 - 0.81), 1 / (1 - 0.998001).squareRoot()]
                    let scalars = ([0.05] + corrections).map { Double(Float($0)) }
                    inputs.append(CaseInput([rule.scalarCount], Array(scalars.prefix(rule.scalarCount))))
                }
                try OpenCLTestDevice.check(OpCase(.update(rule), inputs, tolerance: .elementwise))
            }
        }
    }
}
