// kiln_model: a Kiln layer list (from a checkpoint, a layer string with a PyTorch state_dict, or fresh) that
// runs and trains, or an imported ONNX graph that runs; both compile into plans per input shape.
import Foundation
import Kiln
import KilnONNX

/// A model on a device, with the descriptions the C API reports.
final class ModelHandle {
    let deviceHandle: DeviceHandle
    let content: Content
    var normalization: PixelNormalization?
    let inputs: [CValueDescription]
    let outputs: [CValueDescription]
    let parameters: [CValueDescription]

    enum Content {
        case kiln(KilnModel)
        case onnx(ONNXInference)
    }

    init(device: DeviceHandle, kiln model: KilnModel, normalization: PixelNormalization?) throws {
        deviceHandle = device
        content = .kiln(model)
        self.normalization = normalization
        inputs = [CValueDescription(name: "input", dimensions: [nil] + model.sampleShape.map { $0 })]
        outputs = [
            CValueDescription(
                name: "output",
                dimensions: try ONNXExport.outputShape(model.model, inputShape: [nil] + model.sampleShape, on: device.device))
        ]
        parameters = model.model.state.map { CValueDescription(name: $0.name, dimensions: $0.variable.shape.dimensions) }
    }

    init(device: DeviceHandle, onnx inference: ONNXInference) {
        deviceHandle = device
        content = .onnx(inference)
        normalization = inference.model.normalization
        inputs = inference.model.inputs.map { CValueDescription(name: $0.name, dimensions: $0.dimensions) }
        outputs = inference.model.outputs.map { CValueDescription(name: $0.name, dimensions: $0.dimensions) }
        parameters = inference.model.initializers.map { CValueDescription(name: $0.name, dimensions: $0.dimensions) }
    }

    /// Runs the model on `inputs` of `shapes` and returns each output's values and shape.
    func run(_ inputs: [[Float]], shapes: [Shape]) throws -> [(values: [Float], shape: Shape)] {
        guard inputs.count == self.inputs.count else {
            throw CAPIError(.shape, "the model takes \(self.inputs.count) inputs, got \(inputs.count)")
        }
        switch content {
        case .kiln(let model): return [try model.run(inputs[0], shape: shapes[0])]
        case .onnx(let inference): return try inference.run(inputs, shapes: shapes).map { ($0.values, $0.shape) }
        }
    }

    /// The shapes of the outputs for inputs of `shapes` (compiles the plan).
    func outputShapes(for shapes: [Shape]) throws -> [Shape] {
        switch content {
        case .kiln(let model): return [try model.plan(for: shapes[0]).outputShape]
        case .onnx(let inference): return try inference.plan(for: shapes).outputShapes
        }
    }

    /// The Kiln model, or an unsupported error for an ONNX model (which `operation` needs).
    func kilnModel(for operation: String) throws -> KilnModel {
        guard case .kiln(let model) = content else {
            throw CAPIError(
                .unsupported,
                "\(operation) needs a Kiln model (a checkpoint, a state_dict or kiln_model_create); ONNX models run inference only")
        }
        return model
    }
}

/// A Kiln layer list with its training configuration: evaluation plans per input shape and a training step.
final class KilnModel {
    let model: Sequential
    let device: Device
    var configuration: TrainingConfiguration
    /// One example's shape (`[C, H, W]` for images).
    let sampleShape: [Int]
    private var plans: [Shape: (plan: Plan, outputShape: Shape)] = [:]
    private(set) var optimizer: any Optimizer
    private var step: TrainingStep?

    init(model: Sequential, configuration: TrainingConfiguration, sampleShape: [Int], on device: Device) {
        self.model = model
        self.device = device
        self.configuration = configuration
        self.sampleShape = sampleShape
        optimizer = configuration.optimizer.makeOptimizer(configuration)
    }

    /// The evaluation-mode plan for inputs of `shape`, which must be a batch of samples.
    func plan(for shape: Shape) throws -> (plan: Plan, outputShape: Shape) {
        if let compiled = plans[shape] { return compiled }
        guard Array(shape.dimensions.dropFirst()) == sampleShape else {
            throw CAPIError(
                .shape,
                "input shape \(shape) is not a batch of samples of shape \(sampleShape) ([N, \(sampleShape.map(String.init).joined(separator: ", "))])"
            )
        }
        let x = try Tensor([Float](repeating: 0, count: shape.count), shape: shape, on: device)
        let output = try model.forward(x, context: ForwardContext(training: false))
        let compiled = (try Plan(inputs: [x], outputs: [output], updates: []), output.shape)
        plans[shape] = compiled
        return compiled
    }

    func run(_ input: [Float], shape: Shape) throws -> (values: [Float], shape: Shape) {
        let (plan, outputShape) = try plan(for: shape)
        try plan.run([input])
        return (try plan.output(0), outputShape)
    }

    func setOptimizer(_ kind: OptimizerKind) {
        configuration.optimizer = kind
        optimizer = kind.makeOptimizer(configuration)
        step = nil
    }

    /// One training step of softmax cross-entropy; returns the batch's mean loss.
    func train(_ input: [Float], shape: Shape, labels: [Float], learningRate: Double) throws -> Float {
        _ = try plan(for: shape)  // Checks the shape against the samples' before anything is compiled for training.
        let step =
            self.step
            ?? TrainingStep(
                model: model, optimizer: optimizer, loss: .softmaxCrossEntropy, clipNorm: configuration.clipNorm, seed: configuration.seed)
        self.step = step
        return try step(inputs: input, shape: shape, targets: labels, learningRate: learningRate, on: device)
    }

    /// Writes the weights, the optimizer's state and the configuration (with `normalization`) as `kiln train` does,
    /// and an image model's input shape (`[C, H, W]`), which loading the checkpoint without a sample shape takes.
    func save(to url: URL, normalization: PixelNormalization?) throws {
        var configuration = self.configuration
        configuration.normalization = normalization ?? .unit
        let json = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
        var metadata = ["format": "pt", "kiln.configuration": json, "kiln.step": "\(step?.step ?? 0)"]
        if sampleShape.count == 3 {
            metadata[CheckpointModel.inputShapeKey] = String(decoding: try JSONEncoder().encode(sampleShape), as: UTF8.self)
        }
        try Checkpoint.save(model: model.state, optimizer: optimizer.state, metadata: metadata, to: url)
    }
}

extension OptimizerKind {
    /// The optimizer this kind names with the configuration's momentum and weight decay.
    func makeOptimizer(_ configuration: TrainingConfiguration) -> any Optimizer {
        switch self {
        case .sgd: SGD(weightDecay: configuration.weightDecay)
        case .momentum: SGD(momentum: configuration.momentum, weightDecay: configuration.weightDecay)
        case .nesterov: SGD(momentum: configuration.momentum, nesterov: true, weightDecay: configuration.weightDecay)
        case .adam: Adam(weightDecay: configuration.weightDecay)
        }
    }
}
