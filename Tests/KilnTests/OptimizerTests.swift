// Optimizers against PyTorch's algorithms written out in Double (torch.optim.SGD with momentum, dampening 0
// and optional Nesterov; torch.optim.Adam without amsgrad; both with L2 weight decay), on the CPU reference
// and on OpenCL, through a compiled plan whose updates run in place.
import Kiln
import KilnTestSupport
import XCTest

final class OptimizerTests: XCTestCase {
    /// A PyTorch optimizer's step on Double arrays.
    protocol TorchOptimizer {
        mutating func step(_ parameters: inout [[Double]], _ gradients: [[Double]], lr: Double)
    }

    /// PyTorch's SGD step on Double arrays.
    struct TorchSGD: TorchOptimizer {
        let momentum: Double
        let nesterov: Bool
        let decay: Double
        var buffers: [[Double]] = []

        mutating func step(_ parameters: inout [[Double]], _ gradients: [[Double]], lr: Double) {
            if buffers.isEmpty { buffers = parameters.map { [Double](repeating: 0, count: $0.count) } }
            for t in parameters.indices {
                for i in parameters[t].indices {
                    var d = gradients[t][i] + decay * parameters[t][i]
                    if momentum != 0 {
                        buffers[t][i] = momentum * buffers[t][i] + d
                        d = nesterov ? d + momentum * buffers[t][i] : buffers[t][i]
                    }
                    parameters[t][i] -= lr * d
                }
            }
        }
    }

    /// PyTorch's Adam step on Double arrays.
    struct TorchAdam: TorchOptimizer {
        let decay: Double
        let beta1 = 0.9
        let beta2 = 0.999
        let epsilon = 1e-8
        var m: [[Double]] = []
        var v: [[Double]] = []
        var t = 0

        mutating func step(_ parameters: inout [[Double]], _ gradients: [[Double]], lr: Double) {
            if m.isEmpty { (m, v) = (parameters.map { $0.map { _ in 0 } }, parameters.map { $0.map { _ in 0 } }) }
            t += 1
            let (correction1, correction2) = (1 - pow(beta1, Double(t)), 1 - pow(beta2, Double(t)))
            for p in parameters.indices {
                for i in parameters[p].indices {
                    let d = gradients[p][i] + decay * parameters[p][i]
                    m[p][i] = beta1 * m[p][i] + (1 - beta1) * d
                    v[p][i] = beta2 * v[p][i] + (1 - beta2) * d * d
                    let denominator = (v[p][i] / correction2).squareRoot() + epsilon
                    parameters[p][i] -= lr / correction1 * m[p][i] / denominator
                }
            }
        }
    }

    /// Four steps of `optimizer` on two parameters with fresh gradients each step, compared with `reference`.
    private func check(
        _ name: String, _ makeOptimizer: () -> any Optimizer, launchesPerParameter: Int, reference makeReference: () -> any TorchOptimizer
    ) throws {
        for device in try availableDevices() {
            let optimizer = makeOptimizer()
            var reference = makeReference()
            var generator = SeededGenerator(seed: 71)
            let shapes: [Shape] = [[7], [3, 5]]
            var expected = shapes.map { generator.values($0.count, in: -1...1).map { Double(Float($0)) } }
            let variables = try zip(expected, shapes).map { try Variable(Tensor($0.0.map(Float.init), shape: $0.1, on: device)) }
            let gradientInputs = try shapes.map { try Tensor([Float](repeating: 0, count: $0.count), shape: $0, on: device) }
            let scalars = try Tensor([Float](repeating: 0, count: optimizer.scalarCount), shape: [optimizer.scalarCount], on: device)
            let named = variables.enumerated().map { (name: "p\($0.offset)", variable: $0.element) }
            let plan = try Plan(
                inputs: gradientInputs + [scalars], outputs: [],
                updates: optimizer.updates(parameters: named, gradients: gradientInputs, scalars: scalars))
            XCTAssertEqual(
                plan.report.steps, launchesPerParameter * shapes.count, "\(name) on \(device): one in-place launch per tensor updated")
            let rate = 0.05
            for step in 1...4 {
                let gradients = shapes.map { generator.values($0.count, in: -2...2).map { Double(Float($0)) } }
                try plan.run(gradients.map { $0.map(Float.init) } + [optimizer.scalars(step: step, learningRate: rate)])
                reference.step(&expected, gradients, lr: rate)
            }
            for (variable, values) in zip(variables, expected) {
                assertClose(try variable.value.floats().map(Double.init), values, .elementwise, "\(name) on \(device)")
            }
        }
    }

    func testSGDFollowsPyTorch() throws {
        for (momentum, nesterov, decay) in [(0.0, false, 0.0), (0.0, false, 0.01), (0.9, false, 0.0), (0.9, true, 5e-4)] {
            try check(
                "SGD momentum \(momentum) nesterov \(nesterov) decay \(decay)",
                { SGD(momentum: momentum, nesterov: nesterov, weightDecay: decay) }, launchesPerParameter: momentum == 0 ? 1 : 2,
                reference: { TorchSGD(momentum: momentum, nesterov: nesterov, decay: decay) })
        }
    }

    func testAdamFollowsPyTorch() throws {
        for decay in [0.0, 0.01] {
            try check("Adam decay \(decay)", { Adam(weightDecay: decay) }, launchesPerParameter: 3, reference: { TorchAdam(decay: decay) })
        }
    }
}
