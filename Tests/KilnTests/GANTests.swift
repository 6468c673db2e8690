// The GAN on the reference backend: one adversarial step updates exactly the side it should, the sample
// score's arithmetic on known histograms, the image grid's layout, and feature pictures of a tiny CNN.
import Foundation
import Kiln
import KilnExamples
import XCTest

final class GANTests: XCTestCase {
    /// 8×8 images, noise of length 6, 3 channels in the middle: small enough for the reference backend.
    let architecture = GANArchitecture(noise: 6, width: 3, imageSide: 8)
    let batchSize = 4

    func makeStep(on device: Device) throws -> AdversarialStep {
        var random = RandomSource(seed: 11)
        return try AdversarialStep(
            architecture: architecture, generator: architecture.generator(random: &random, on: device),
            discriminator: architecture.discriminator(random: &random, on: device), generatorOptimizer: Adam(beta1: 0.5),
            discriminatorOptimizer: Adam(beta1: 0.5), batchSize: batchSize, on: device)
    }

    /// Every variable of `model` (parameters and running statistics) by name.
    func snapshot(_ model: Sequential) throws -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: try model.state.map { ($0.name, try $0.variable.value.floats()) })
    }

    /// The names whose values differ between two snapshots.
    func changed(_ before: [String: [Float]], _ after: [String: [Float]]) -> Set<String> {
        Set(before.keys.filter { before[$0] != after[$0] })
    }

    func testOneStepUpdatesOnlyTheSideThatMoves() throws {
        let device = try Device.named("cpu")
        let step = try makeStep(on: device)
        var random = RandomSource(seed: 3)
        let real = (0..<batchSize * 64).map { _ in Float.random(in: -1...1, using: &random) }
        let noise = GANTrainer.noise(count: batchSize, length: architecture.noise, random: &random)
        let generatorParameters = Set(step.generator.parameters.map(\.name))
        let generatorBuffers = Set(step.generator.buffers.map(\.name))

        let (generator0, discriminator0) = (try snapshot(step.generator), try snapshot(step.discriminator))
        let result = try step.trainDiscriminator(real: real, noise: noise, learningRate: 0.01)
        XCTAssertTrue(result.loss.isFinite && result.loss > 0, "discriminator loss \(result.loss)")
        XCTAssertTrue((0...1).contains(result.realProbability) && (0...1).contains(result.fakeProbability))
        let (generator1, discriminator1) = (try snapshot(step.generator), try snapshot(step.discriminator))
        XCTAssertEqual(changed(discriminator0, discriminator1), Set(discriminator0.keys), "every discriminator parameter moves")
        XCTAssertEqual(changed(generator0, generator1), [], "the discriminator's step leaves the generator alone")

        let loss = try step.trainGenerator(noise: noise, learningRate: 0.01)
        XCTAssertTrue(loss.isFinite && loss > 0, "generator loss \(loss)")
        let (generator2, discriminator2) = (try snapshot(step.generator), try snapshot(step.discriminator))
        XCTAssertEqual(changed(discriminator1, discriminator2), [], "the generator's step leaves the discriminator alone")
        // Weights move and the batch-norm running statistics are updated, both in the generator's step only. (The
        // biases just before a batch norm get a gradient of zero up to rounding, since the norm subtracts the mean.)
        let moved = changed(generator1, generator2)
        XCTAssertTrue(moved.isSubset(of: generatorParameters.union(generatorBuffers)))
        let weights = generatorParameters.filter { $0.hasSuffix("weight") }
        XCTAssertEqual(weights.count, 5)
        XCTAssertTrue(moved.isSuperset(of: weights.union(generatorBuffers)), "moved: \(moved.sorted())")
        XCTAssertEqual([step.discriminatorSteps, step.generatorSteps], [1, 1])
    }

    func testSamplesAreImagesInTanhRangeAndSamplingChangesNothing() throws {
        let device = try Device.named("cpu")
        let step = try makeStep(on: device)
        var random = RandomSource(seed: 5)
        let before = try snapshot(step.generator)
        let images = try step.samples(noise: GANTrainer.noise(count: 5, length: architecture.noise, random: &random), count: 5)
        XCTAssertEqual(images.count, 5 * 64)
        XCTAssertTrue(images.allSatisfy { $0 >= -1 && $0 <= 1 })
        XCTAssertEqual(changed(before, try snapshot(step.generator)), [])
    }

    func testEntropyOfKnownHistograms() {
        XCTAssertEqual(SampleScore.entropyBits([100, 100, 100, 100, 100, 100, 100, 100, 100, 100]), log2(10), accuracy: 1e-12)
        XCTAssertEqual(SampleScore.entropyBits([1000, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 0, accuracy: 1e-12)
        XCTAssertEqual(SampleScore.entropyBits([500, 500, 0, 0]), 1, accuracy: 1e-12)
        // p = (1/2, 1/4, 1/4): 1/2·1 + 2·1/4·2 = 1.5 bits.
        XCTAssertEqual(SampleScore.entropyBits([2, 1, 1]), 1.5, accuracy: 1e-12)
        XCTAssertEqual(SampleScore.entropyBits([0, 0]), 0)
    }

    func testScoreOfKnownProbabilities() {
        let probabilities: [Double] = [
            0.5, 0.25, 0.25,
            0.1, 0.8, 0.1,
            0.2, 0.2, 0.6,
            0.9, 0.05, 0.05,
        ]
        let score = SampleScore(probabilities: probabilities, classes: 3)
        XCTAssertEqual(score.samples, 4)
        XCTAssertEqual(score.histogram, [2, 1, 1])
        XCTAssertEqual(score.meanTopProbability, (0.5 + 0.8 + 0.6 + 0.9) / 4, accuracy: 1e-12)
        XCTAssertEqual(score.entropyBits, 1.5, accuracy: 1e-12)
        XCTAssertEqual(score.maximumEntropyBits, log2(3), accuracy: 1e-12)
        let softmax = SampleScore.softmax([0, 0, 1000, 0], classes: 2)
        XCTAssertEqual(softmax, [0.5, 0.5, 1, 0])
    }

    func testImageGridLayout() {
        // Two 2×1 tiles side by side, upsampled ×2, one-pixel gaps of grey 7.
        let grid = ImageGrid(
            tiles: [[0, 1], [1, 0]], tileWidth: 2, tileHeight: 1, columns: 2, scale: 2, gap: 1, background: 7,
            scaling: .fixed(low: 0, high: 1))
        XCTAssertEqual(grid.width, 11)
        XCTAssertEqual(grid.height, 4)
        let row: [UInt8] = [7, 0, 0, 255, 255, 7, 255, 255, 0, 0, 7]
        XCTAssertEqual(grid.pixels(), [UInt8](repeating: 7, count: 11) + row + row + [UInt8](repeating: 7, count: 11))
        // Per-tile scaling maps each tile's own range to black..white; a constant tile is black.
        let scaled = ImageGrid(tiles: [[2, 4], [3, 3]], tileWidth: 2, tileHeight: 1, columns: 2, gap: 0, scaling: .perTile)
        XCTAssertEqual(scaled.pixels(), [0, 255, 0, 0])
    }

    func testFeaturePicturesOfATinyCNN() throws {
        let device = try Device.named("cpu")
        var random = RandomSource(seed: 2)
        let model = try ModelSpec("conv4k3p1-relu-maxpool2-conv5k3p1-relu-flatten-dense10").build(
            inputShape: [1, 8, 8], random: &random, on: device)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-features-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = (0..<64).map { Float($0) / 63 }
        let pictures = try FeatureMaps.write(
            model: model, image: image, inputShape: [1, 8, 8], normalization: PixelNormalization(mean: 0.3, standardDeviation: 0.4),
            to: folder,
            on: device)
        XCTAssertEqual(
            pictures.map(\.file.lastPathComponent),
            ["image.png", "kernels-conv1.png", "conv1.png", "conv1-relu.png", "conv2.png", "conv2-relu.png"])
        for picture in pictures {
            let bytes = try Data(contentsOf: picture.file)
            XCTAssertEqual(Array(bytes.prefix(4)), [0x89, 0x50, 0x4E, 0x47], picture.file.lastPathComponent)
        }
        let set = LabeledImages(pixels: [UInt8](repeating: 0, count: 128), labels: [0, 1], rows: 8, columns: 8)
        XCTAssertThrowsError(try FeatureMaps.image(2, of: set)) { error in
            XCTAssertTrue("\(error)".contains("the test set has 2 images"), "\(error)")
        }
    }
}
