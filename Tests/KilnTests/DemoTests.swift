// The demos' logic: momentum beats plain gradient descent on an ill-conditioned quadratic, the best
// settings follow the classical formulas, the chunked full-batch gradient equals one big batch's, and
// the batching demo returns a curve per mode.
import Foundation
import Kiln
import KilnTestSupport
import XCTest

@testable import KilnExamples

final class DemoTests: XCTestCase {
    func testBestSettingsFollowTheClassicalFormulas() throws {
        let quadratic = try MomentumDemo.Quadratic(dimension: 4, conditionNumber: 100, seed: 3)
        XCTAssertEqual(quadratic.smallestEigenvalue, 1, accuracy: 1e-12)
        XCTAssertEqual(quadratic.largestEigenvalue, 100, accuracy: 1e-9)
        let sgd = quadratic.bestSettings(for: .sgd)
        XCTAssertEqual(sgd.learningRate, 2.0 / 101, accuracy: 1e-12)
        XCTAssertEqual(sgd.rate, 99.0 / 101, accuracy: 1e-12)
        let heavyBall = quadratic.bestSettings(for: .momentum)
        XCTAssertEqual(heavyBall.learningRate, 4.0 / 121, accuracy: 1e-12)  // 4 / (√100 + √1)²
        XCTAssertEqual(heavyBall.momentum, 81.0 / 121, accuracy: 1e-12)  // ((10 − 1) / (10 + 1))²
        XCTAssertEqual(heavyBall.rate, 9.0 / 11, accuracy: 1e-12)
        let nesterov = quadratic.bestSettings(for: .nesterov)
        XCTAssertEqual(nesterov.learningRate, 4.0 / 301, accuracy: 1e-12)
        XCTAssertEqual(nesterov.rate, 1 - 2 / 301.0.squareRoot(), accuracy: 1e-12)
    }

    func testTheRotatedQuadraticHasTheRequestedSpectrum() throws {
        let quadratic = try MomentumDemo.Quadratic(dimension: 5, conditionNumber: 10, seed: 1)
        let n = quadratic.dimension
        // A is symmetric, its trace is Σλ, and A·x₀ = Q·λ has squared length Σλ² (x₀ = Q·1).
        for i in 0..<n {
            for j in 0..<n { XCTAssertEqual(quadratic.matrix[i * n + j], quadratic.matrix[j * n + i], accuracy: 1e-12) }
        }
        XCTAssertEqual((0..<n).reduce(0) { $0 + quadratic.matrix[$1 * n + $1] }, quadratic.eigenvalues.reduce(0, +), accuracy: 1e-9)
        let ax = (0..<n).map { i in (0..<n).reduce(0) { $0 + quadratic.matrix[i * n + $1] * quadratic.start[$1] } }
        XCTAssertEqual(ax.reduce(0) { $0 + $1 * $1 }, quadratic.eigenvalues.reduce(0) { $0 + $1 * $1 }, accuracy: 1e-8)
        XCTAssertThrowsError(try MomentumDemo.Quadratic(dimension: 5, conditionNumber: 1, seed: 1))
    }

    func testMomentumReachesTheQuadraticTargetInFewerStepsThanPlainSGD() throws {
        let quadratic = try MomentumDemo.Quadratic(dimension: 10, conditionNumber: 100, seed: 0)
        let comparison = try MomentumDemo.compareOnQuadratic(quadratic, steps: 120, targetFraction: 1e-6, on: Device.named("cpu"))
        XCTAssertEqual(comparison.runs.map(\.method), MomentumMethod.allCases)
        let run = Dictionary(uniqueKeysWithValues: comparison.runs.map { ($0.method, $0) })
        // The graph computes f(x₀) = ½Σλ in float32.
        for method in MomentumMethod.allCases {
            XCTAssertEqual(run[method]?.losses.first ?? 0, quadratic.initialLoss, accuracy: quadratic.initialLoss * 1e-5)
            XCTAssertEqual(run[method]?.losses.count, 121)
        }
        // Plain SGD needs about ln(10⁶) / (2·ln(101/99)) ≈ 345 steps: not within 120; both momentum methods are.
        XCTAssertNil(run[.sgd]?.stepsToTarget, "plain SGD reached 1e-6 × f(x₀) in 120 steps")
        let momentumSteps = try XCTUnwrap(run[.momentum]?.stepsToTarget, "momentum did not reach the target in 120 steps")
        let nesterovSteps = try XCTUnwrap(run[.nesterov]?.stepsToTarget, "Nesterov did not reach the target in 120 steps")
        XCTAssertLessThan(momentumSteps, 100)
        XCTAssertLessThan(nesterovSteps, 100)
        XCTAssertLessThan(run[.momentum]?.losses[60] ?? 1, run[.sgd]?.losses[60] ?? 0)
    }

    func testQuadraticCurvesKeepEveryStepAfterTheLossUnderflows() throws {
        // At κ = 10 the heavy ball's loss falls by about 0.27 per step and reaches 0 in float32 well before 400 steps.
        let quadratic = try MomentumDemo.Quadratic(dimension: 4, conditionNumber: 10, seed: 2)
        let comparison = try MomentumDemo.compareOnQuadratic(quadratic, steps: 400, on: Device.named("cpu"))
        XCTAssertEqual(comparison.runs.map(\.losses.count), [401, 401, 401])
    }

