// AdversarialStep: the two updates of the GAN minimax game, each a `TrainingStep` compiled once and replayed.
// The discriminator's step descends `BCE(D(x), 1) + BCE(D(G(z)), 0)` in the discriminator's parameters; the
// generator's step descends the non-saturating `BCE(D(G(z)), 1)` in the generator's parameters, backpropagating
// through the discriminator without updating it.
import Foundation
import Kiln

/// What one discriminator step measured.
public struct DiscriminatorStepResult: Sendable {
    /// `BCE(D(x), 1) + BCE(D(G(z)), 0)`, each averaged over the batch (ln 4 ≈ 1.386 when D cannot tell them apart).
    public var loss: Float
    /// Mean `sigmoid(D(x))` over the real batch, before the update.
    public var realProbability: Float
    /// Mean `sigmoid(D(G(z)))` over the fake batch, before the update.
    public var fakeProbability: Float
}

/// One generator and one discriminator, each with its own optimizer, and their two compiled updates: one
/// `TrainingStep` per player.
public final class AdversarialStep {
    public let architecture: GANArchitecture
    public let generator: Sequential
    public let discriminator: Sequential
    public let batchSize: Int
    public let device: Device
    /// The discriminator's update: inputs real images and noise; outputs `D(x)` and `D(G(z))` as mean probabilities.
    public let discriminatorStep: TrainingStep
    /// The generator's update: input noise.
    public let generatorStep: TrainingStep
    private var samplePlans: [Int: Plan] = [:]

    public var generatorOptimizer: any Optimizer { generatorStep.optimizer }
    public var discriminatorOptimizer: any Optimizer { discriminatorStep.optimizer }
    /// Updates taken so far by each side (Adam's bias corrections count them).
    public var generatorSteps: Int { generatorStep.step }
    public var discriminatorSteps: Int { discriminatorStep.step }

    /// Compiles both updates for batches of `batchSize` real images and as many noise vectors.
    public init(
        architecture: GANArchitecture, generator: Sequential, discriminator: Sequential, generatorOptimizer: any Optimizer,
        discriminatorOptimizer: any Optimizer, batchSize: Int, on device: Device
    ) throws {
        guard batchSize > 0 else { throw GANError("the batch size must be positive, got \(batchSize)") }
        try architecture.validate()
        self.architecture = architecture
        self.generator = generator
        self.discriminator = discriminator
        self.batchSize = batchSize
        self.device = device
        discriminatorStep = TrainingStep(parameters: discriminator.parameters, optimizer: discriminatorOptimizer) { _ in
            try Self.discriminatorGraph(
                generator: generator, discriminator: discriminator, architecture: architecture, batchSize: batchSize, on: device)
        }
        generatorStep = TrainingStep(parameters: generator.parameters, optimizer: generatorOptimizer) { _ in
            try Self.generatorGraph(
                generator: generator, discriminator: discriminator, architecture: architecture, batchSize: batchSize, on: device)
        }
        _ = try discriminatorStep.plans(for: [])
        _ = try generatorStep.plans(for: [])
    }

    /// The shape of a batch of `count` images.
    public func imageShape(count: Int) -> Shape { [count, 1, architecture.imageSide, architecture.imageSide] }

    /// Updates the discriminator on `real` images (in [-1, 1], `[batchSize, 1, side, side]` row-major) against the
    /// generator's images from `noise` (`[batchSize, noise]`). The generator and its running statistics stay as they are.
    @discardableResult
    public func trainDiscriminator(real: [Float], noise: [Float], learningRate: Double) throws -> DiscriminatorStepResult {
        let loss = try discriminatorStep([real, noise], shapes: [], learningRate: learningRate)
        let result = DiscriminatorStepResult(
            loss: loss, realProbability: try discriminatorStep.output(0)[0], fakeProbability: try discriminatorStep.output(1)[0])
        guard result.loss.isFinite else { throw GANError.nonFinite("discriminator", step: discriminatorSteps, loss: result.loss) }
        return result
    }

    /// Updates the generator (and its batch-norm running statistics) so the discriminator calls its images from
    /// `noise` real; returns the loss `BCE(D(G(z)), 1)` before the update. The discriminator stays as it is.
    @discardableResult
    public func trainGenerator(noise: [Float], learningRate: Double) throws -> Float {
        let loss = try generatorStep([noise], shapes: [], learningRate: learningRate)
        guard loss.isFinite else { throw GANError.nonFinite("generator", step: generatorSteps, loss: loss) }
        return loss
    }

