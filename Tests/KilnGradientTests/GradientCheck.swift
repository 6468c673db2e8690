// The gradient check: autodiff through the graph against central finite differences, in Double on the
// reference backend.
import KilnCore
import KilnReference
import KilnTestSupport
import XCTest

enum GradientCheck {
    static let device = Device(ReferenceBackend<Double>())

    /// Checks `gradients(of:)` of `⟨r, f(x₀, x₁, ...)⟩` (a fixed random `r`, so any output shape works)
    /// against central differences at up to `samples` coordinates of each input.
    static func check(
        _ name: String, _ inputs: [HostTensor], seed: UInt64 = 1, samples: Int = 12,
        file: StaticString = #filePath, line: UInt = #line, _ function: ([Tensor]) throws -> Tensor
    ) throws {
        var generator = SeededGenerator(seed: seed)
        let tensors = try inputs.map { try Tensor($0.values, shape: $0.shape, on: device) }
        let output = try function(tensors)
        let weights = try Tensor(generator.values(output.shape.count), shape: output.shape, on: device)
        let loss = try (output * weights).sum()
        let analytic = try gradients(of: loss, withRespectTo: tensors).map { try $0.doubles() }

        func lossValue(_ values: [[Double]]) throws -> Double {
            let perturbed = try zip(inputs, values).map { try Tensor($1, shape: $0.shape, on: device) }
            return try (function(perturbed) * weights).sum().scalar()
        }
        let epsilon = 1e-6
        for (inputIndex, input) in inputs.enumerated() {
            let coordinates =
                input.values.count <= samples
                ? Array(0..<input.values.count)
                : (0..<samples).map { _ in Int.random(in: 0..<input.values.count, using: &generator) }
            var numeric: [Double] = []
            for k in coordinates {
                var plus = inputs.map(\.values)
                var minus = plus
                plus[inputIndex][k] += epsilon
                minus[inputIndex][k] -= epsilon
                numeric.append((try lossValue(plus) - lossValue(minus)) / (2 * epsilon))
            }
            assertClose(
                coordinates.map { analytic[inputIndex][$0] }, numeric, .finiteDifference,
                "\(name): gradient of input \(inputIndex) \(input.shape)", file: file, line: line)
        }
    }
}
