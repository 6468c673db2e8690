// What the importer refuses, and how it says so: an unsupported operator names the node and its type; an
// unsupported attribute names the node, its type and the attribute; files that are not ONNX models, opsets
// outside 13...28 and inputs of the wrong shape are errors that name the file, the opset and the shapes.
import Foundation
import Kiln
import KilnONNX
import XCTest

final class ImportErrorTests: XCTestCase {
    /// A one-node model: input `x` of `shape`, the node's output `y`.
    func model(_ opType: String, shape: [Int] = [2, 3], attributes: [Onnx_AttributeProto] = [], opset: Int = 17) throws -> ONNXModel {
        var node = Onnx_NodeProto()
        node.name = "the_node"
        node.opType = opType
        node.input = ["x"]
        node.output = ["y"]
        node.attribute = attributes
        var graph = Onnx_GraphProto()
        graph.node = [node]
        graph.input = [ONNXExport.valueInfo("x", shape)]
        graph.output = [ONNXExport.valueInfo("y", [])]
        var proto = Onnx_ModelProto()
        proto.graph = graph
        var set = Onnx_OperatorSetIdProto()
        set.version = Int64(opset)
        proto.opsetImport = [set]
        return try ONNXModel(proto: proto)
    }

    func attribute(_ name: String, ints values: [Int]) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .ints
        attribute.ints = values.map { Int64($0) }
        return attribute
    }

    func attribute(_ name: String, int value: Int) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .int
        attribute.i = Int64(value)
        return attribute
    }

    func importError(_ model: ONNXModel, shape: Shape = [2, 3]) -> ONNXError? {
        do {
            _ = try ONNXImport.graph(model, inputShapes: [shape], on: Device.named("cpu"))
            return nil
        } catch {
            return error as? ONNXError
        }
    }

    func testUnsupportedOperatorNamesTheNodeAndItsType() throws {
        let error = importError(try model("Einsum"))
        XCTAssertEqual(error, .unsupportedOperator(node: "the_node", opType: "Einsum"))
        XCTAssertTrue(error?.description.contains("Kiln imports Abs, Add, AveragePool") == true, "\(String(describing: error))")
    }

    func testUnsupportedAttributeNamesTheNodeTypeAndAttribute() throws {
        let error = importError(try model("Relu", attributes: [attribute("frobnication", int: 1)]))
        guard case .unsupportedAttribute(let node, let opType, let name, _)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual([node, opType, name], ["the_node", "Relu", "frobnication"])
        let description = error?.description ?? ""
        XCTAssertTrue(description.contains("the_node") && description.contains("Relu") && description.contains("frobnication"), description)
    }

    func testUnsupportedAttributeValueIsNamed() throws {
        var autoPad = Onnx_AttributeProto()
        autoPad.name = "auto_pad"
        autoPad.type = .string
        autoPad.s = Data("SAME_MIDDLE".utf8)
        let pooling = try model("MaxPool", shape: [1, 1, 5, 5], attributes: [attribute("kernel_shape", ints: [2, 2]), autoPad])
        let error = importError(pooling, shape: [1, 1, 5, 5])
        guard case .unsupportedAttribute(_, "MaxPool", "auto_pad", let reason)? = error else {
            return XCTFail("\(String(describing: error))")
        }
        XCTAssertTrue(reason.contains("unknown mode SAME_MIDDLE"), reason)
    }

    /// ceil_mode, once refused where it changed the output size, now rounds the output up as ONNX does.
    func testCeilModeRoundsTheOutputSizeUp() throws {
        let pooling = try model(
            "MaxPool", shape: [1, 1, 5, 5],
            attributes: [attribute("kernel_shape", ints: [2, 2]), attribute("strides", ints: [2, 2]), attribute("ceil_mode", int: 1)])
        let graph = try ONNXImport.graph(pooling, inputShapes: [[1, 1, 5, 5]], on: Device(ReferenceBackend<Float>()))
        XCTAssertEqual(graph.outputs.map(\.shape), [[1, 1, 3, 3]])
    }

    func testOpsetsOutsideTheSupportedRangeAreRefused() throws {
        XCTAssertThrowsError(try model("Relu", opset: 11)) { error in
            XCTAssertEqual(error as? ONNXError, .unsupportedOpset(domain: "", version: 11))
            XCTAssertTrue("\(error)".contains("13 to 28"), "\(error)")
        }
    }

    func testAFileThatIsNotAModelNamesTheFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-not-onnx-\(UUID().uuidString).onnx")
        try Data("this is not a protobuf message".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        XCTAssertThrowsError(try ONNXModel(contentsOf: file)) { error in
            guard case .unreadable(let name, _)? = error as? ONNXError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, file.path)
        }
        XCTAssertThrowsError(try ONNXModel(contentsOf: URL(fileURLWithPath: "/nonexistent/model.onnx"))) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/model.onnx"), "\(error)")
        }
    }

    func testInputsOfTheWrongShapeAreRefused() throws {
        let relu = try model("Relu")
        XCTAssertThrowsError(try ONNXInference(model: relu, device: Device.named("cpu")).run([[1, 2, 3]], shapes: [[3, 1]])) { error in
            XCTAssertTrue("\(error)".contains("x [2, 3]") && "\(error)".contains("[3, 1]"), "\(error)")
        }
        XCTAssertThrowsError(try ONNXInference(model: relu, device: Device.named("cpu")).run([[1, 2]], shapes: [[2, 3]])) { error in
            XCTAssertTrue("\(error)".contains("2 values"), "\(error)")
        }
    }

    func testReshapeToSizesWhoseProductOverflowsIsRefused() throws {
        // A shape of [2^62, 2^62] trapped multiplying its sizes (issue 15's fresh hostile inputs).
        for sizes in [[1 << 62, 1 << 62], [-1, 1 << 62, 4]] {
            var node = Onnx_NodeProto()
            node.name = "the_node"
            node.opType = "Reshape"
            node.input = ["x", "shape"]
            node.output = ["y"]
            var shape = Onnx_TensorProto()
            shape.name = "shape"
            shape.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
            shape.dims = [Int64(sizes.count)]
            shape.int64Data = sizes.map { Int64($0) }
            var graph = Onnx_GraphProto()
            graph.node = [node]
            graph.initializer = [shape]
            graph.input = [ONNXExport.valueInfo("x", [2, 3])]
            graph.output = [ONNXExport.valueInfo("y", [])]
            var proto = Onnx_ModelProto()
            proto.graph = graph
            var set = Onnx_OperatorSetIdProto()
            set.version = 17
            proto.opsetImport = [set]
            let model = try ONNXModel(proto: proto)
            XCTAssertThrowsError(try ONNXInference(model: model, device: Device.named("cpu")).run([[1, 2, 3, 4, 5, 6]], shapes: [[2, 3]])) {
                XCTAssertTrue("\($0)".contains("cannot reshape"), "\($0)")
            }
        }
    }
}
