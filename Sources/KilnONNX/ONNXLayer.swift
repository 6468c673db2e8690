// ONNXLayer: an imported ONNX graph with one float input as a Kiln layer, so everything that takes a layer
// (evaluation on a data set, `Evaluation`, the bench) runs ONNX models through the same plans as Kiln's own.
import KilnCore
import KilnNN

/// The graph of an ONNX model with one float input; its output is the model's first output. Inference only:
/// the weights are constants of the graph, not trainable parameters.
public final class ONNXLayer: Layer {
    public let model: ONNXModel

    /// Throws unless the model has exactly one input, a float tensor.
    public init(_ model: ONNXModel) throws {
        guard model.inputs.count == 1, let input = model.inputs.first, !input.isInteger else {
            throw ONNXError.inputMismatch(
                "a layer needs a model with one float input; this one takes \(model.inputs.map(\.description).joined(separator: ", "))")
        }
        self.model = model
    }

    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        guard !context.training else {
            throw ONNXError.invalidModel("an imported ONNX model runs in inference only; it cannot be trained")
        }
        return try ONNXGraphBuilder(model: model, device: x.device).build(inputs: [x], integerInputs: [])[0]
    }
}
