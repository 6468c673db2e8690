// AdversarialStep: the two updates of the GAN minimax game, each compiled once into a plan and replayed.
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

/// One generator and one discriminator, each with its own optimizer, and their two compiled updates.
public final class AdversarialStep {
    public let architecture: GANArchitecture
    public let generator: Sequential
    public let discriminator: Sequential
    public let generatorOptimizer: any Optimizer
    public let discriminatorOptimizer: any Optimizer
    public let batchSize: Int
    public let device: Device
    /// Updates taken so far by each side (Adam's bias corrections count them).
    public private(set) var generatorSteps = 0
    public private(set) var discriminatorSteps = 0

    private let discriminatorPlan: Plan
    private let generatorPlan: Plan
    private var samplePlans: [Int: Plan] = [:]

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
        self.generatorOptimizer = generatorOptimizer
        self.discriminatorOptimizer = discriminatorOptimizer
        self.batchSize = batchSize
        self.device = device
        discriminatorPlan = try Self.compileDiscriminatorStep(
            generator: generator, discriminator: discriminator, optimizer: discriminatorOptimizer, architecture: architecture,
            batchSize: batchSize, on: device)
        generatorPlan = try Self.compileGeneratorStep(
            generator: generator, discriminator: discriminator, optimizer: generatorOptimizer, architecture: architecture,
            batchSize: batchSize, on: device)
    }

    /// The shape of a batch of `count` images.
    public func imageShape(count: Int) -> Shape { [count, 1, architecture.imageSide, architecture.imageSide] }

    /// Updates the discriminator on `real` images (in [-1, 1], `[batchSize, 1, side, side]` row-major) against the
    /// generator's images from `noise` (`[batchSize, noise]`). The generator and its running statistics stay as they are.
    @discardableResult
    public func trainDiscriminator(real: [Float], noise: [Float], learningRate: Double) throws -> DiscriminatorStepResult {
        let scalars = discriminatorOptimizer.scalars(step: discriminatorSteps + 1, learningRate: learningRate)
        try discriminatorPlan.run([real, noise, scalars])
        discriminatorSteps += 1
        let result = DiscriminatorStepResult(
            loss: try discriminatorPlan.output(0)[0], realProbability: try discriminatorPlan.output(1)[0],
            fakeProbability: try discriminatorPlan.output(2)[0])
        guard result.loss.isFinite else { throw GANError.nonFinite("discriminator", step: discriminatorSteps, loss: result.loss) }
        return result
    }

    /// Updates the generator (and its batch-norm running statistics) so the discriminator calls its images from
    /// `noise` real; returns the loss `BCE(D(G(z)), 1)` before the update. The discriminator stays as it is.
    @discardableResult
    public func trainGenerator(noise: [Float], learningRate: Double) throws -> Float {
        let scalars = generatorOptimizer.scalars(step: generatorSteps + 1, learningRate: learningRate)
        try generatorPlan.run([noise, scalars])
        generatorSteps += 1
        let loss = try generatorPlan.output(0)[0]
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
                let z = try Self.input([count, architecture.noise], on: device)
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
        // The first run of each plan builds kernels; time the second.
        _ = try discriminatorPlan.profile(discriminatorInputs, clock: clock)
        _ = try generatorPlan.profile(generatorInputs, clock: clock)
        return (try discriminatorPlan.profile(discriminatorInputs, clock: clock), try generatorPlan.profile(generatorInputs, clock: clock))
    }

    // MARK: Compilation

    /// A data tensor of zeros whose values each run of a plan replaces.
    private static func input(_ shape: Shape, on device: Device) throws -> Tensor {
        try Tensor([Float](repeating: 0, count: shape.count), shape: shape, on: device)
    }

    private static func compileDiscriminatorStep(
        generator: Sequential, discriminator: Sequential, optimizer: any Optimizer, architecture: GANArchitecture, batchSize: Int,
        on device: Device
    ) throws -> Plan {
        let real = try input([batchSize, 1, architecture.imageSide, architecture.imageSide], on: device)
        let z = try input([batchSize, architecture.noise], on: device)
        let scalars = try input([optimizer.scalarCount], on: device)
        // The generator runs in training mode (batch statistics) but its running statistics are updated only in
        // its own step, once per iteration. No gradient reaches it: only the discriminator's parameters are asked for.
        let fake = try generator.forward(z, context: ForwardContext(training: true))
        let context = ForwardContext(training: true)
        let logits = try discriminator.forward(Tensor.concatenate([real, fake], axis: 0), context: context)
        let realLogits = try logits.slice(axis: 0, start: 0, length: batchSize)
        let fakeLogits = try logits.slice(axis: 0, start: batchSize, length: batchSize)
        let realLoss = try Tensor.binaryCrossEntropy(logits: realLogits, targets: Tensor.ones(realLogits.shape, on: device))
        let fakeLoss = try Tensor.binaryCrossEntropy(logits: fakeLogits, targets: Tensor.zeros(fakeLogits.shape, on: device))
        let loss = try realLoss + fakeLoss
        let parameters = discriminator.parameters
        let grads = try gradients(of: loss, withRespectTo: parameters.map(\.variable.value))
        let updates = try optimizer.updates(parameters: parameters, gradients: grads, scalars: scalars) + context.stateUpdates
        return try Plan(
            inputs: [real, z, scalars], outputs: [loss, realLogits.sigmoid().mean(), fakeLogits.sigmoid().mean()], updates: updates)
    }

    private static func compileGeneratorStep(
        generator: Sequential, discriminator: Sequential, optimizer: any Optimizer, architecture: GANArchitecture, batchSize: Int,
        on device: Device
    ) throws -> Plan {
        let z = try input([batchSize, architecture.noise], on: device)
        let scalars = try input([optimizer.scalarCount], on: device)
        let context = ForwardContext(training: true)
        let fake = try generator.forward(z, context: context)
        // The discriminator's state updates (it has none, but a variant with batch norm would) are dropped: this
        // step changes the generator only.
        let logits = try discriminator.forward(fake, context: ForwardContext(training: true))
        // Non-saturating loss: maximise log D(G(z)) rather than minimise log(1 − D(G(z))), whose gradient
        // vanishes while the discriminator wins easily (early in training).
        let loss = try Tensor.binaryCrossEntropy(logits: logits, targets: Tensor.ones(logits.shape, on: device))
        let parameters = generator.parameters
        let grads = try gradients(of: loss, withRespectTo: parameters.map(\.variable.value))
        let updates = try optimizer.updates(parameters: parameters, gradients: grads, scalars: scalars) + context.stateUpdates
        return try Plan(inputs: [z, scalars], outputs: [loss], updates: updates)
    }
}