    func testConditionSweepGrowsLikeKappaForSGDAndSlowerWithMomentum() throws {
        let sweep = try MomentumDemo.sweepConditionNumbers([10, 100], dimension: 6, on: Device.named("cpu"))
        let sgd = try sweep.entries.map { try XCTUnwrap($0.steps[0]) }
        let momentum = try sweep.entries.map { try XCTUnwrap($0.steps[1]) }
        // Ten times the condition number: plain SGD takes about ten times the steps, momentum about √10 ≈ 3.2 times.
        XCTAssertGreaterThan(Double(sgd[1]) / Double(sgd[0]), 7)
        XCTAssertLessThan(Double(momentum[1]) / Double(momentum[0]), 5)
    }

    func testQuadraticOnOpenCLFollowsTheReference() throws {
        guard (try? OpenCLDiscovery.devices().isEmpty) == false else {
            if ProcessInfo.processInfo.environment["CI"] == "true" { throw OpenCLError.noDevice }
            throw XCTSkip("no OpenCL device")
        }
        let quadratic = try MomentumDemo.Quadratic(dimension: 10, conditionNumber: 100, seed: 0)
        let reference = try MomentumDemo.compareOnQuadratic(quadratic, steps: 40, on: Device.named("cpu"))
        let opencl = try MomentumDemo.compareOnQuadratic(quadratic, steps: 40, on: Device.named("opencl"))
        let tolerance = Tolerance(absolute: 1e-6, relative: 1e-3, reason: "float32 steps, matmul and sum in a different order")
        for (expected, actual) in zip(reference.runs, opencl.runs) {
            assertClose(actual.losses, expected.losses, tolerance, "\(expected.method.title) loss curve")
        }
    }

    func testChunkedFullBatchGradientEqualsOneBatchOfEverything() throws {
        let device = try Device.named("cpu")
        let images = TrainingTests.syntheticData(count: 50, seed: 4)
        let spec = ModelSpec("flatten-dense12-relu-dense10")
        var random = RandomSource(seed: 9)
        let chunked = try spec.build(inputShape: [1, 10, 8], random: &random, on: device)
        random = RandomSource(seed: 9)
        let whole = try spec.build(inputShape: [1, 10, 8], random: &random, on: device)
        // 50 examples in chunks of 16: 16, 16, 16 and a partial 2.
        // Standardised inputs on both sides: the chunks must use the descent's normalisation.
        let normalization = PixelNormalization.standardizing(images)
        let descent = try FullBatchGradientDescent(
            model: chunked, optimizer: SGD(), chunkSize: 16, normalization: normalization, on: device)
        let chunkedLoss = try descent.epoch(images, learningRate: 0.3, step: 1)
        let all = ImageBatches(images, batchSize: 50, shuffleSeed: nil, dropLast: false, normalization: normalization)
        let batch = try all.batch(0, order: all.order(epoch: 0))
        let wholeLoss = try TrainingStep(model: whole, optimizer: SGD(), loss: .softmaxCrossEntropy)(
            inputs: batch.inputs, shape: all.shape(count: 50), targets: batch.labels, learningRate: 0.3, on: device)
        XCTAssertEqual(chunkedLoss, Double(wholeLoss), accuracy: 1e-5)
        for (a, b) in zip(chunked.parameters, whole.parameters) {
            assertClose(
                try a.variable.value.doubles(), try b.variable.value.doubles(), .accumulation(terms: 50),
                "parameter \(a.name) after one update")
        }
    }

    func testBatchingDemoReturnsACurvePerMode() throws {
        let data = IDXDataset(
            training: TrainingTests.syntheticData(count: 96, seed: 1), test: TrainingTests.syntheticData(count: 32, seed: 2))
        var settings = BatchingDemo.Settings()
        settings.model = "flatten-dense16-relu-dense10"
        settings.epochs = 2
        settings.miniBatchSize = 16
        settings.chunkSize = 40
        settings.probeExamples = 48
        settings.pointsPerEpoch = 3
        settings.fullBatchLearningRate = 0.5
        settings.miniBatchLearningRate = 0.1
        settings.perExampleLearningRate = 0.01
        let comparison = try BatchingDemo.run(data: data, settings: settings, on: Device.named("cpu"))
        XCTAssertEqual(comparison.runs.map(\.mode), BatchingMode.allCases)
        XCTAssertEqual(comparison.examples, 96)
        XCTAssertEqual(comparison.probeExamples, 48)
        XCTAssertEqual(comparison.runs.map(\.updates), [2, 12, 192])
        XCTAssertEqual(comparison.runs.map(\.batchSize), [96, 16, 1])
        XCTAssertEqual(comparison.runs.map(\.points.count), [3, 7, 7])
        for run in comparison.runs {
            XCTAssertEqual(run.points.last?.epoch ?? 0, 2, accuracy: 1e-12, run.mode.title)
            XCTAssertTrue(run.points.allSatisfy { $0.loss.isFinite && $0.seconds >= 0 }, run.mode.title)
            XCTAssertLessThan(run.points.last?.loss ?? .infinity, run.points.first?.loss ?? 0, "\(run.mode.title): the loss falls")
            XCTAssertGreaterThan(run.imagesPerSecond, 0)
            XCTAssertTrue((0...1).contains(run.testAccuracy))
        }
        XCTAssertTrue(comparison.epochChart.render().contains("<polyline"))
        XCTAssertTrue(comparison.table.contains("per example"), comparison.table)
        settings.epochs = 0
        XCTAssertThrowsError(try BatchingDemo.run(data: data, settings: settings, on: Device.named("cpu")))
    }
}
