// Softmax cross-entropy as PyTorch's F.cross_entropy defines it (class weights, ignore_index, reductions none, sum
// and mean, logits with spatial axes), on every device, against the definition written out here in Double: for each
// position p, term_p = w[y_p] · (log Σ_k exp x[p, k] − x[p, y_p]), 0 where y_p is ignored; mean = Σ term / Σ w[y_p]
// over the positions that are not ignored. Integer labels, and their errors.
import Foundation
import Kiln
import KilnTestSupport
import XCTest

final class CrossEntropyTests: XCTestCase {
    /// PyTorch's definition over logits `[N, C, d...]` (row-major values) and labels `[N, d...]`.
    private func expected(
        logits: [Double], shape: Shape, labels: [Int], weights: [Double]?, ignoreIndex: Int?, reduction: LossReduction
    ) -> [Double] {
        let (batch, classes) = (shape[0], shape[1])
        let positions = shape.count / (batch * classes)
        var terms: [Double] = []
        var weightSum = 0.0
        for n in 0..<batch {
            for p in 0..<positions {
                let label = labels[n * positions + p]
                if label == ignoreIndex {
                    terms.append(0)
                    continue
                }
                let row = (0..<classes).map { logits[(n * classes + $0) * positions + p] }
                let maximum = row.max() ?? 0
                let logSum = maximum + Foundation.log(row.map { Foundation.exp($0 - maximum) }.reduce(0, +))
                let weight = weights?[label] ?? 1
                terms.append(weight * (logSum - row[label]))
                weightSum += weight
            }
        }
        switch reduction {
        case .none: return terms
        case .sum: return [terms.reduce(0, +)]
        case .mean: return [terms.reduce(0, +) / weightSum]
        }
    }

    func testMatchesPyTorchsDefinitionOnEveryDevice() throws {
        var random = SeededGenerator(seed: 12)
        // Shapes with 1, primes and spatial axes; the ignored label inside and outside the classes.
        let cases: [(shape: Shape, ignoreIndex: Int?)] = [
            ([1, 1], nil), ([7, 3], 1), ([5, 13], -100), ([2, 5, 3], nil), ([3, 4, 2, 7], 2), ([1, 11, 1, 1, 5], -1),
        ]
        for device in try availableDevices() {
            for (shape, ignoreIndex) in cases {
                let classes = shape[1]
                var labelShape = shape.dimensions
                labelShape.remove(at: 1)
                let logits = (0..<shape.count).map { _ in Double.random(in: -30...30, using: &random) }
                var labels = (0..<Shape(labelShape).count).map { _ in Int.random(in: 0..<classes, using: &random) }
                if let ignoreIndex { labels[labels.count / 2] = ignoreIndex }
                let weights = (0..<classes).map { _ in Double.random(in: 0.1...2, using: &random) }
                let x = try Tensor(logits, shape: shape, on: device)
                let w = try Tensor(weights, shape: [classes], on: device)
                for reduction in [LossReduction.none, .sum, .mean] {
                    for weighted in [false, true] {
                        let loss = try Tensor.softmaxCrossEntropy(
                            logits: x, labels: labels.map { Int64($0) }, weights: weighted ? w : nil, ignoreIndex: ignoreIndex,
                            reduction: reduction)
                        XCTAssertEqual(loss.shape, reduction == .none ? Shape(labelShape) : [], "\(shape) \(reduction)")
                        // Float32 log-sum-exp over at most 13 classes, then a sum of up to 56 terms.
                        assertClose(
                            try loss.doubles(),
                            expected(
                                logits: logits, shape: shape, labels: labels, weights: weighted ? weights : nil, ignoreIndex: ignoreIndex,
                                reduction: reduction), .accumulation(terms: shape.count),
                            "\(device) \(shape) \(reduction) weighted \(weighted)")
                    }
                }
            }
        }
    }

    /// The gradient with respect to the logits, on every device, against the same expression on the reference in
    /// Double: `w[y] · (softmax − oneHot)` divided by the summed weights.
    func testGradientsAgreeAcrossDevices() throws {
        var random = SeededGenerator(seed: 13)
        let shape: Shape = [3, 5, 2, 3]
        let logits = (0..<shape.count).map { _ in Double.random(in: -5...5, using: &random) }
        let labels = (0..<18).map { $0 % 6 == 5 ? Int64(4) : Int64($0 % 4) }
        let weights = [0.5, 1, 2, 0.25, 3]
        func gradient(on device: Device) throws -> [Double] {
            let x = try Tensor(logits, shape: shape, on: device)
            let loss = try Tensor.softmaxCrossEntropy(
                logits: x, labels: labels, weights: Tensor(weights, shape: [5], on: device), ignoreIndex: 4)
            return try gradients(of: loss, withRespectTo: [x])[0].doubles()
        }
        let expected = try gradient(on: Device(ReferenceBackend<Double>()))
        for device in try availableDevices() {
            // Float32 softmax over 5 classes, scaled by a sum of 18 weights.
            assertClose(try gradient(on: device), expected, .accumulation(terms: 18), "\(device)")
        }
    }

