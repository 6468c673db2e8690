// ONNXExport: a Kiln model in evaluation form as an ONNX model (opset 17): Sequential models of Dense,
// Conv2D, ConvTranspose2D, pooling, Flatten, Dropout (the identity), BatchNorm (inference form, with its
// running statistics), residual blocks, every activation and LSTM layers: whatever a layer string builds.
// Weights are initializers named as in Kiln's checkpoints (PyTorch's state_dict names).
import Foundation
import KilnCore
import KilnData
import KilnFiles
import KilnNN

public enum ONNXExport {
    /// The opset exported models import (what PyTorch's exporter writes by default; every operator used here
    /// has had its current form since 17 or earlier).
    public static let opset = 17

    /// `model` as an ONNX model for inputs of `inputShape`, where nil marks a free dimension (the batch, or
    /// an LSTM's steps and batch). `metadata` goes into the model's metadata_props (Kiln stores the input
    /// normalisation there).
    public static func model(
        _ model: any Layer, inputShape: [Int?], inputName: String = "input", outputName: String = "output",
        metadata: [String: String] = [:], on device: Device
    ) throws -> Onnx_ModelProto {
        var graph = GraphEmitter()
        let output = try graph.emit(model, name: "", input: inputName)
        var proto = Onnx_GraphProto()
        proto.name = "kiln"
        proto.node = graph.nodes
        proto.initializer = graph.initializers.map(\.proto)
        // A model without nodes (only Dropout) still needs one to name its output.
        if output == inputName {
            proto.node.append(GraphEmitter.node("Identity", [inputName], [outputName], name: "identity"))
        } else {
            rename(output, to: outputName, in: &proto)
        }
        proto.input = [valueInfo(inputName, inputShape)]
        proto.output = [valueInfo(outputName, try outputShape(model, inputShape: inputShape, on: device))]

        var modelProto = Onnx_ModelProto()
        modelProto.irVersion = 8
        modelProto.producerName = "kiln"
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = Int64(Self.opset)
        modelProto.opsetImport = [opset]
        modelProto.graph = proto
        modelProto.metadataProps = metadata.sorted { $0.key < $1.key }.map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
        return modelProto
    }

    /// Writes `model` (see `model(_:inputShape:...)`) to `url` atomically.
    public static func write(
        _ model: any Layer, inputShape: [Int?], metadata: [String: String] = [:], on device: Device, to url: URL
    ) throws {
        let proto = try Self.model(model, inputShape: inputShape, metadata: metadata, on: device)
        try AtomicFile.write(try proto.serializedData(), to: url)
    }

    /// The output's dimensions, free where they follow a free input dimension: the model's shape rules run
    /// (lazily, nothing is computed) for two sizes of every free dimension, and the dimensions that change are free.
    public static func outputShape(_ model: any Layer, inputShape: [Int?], on device: Device) throws -> [Int?] {
        func output(_ free: Int) throws -> [Int] {
            let shape = Shape(inputShape.map { $0 ?? free })
            let x = try Tensor.zeros(shape, on: device)
            return try model.forward(x, context: ForwardContext(training: false)).shape.dimensions
        }
        let (small, large) = (try output(2), try output(3))
        return zip(small, large).map { $0 == $1 ? $0 : nil }
    }

    /// A float tensor value named `name` with `dimensions` (nil: a free dimension).
    public static func valueInfo(_ name: String, _ dimensions: [Int?]) -> Onnx_ValueInfoProto {
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.shape.dim = dimensions.enumerated().map { index, size in
            var dimension = Onnx_TensorShapeProto.Dimension()
            if let size { dimension.dimValue = Int64(size) } else { dimension.dimParam = "d\(index)" }
            return dimension
        }
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type.tensorType = tensor
        return info
    }

    /// Renames the value `old` (the last node's output) to `new`.
    static func rename(_ old: String, to new: String, in graph: inout Onnx_GraphProto) {
        for index in graph.node.indices {
            graph.node[index].output = graph.node[index].output.map { $0 == old ? new : $0 }
            graph.node[index].input = graph.node[index].input.map { $0 == old ? new : $0 }
        }
    }
}