    /// The generator's images for `noise` (`count` vectors), in [-1, 1], `[count, 1, side, side]` row-major.
    ///
    /// Batch norm uses the batch's own statistics, as in training (the DCGAN recipe samples that way), and
    /// the running statistics are left alone, so sampling never changes the model.
    public func samples(noise: [Float], count: Int) throws -> [Float] {
        let plan =
            try samplePlans[count]
            ?? {
                let z = try StepGraph.input([count, architecture.noise], on: device)
                let images = try generator.forward(z, context: ForwardContext(training: true))
                let plan = try Plan(inputs: [z], outputs: [images], updates: [])
                samplePlans[count] = plan
                return plan
            }()
        try plan.run([noise])
        return try plan.output(0)
    }

    /// Times each op of both compiled steps on zero images and noise (the device waits after every launch),
    /// slowest first; nothing is updated. Where a GAN step's time goes.
    public func profile(clock: () -> Double) throws -> (
        discriminator: [(op: String, seconds: Double, launches: Int)], generator: [(op: String, seconds: Double, launches: Int)]
    ) {
        let real = [Float](repeating: 0, count: imageShape(count: batchSize).count)
        let noise = [Float](repeating: 0, count: batchSize * architecture.noise)
        // A learning rate of zero leaves every parameter where it is (Adam's moments still move).
        let discriminatorInputs = [real, noise, discriminatorOptimizer.scalars(step: 1, learningRate: 0)]
        let generatorInputs = [noise, generatorOptimizer.scalars(step: 1, learningRate: 0)]
        let discriminatorPlan = try discriminatorStep.plan(for: [], on: device)
        let generatorPlan = try generatorStep.plan(for: [], on: device)
        // The first run of each plan builds kernels; time the second.
        _ = try discriminatorPlan.profile(discriminatorInputs, clock: clock)
        _ = try generatorPlan.profile(generatorInputs, clock: clock)
        return (try discriminatorPlan.profile(discriminatorInputs, clock: clock), try generatorPlan.profile(generatorInputs, clock: clock))
    }

    // MARK: The two players' graphs

    /// `BCE(D(x), 1) + BCE(D(G(z)), 0)` in the discriminator's parameters, with the mean probabilities as outputs.
    private static func discriminatorGraph(
        generator: Sequential, discriminator: Sequential, architecture: GANArchitecture, batchSize: Int, on device: Device
    ) throws -> StepGraph {
        let real = try StepGraph.input([batchSize, 1, architecture.imageSide, architecture.imageSide], on: device)
        let z = try StepGraph.input([batchSize, architecture.noise], on: device)
        // The generator runs in training mode (batch statistics) but its running statistics are updated only in
        // its own step, once per iteration. No gradient reaches it: only the discriminator's parameters are trained.
        let fake = try generator.forward(z, context: ForwardContext(training: true))
        let context = ForwardContext(training: true)
        let logits = try discriminator.forward(Tensor.concatenate([real, fake], axis: 0), context: context)
        let realLogits = try logits.slice(axis: 0, start: 0, length: batchSize)
        let fakeLogits = try logits.slice(axis: 0, start: batchSize, length: batchSize)
        let realLoss = try Tensor.binaryCrossEntropy(logits: realLogits, targets: Tensor.ones(realLogits.shape, on: device))
        let fakeLoss = try Tensor.binaryCrossEntropy(logits: fakeLogits, targets: Tensor.zeros(fakeLogits.shape, on: device))
        return StepGraph(
            inputs: [real, z], loss: try realLoss + fakeLoss, outputs: [try realLogits.sigmoid().mean(), try fakeLogits.sigmoid().mean()],
            stateUpdates: context.stateUpdates)
    }

    /// The non-saturating `BCE(D(G(z)), 1)` in the generator's parameters, backpropagated through the discriminator.
    private static func generatorGraph(
        generator: Sequential, discriminator: Sequential, architecture: GANArchitecture, batchSize: Int, on device: Device
    ) throws -> StepGraph {
        let z = try StepGraph.input([batchSize, architecture.noise], on: device)
        let context = ForwardContext(training: true)
        let fake = try generator.forward(z, context: context)
        // The discriminator's state updates (it has none, but a variant with batch norm would) are dropped: this
        // step changes the generator only.
        let logits = try discriminator.forward(fake, context: ForwardContext(training: true))
        // Non-saturating loss: maximise log D(G(z)) rather than minimise log(1 − D(G(z))), whose gradient
        // vanishes while the discriminator wins easily (early in training).
        let loss = try Tensor.binaryCrossEntropy(logits: logits, targets: Tensor.ones(logits.shape, on: device))
        return StepGraph(inputs: [z], loss: loss, stateUpdates: context.stateUpdates)
    }
}
