// UpdateKernelTests: the multi-tensor SGD update (`update_sgd_multi`, through `executeUpdates`) gives bit-identical
// parameters and momentum buffers to one launch per update (`update_momentum_buffer`, then `update_sgd`), for tensors
// of awkward sizes over more than one launch's slots, in every SGD mode and with one vector, two vectors and 1024
// elements per work item (a GPU's, one that splits most tensors into several runs, and a CPU device's longest),
// and with gradients of 1 to 64 rows to sum (a bias's gradient over a batch, summed as reduce_sum sums it), and runs
// one launch per eight tensors.
import Kiln
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

final class UpdateKernelTests: XCTestCase {
    /// Eleven tensors (two launches), sizes around the 8-float vectors and two larger ones (2061: three runs of 1024).
    let counts = [1, 7, 8, 9, 13, 15, 64, 127, 1000, 3, 2061]

    /// The updates of one optimizer step on `tensors` (parameter, gradient, momentum buffer), written in place; a
    /// gradient holding a multiple of the parameter's count is read as that many rows to sum.
    private func steps(
        _ tensors: [(p: any DeviceStorage, g: any DeviceStorage, v: any DeviceStorage)], scalars: any DeviceStorage, momentum: Double,
        nesterov: Bool, decay: Double
    ) -> [UpdateStep] {
        tensors.flatMap { tensor -> [UpdateStep] in
            let shape = Shape([tensor.p.count])
            let rows = tensor.g.count / tensor.p.count
            let (p, g, v) = (
                Operand(storage: tensor.p, shape: shape),
                Operand(storage: tensor.g, shape: rows == 1 ? shape : [rows, tensor.p.count]), Operand(storage: tensor.v, shape: shape)
            )
            let lr = Operand(storage: scalars, shape: [1])
            let sgd = UpdateRule.sgdParameter(momentum: momentum, nesterov: nesterov, weightDecay: decay)
            if momentum == 0 { return [UpdateStep(rule: sgd, inputs: [p, g, lr], output: tensor.p, shape: shape)] }
            return [
                UpdateStep(
                    rule: .momentumBuffer(momentum: momentum, weightDecay: decay), inputs: [v, g, p], output: tensor.v, shape: shape),
                UpdateStep(rule: sgd, inputs: [p, g, v, lr], output: tensor.p, shape: shape),
            ]
        }
    }

    func testMultiTensorSGDMatchesOneLaunchPerUpdate() throws {
        for backend in try TestDevices.requireOpenCL() {
            let deviceRun = backend.elementwiseRun
            defer { backend.elementwiseRun = deviceRun }
            for run in [8, 16, 1024] {
                backend.elementwiseRun = { _ in run }
                try checkMultiTensorSGD(on: backend, name: "\(run) elements per work item on \(backend.name)")
            }
        }
    }

    /// Three steps of the eleven tensors' updates through `executeUpdates` and one launch per update, compared bit for
    /// bit; tensor i's gradient holds `rows[i]` rows to sum.
    private func checkMultiTensorSGD(on backend: OpenCLBackend, name deviceName: String, rows: [Int]? = nil) throws {
        let rows = rows ?? counts.map { _ in 1 }
        for (momentum, nesterov, decay) in [
            (0.0, false, 0.0), (0.0, false, 0.01), (0.9, false, 0.0), (0.9, true, 5e-4), (0.5, false, 0.1),
        ] {
            let name = "momentum \(momentum) nesterov \(nesterov) decay \(decay), \(deviceName)"
            var generator = SeededGenerator(seed: 29)
            func stored(_ values: [Double]) throws -> any DeviceStorage {
                let storage = try backend.allocate(count: values.count)
                try backend.write(values.map { Float($0) }, to: storage)
                return storage
            }
            let initial = zip(counts, rows).map { count, rows in
                (generator.values(count), generator.values(rows * count, in: -2...2), generator.values(count))
            }
            let multi = try initial.map { (try stored($0.0), try stored($0.1), try stored($0.2)) }
            let single = try initial.map { (try stored($0.0), try stored($0.1), try stored($0.2)) }
            let scalars = try stored([0.05])
            for _ in 1...3 {
                let before = backend.launchCount
                try backend.executeUpdates(steps(multi, scalars: scalars, momentum: momentum, nesterov: nesterov, decay: decay))
                XCTAssertEqual(backend.launchCount - before, 2, "\(name): eleven tensors in two launches of eight slots")
                for step in steps(single, scalars: scalars, momentum: momentum, nesterov: nesterov, decay: decay) {
                    try backend.execute(.update(step.rule), inputs: step.inputs, output: step.output, outputShape: step.shape)
                }
            }
            for (index, (fused, separate)) in zip(multi, single).enumerated() {
                XCTAssertEqual(try backend.readFloats(fused.0), try backend.readFloats(separate.0), "\(name): parameter \(index)")
                XCTAssertEqual(try backend.readFloats(fused.2), try backend.readFloats(separate.2), "\(name): momentum buffer \(index)")
            }
        }
    }

    /// Gradients with rows to sum (a bias's gradient over a batch, 1 to 64 rows): `update_sgd_multi` sums them as
    /// `reduce_sum` does, so the parameters and momentum buffers equal, bit for bit, those of one launch per update,
    /// which reduces each gradient first (`reduce_forward`); and every SGD mode still runs the eleven tensors in two
    /// launches.
    func testMultiTensorSGDSumsGradientRowsAsTheReductionDoes() throws {
        for backend in try TestDevices.requireOpenCL() {
            // The one-element tensor keeps one row: a one-element gradient's rows go through reduce_rows, so its
            // update reduces them first, in a launch of its own.
            try checkMultiTensorSGD(on: backend, name: backend.name, rows: [1, 64, 3, 7, 64, 2, 5, 64, 1, 9, 4])
        }
    }

    /// A momentum buffer update whose parameter update is missing runs on its own; the rest still share launches.
    func testUnpairedMomentumUpdateRunsAlone() throws {
        for backend in try TestDevices.requireOpenCL() {
            let shape = Shape([5])
            func stored(_ values: [Float]) throws -> any DeviceStorage {
                let storage = try backend.allocate(count: values.count)
                try backend.write(values, to: storage)
                return storage
            }
            let (v, g, p) = (try stored([1, 2, 3, 4, 5]), try stored([1, 1, 1, 1, 1]), try stored([0, 0, 0, 0, 0]))
            let step = UpdateStep(
                rule: .momentumBuffer(momentum: 0.5, weightDecay: 0),
                inputs: [Operand(storage: v, shape: shape), Operand(storage: g, shape: shape), Operand(storage: p, shape: shape)],
                output: v,
                shape: shape)
            try backend.executeUpdates([step])
            XCTAssertEqual(try backend.readFloats(v), [1.5, 2, 2.5, 3, 3.5])
        }
    }
}
