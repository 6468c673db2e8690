// NodeTestCase: one ONNX backend node test (model.onnx with test_data_set_0/input_*.pb and output_*.pb, as
// the onnx package writes them) read from Tests/KilnONNXTests/Data/node, and run on a Kiln device. The
// PyTorch models in Data/pytorch use the same layout.
import Foundation
import Kiln
import KilnONNX

/// An ONNX node test case on disk.
struct NodeTestCase {
    let name: String
    let folder: URL

    /// Every case under Data/node (or another folder of Data), sorted by name.
    static func all(in collection: String = "node") throws -> [NodeTestCase] {
        let root = dataDirectory.appendingPathComponent(collection)
        return try FileManager.default.contentsOfDirectory(atPath: root.path).sorted().map {
            NodeTestCase(name: $0, folder: root.appendingPathComponent($0))
        }
    }

    /// Tests/KilnONNXTests/Data, found from this source file (the tests run from a checkout).
    static var dataDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Data")
    }

    var model: URL { folder.appendingPathComponent("model.onnx") }

    /// The tensors `input_0.pb, input_1.pb, ...` (or `output_*`) of the first data set.
    func arrays(_ kind: String) throws -> [ONNXArray] {
        let data = folder.appendingPathComponent("test_data_set_0")
        var arrays: [ONNXArray] = []
        while case let file = data.appendingPathComponent("\(kind)_\(arrays.count).pb"), FileManager.default.fileExists(atPath: file.path) {
            arrays.append(try ONNXArray(Onnx_TensorProto(serializedBytes: Data(contentsOf: file))))
        }
        return arrays
    }

    /// Imports the model on `device`, runs it on the case's inputs, and returns each output with the expected values.
    func run(on device: Device) throws -> [(actual: ONNXOutput, expected: ONNXArray)] {
        let inference = try ONNXInference(contentsOf: model, device: device)
        let inputs = try arrays("input")
        let expected = try arrays("output")
        guard !expected.isEmpty else { throw ONNXError.invalidModel("\(name) has no data set (see Tools/generate_onnx_node_tests.py)") }
        let outputs = try inference.run(inputs.map(\.floats), shapes: inputs.map(\.shape))
        return Array(zip(outputs, expected)).map { ($0.0, $0.1) }
    }
}