    func testIntegerLabelsMatchFloatLabels() throws {
        let device = try Device.named("cpu")
        let logits = try Tensor((0..<12).map { Double($0) / 3 }, shape: [4, 3], on: device)
        let floatLoss = try Tensor.softmaxCrossEntropy(logits: logits, labels: Tensor([2, 0, 1, 2] as [Double], shape: [4], on: device))
        let int32Loss = try Tensor.softmaxCrossEntropy(logits: logits, labels: [2, 0, 1, 2] as [Int32])
        let int64Labels = try Tensor(labels: [2, 0, 1, 2] as [Int64], shape: [4], classes: 3, on: device)
        XCTAssertEqual(try int32Loss.scalar(), try floatLoss.scalar())
        XCTAssertEqual(try Tensor.softmaxCrossEntropy(logits: logits, labels: int64Labels).scalar(), try floatLoss.scalar())
    }

    /// A plan's label input takes integer labels through `Tensor.labelValues`, checked the same way.
    func testIntegerLabelsAsAPlanInput() throws {
        for device in try availableDevices() {
            let logits = try Tensor((0..<12).map { Double($0 % 5) / 2 }, shape: [4, 3], on: device)
            let labels = try Tensor([0, 0, 0, 0] as [Float], shape: [4], on: device)
            let plan = try Plan(inputs: [labels], outputs: [Tensor.softmaxCrossEntropy(logits: logits, labels: labels)], updates: [])
            for batch: [Int64] in [[2, 0, 1, 2], [1, 1, 0, 2]] {
                try plan.run([try Tensor.labelValues(batch, classes: 3)])
                let direct = try Tensor.softmaxCrossEntropy(logits: logits, labels: batch)
                XCTAssertEqual(try plan.output(0).map(Double.init), try direct.doubles(), "\(device) \(batch)")
            }
            XCTAssertThrowsError(try Tensor.labelValues([0, 7] as [Int64], classes: 3)) {
                XCTAssertEqual("\($0)", "[labels] label 7 at index 1 is outside 0..<3")
            }
        }
    }

    func testOutOfRangeIntegerLabelsNameTheirIndex() throws {
        let device = try Device.named("cpu")
        let logits = try Tensor.zeros([4, 3], on: device)
        XCTAssertThrowsError(try Tensor.softmaxCrossEntropy(logits: logits, labels: [0, 1, 3, 2] as [Int64])) { error in
            XCTAssertEqual("\(error)", "[labels] label 3 at index 2 is outside 0..<3")
        }
        XCTAssertThrowsError(try Tensor.softmaxCrossEntropy(logits: logits, labels: [0, -1, 2, 2] as [Int32], ignoreIndex: -100)) {
            XCTAssertEqual("\($0)", "[labels] label -1 at index 1 is outside 0..<3 and is not the ignored label -100")
        }
        XCTAssertNoThrow(try Tensor.softmaxCrossEntropy(logits: logits, labels: [0, -100, 2, 2] as [Int32], ignoreIndex: -100))
        XCTAssertThrowsError(try Tensor(labels: [0, 1] as [Int64], shape: [2], classes: 1 << 25, on: device)) {
            XCTAssertTrue("\($0)".contains("2^24"), "\($0)")
        }
    }

    func testBadShapesAreErrors() throws {
        let device = try Device.named("cpu")
        let logits = try Tensor.zeros([2, 3, 4], on: device)
        XCTAssertThrowsError(try Tensor.softmaxCrossEntropy(logits: logits, labels: Tensor.zeros([2, 3], on: device))) {
            XCTAssertTrue("\($0)".contains("labels [N, d1, ...]"), "\($0)")
        }
        XCTAssertThrowsError(
            try Tensor.softmaxCrossEntropy(logits: logits, labels: Tensor.zeros([2, 4], on: device), weights: Tensor.ones([4], on: device))
        ) { XCTAssertTrue("\($0)".contains("weights must be [C] = [3]"), "\($0)") }
    }
}
