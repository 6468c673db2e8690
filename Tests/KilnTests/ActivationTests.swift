// Activations end to end: every activation the engine defines (UnaryFunction.all's fusible functions, so a new one is
// covered without a line here) is a model-string token that builds an activation layer, and fuses into the matrix
// product's and the convolution's epilogue on every device, giving what the unfused ops give in Double.
import Kiln
import KilnTestSupport
import XCTest

final class ActivationTests: XCTestCase {
    static let activations = UnaryFunction.all.filter(\.isFusibleActivation)

    func testEveryActivationIsAModelStringToken() throws {
        XCTAssertEqual(ModelSpec.activationTokens, ["relu", "leakyrelu", "sigmoid", "tanh", "gelu", "gelutanh", "silu"])
        let device = Device(ReferenceBackend<Float>())
        for (token, function) in zip(ModelSpec.activationTokens, Self.activations) {
            var random = RandomSource(seed: 3)
            let model = try ModelSpec("flatten-dense5-\(token)-dense3").build(inputShape: [2, 2], random: &random, on: device)
            let layer = try XCTUnwrap(model.layers[2] as? Activation, token)
            let x = try Tensor((0..<20).map { Float($0) / 5 - 2 }, shape: [4, 5], on: device)
            // The layer applies the function the token names (relu, leaky ReLU, sigmoid and tanh keep their own cases).
            let expected = try Tensor.apply(.unary(token == "leakyrelu" ? .leakyRelu(slope: 0.2) : function), [x]).floats()
            XCTAssertEqual(try layer(x).floats(), expected, token)
        }
        var random = RandomSource(seed: 3)
        XCTAssertThrowsError(try ModelSpec("flatten-dense5-swish").build(inputShape: [4], random: &random, on: device)) { error in
            XCTAssertTrue("\(error)".contains("gelutanh, silu"), "\(error)")
        }
        XCTAssertThrowsError(try ModelSpec("flatten-dense5-gelu2").build(inputShape: [4], random: &random, on: device))
    }

    /// An evaluation plan (no gradients, so nothing else reads the pre-activations) fuses each activation into
    /// `conv2d_<activation>` and `linear`, on the reference backend in Float and every OpenCL device.
    func testEveryActivationFusesIntoProductsAndConvolutions() throws {
        var random = RandomSource(seed: 5)
        let values = (
            x: random.values(2 * 3 * 6 * 6, in: -2...2), w: random.values(4 * 3 * 3 * 3), b: random.values(4),
            w2: random.values(5 * 144, in: -0.3...0.3), b2: random.values(5)
        )
        func network(_ activation: UnaryFunction, _ x: Tensor, on device: Device) throws -> Tensor {
            let w = try Tensor(values.w, shape: [4, 3, 3, 3], on: device)
            let b = try Tensor(values.b, shape: [4], on: device)
            let hidden = try Tensor.apply(.unary(activation), [x.conv2d(weight: w, bias: b, padding: [1, 1, 1, 1])]).reshaped([2, 144])
            let dense = try hidden.linear(
                weight: Tensor(values.w2, shape: [5, 144], on: device), bias: Tensor(values.b2, shape: [5], on: device))
            return try Tensor.apply(.unary(activation), [dense])
        }
        let reference = Device(ReferenceBackend<Double>())
        let tolerance = Tolerance.accumulation(terms: 144 + 27)
        for backend in TestDevices.all {
            let device = Device(backend)
            for activation in Self.activations {
                let expected = try network(activation, Tensor(values.x, shape: [2, 3, 6, 6], on: reference), on: reference).doubles()
                let x = try Tensor([Float](repeating: 0, count: values.x.count), shape: [2, 3, 6, 6], on: device)
                let plan = try Plan(inputs: [x], outputs: [network(activation, x, on: device)], updates: [])
                XCTAssertEqual(
                    plan.report.fusions.sorted(),
                    ["1× conv2d+\(activation) → conv2d_\(activation)", "1× matmul+bias_add+\(activation) → linear"],
                    "\(activation) on \(backend.name)")
                try plan.run([values.x.map(Float.init)])
                assertClose(try plan.output(0).map(Double.init), expected, tolerance, "\(activation) on \(backend.name)")
            }
        }
    }
}
