// A backend that implements only the minimal op set trains the course's CNN through the ops' decompositions, and
// its losses follow the full reference backend's.
import Foundation
import Kiln
import KilnTestSupport
import XCTest

final class MinimalBackendTrainingTests: XCTestCase {
    /// The course's CNN with SGD (momentum 0.9, lr 0.01) for 20 steps on the full reference backend and on one that
    /// implements only the minimal set, both in Float. The layer string is the course's; the images are 8×8 and a batch
    /// holds 4 (the same 8 seeded images in turn, each class lighting its own pixels, so the loss falls), which keeps the
    /// reference loops of a debug build to seconds.
    func testCNNTrainsThroughDecompositions() throws {
        let (batch, side, steps) = (4, 8, 20)
        var data = RandomSource(seed: 1)
        let labels = (0..<(2 * batch)).map { Float($0 % 10) }
        let images = labels.flatMap { label in
            (0..<(side * side)).map { pixel in (pixel % 10 == Int(label) ? 1 : 0) + Float.random(in: -0.5...0.5, using: &data) }
        }
        func losses(on backend: any Backend) throws -> [Double] {
            let device = Device(backend)
            var random = RandomSource(seed: 0)
            let model = try ModelSpec.cnn.build(inputShape: [1, side, side], random: &random, on: device)
            let step = TrainingStep(model: model, optimizer: SGD(momentum: 0.9), loss: .softmaxCrossEntropy)
            return try (0..<steps).map { index in
                let half = index % 2
                let batchImages = Array(images[(half * batch * side * side)..<((half + 1) * batch * side * side)])
                let batchLabels = Array(labels[(half * batch)..<((half + 1) * batch)])
                return Double(
                    try step(inputs: batchImages, shape: [batch, 1, side, side], targets: batchLabels, learningRate: 0.01, on: device))
            }
        }
        let start = Date()
        let full = try losses(on: ReferenceBackend<Float>())
        let fullSeconds = Date().timeIntervalSince(start)
        let minimal = MinimalBackend(ReferenceBackend<Float>())
        let decomposed = try losses(on: minimal)
        print("MINIMAL-BACKEND full reference \(fullSeconds) s, minimal \(Date().timeIntervalSince(start) - fullSeconds) s")
        print("MINIMAL-BACKEND losses full \(full)")
        print("MINIMAL-BACKEND losses minimal \(decomposed)")
        // The same float32 training written with other ops (a convolution as a product with the input's columns, pooling
        // as a maximum over window taps, ...): only the order of the sums differs.
        let tolerance = Tolerance(absolute: 0, relative: 1e-5, reason: "float32, same steps with sums in another order")
        assertClose(decomposed, full, tolerance, "losses through decompositions")
        XCTAssertTrue(minimal.executedOps.keys.allSatisfy { !$0.contains("conv") && !$0.contains("pool") }, "\(minimal.executedOps.keys)")
        XCTAssertNotNil(minimal.executedOps["matmul"])
        XCTAssertLessThan(full[(steps - 2)...].reduce(0, +), full[0...1].reduce(0, +), "the loss falls")
    }
}
