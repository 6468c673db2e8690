// ConvolutionGeometry: one convolution's shapes and the op cases the convolution kernel tests check on it.
// Tolerances: `.accumulation(terms:)` for float32 sums in another order than the reference's Double ones:
// C/G·KH·KW products (+ bias) per output, O/G·KH·KW per input-gradient element, N·OH·OW per weight-gradient
// element.
import Kiln
import KilnTestSupport

struct ConvolutionGeometry: CustomStringConvertible {
    var attributes: Convolution2D
    var input: Shape
    var weight: Shape
    var output: Shape
    var description: String { "x \(input) w \(weight) \(attributes)" }

    /// conv2d (fusedConv2d with `activation`) of random x and w, plus a random bias when `bias`.
    func forwardCase(_ generator: inout SeededGenerator, bias: Bool, activation: UnaryFunction? = nil) -> OpCase {
        var inputs = [CaseInput(input, generator.values(input.count)), CaseInput(weight, generator.values(weight.count))]
        if bias { inputs.append(CaseInput([weight[0]], generator.values(weight[0]))) }
        let op: Op = activation.map { .fusedConv2d(attributes, activation: $0) } ?? .conv2d(attributes)
        return OpCase(op, inputs, tolerance: .accumulation(terms: weight[1] * weight[2] * weight[3] + 1))
    }

    /// The input gradient for a random dy and w.
    func inputGradientCase(_ generator: inout SeededGenerator) -> OpCase {
        let inputs = [CaseInput(output, generator.values(output.count)), CaseInput(weight, generator.values(weight.count))]
        let terms = weight[0] / attributes.groups * weight[2] * weight[3]
        return OpCase(.conv2dBackwardInput(attributes, inputShape: input), inputs, tolerance: .accumulation(terms: terms))
    }

    /// The weight gradient for a random x and dy.
    func weightGradientCase(_ generator: inout SeededGenerator) -> OpCase {
        let inputs = [CaseInput(input, generator.values(input.count)), CaseInput(output, generator.values(output.count))]
        return OpCase(
            .conv2dBackwardWeight(attributes, weightShape: weight), inputs, tolerance: .accumulation(terms: output[0] * output[2] * output[3]))
    }
}
