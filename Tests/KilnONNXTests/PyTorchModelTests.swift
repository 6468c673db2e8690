// A CNN and an LSTM exported from PyTorch (Tools/pytorch_onnx_models.py, files in Data/pytorch) give
// PyTorch's outputs on every device, through the same plan and fusions as a Kiln model.
import Foundation
import Kiln
import KilnONNX
import KilnTestSupport
import XCTest

final class PyTorchModelTests: XCTestCase {
    /// The bound: 1e-4 absolute against PyTorch's float32 outputs (sums of up to 144 products here,
    /// in another order than PyTorch's; the LSTM's errors are bounded by its tanh and sigmoid).
    static let tolerance = Tolerance(absolute: 1e-4, relative: 0, reason: "the issue's bound against PyTorch's outputs")

    func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let testCase = try XCTUnwrap(NodeTestCase.all(in: "pytorch").first { $0.name == name }, "Data/pytorch/\(name) is missing")
        for device in try availableDevices() {
            var worst = 0.0
            for (actual, expected) in try testCase.run(on: device) {
                XCTAssertEqual(actual.shape, expected.shape, "\(name) \(actual.name) on \(device)", file: file, line: line)
                assertClose(actual.values, expected.floats, Self.tolerance, "\(name) \(actual.name) on \(device)", file: file, line: line)
                worst = max(
                    worst, Self.tolerance.compare(actual.values.map(Double.init), expected.floats.map(Double.init)).maxAbsoluteError)
            }
            print("PyTorch \(name) on \(device): max abs error \(worst)")
        }
    }

    func testCNNMatchesPyTorch() throws { try check("cnn") }

    func testLSTMWithInitialStatesMatchesPyTorch() throws { try check("lstm") }

    /// The imported CNN compiles like a Kiln model: convolution + activation and Gemm + activation fuse, and
    /// batch norm's constants are folded at load.
    func testImportedCNNUsesThePlansFusions() throws {
        let inference = try ONNXInference(
            contentsOf: NodeTestCase.dataDirectory.appendingPathComponent("pytorch/cnn/model.onnx"), device: Device.named("cpu"))
        let plan = try inference.plan(for: [[2, 1, 28, 28]]).plan
        let fusions = plan.report.fusions.joined(separator: "; ")
        XCTAssertTrue(fusions.contains("linear"), "Gemm + bias + activation should fuse: \(plan.report)")
        XCTAssertTrue(plan.report.intermediateBytes < plan.report.intermediateBytesWithoutReuse, "buffers should be reused: \(plan.report)")
    }

    /// The calls the README's Swift ONNX example makes, with what it prints.
    func testREADMESwiftExample() throws {
        let device = try availableDevices().last ?? Device.named("cpu")
        let model = try ONNXInference(
            contentsOf: NodeTestCase.dataDirectory.appendingPathComponent("pytorch/cnn/model.onnx"), device: device)
        XCTAssertEqual("\(model.model.inputs) \(model.model.outputs)", "[image [?, 1, 28, 28]] [log_probabilities [?, 10]]")
        let pixels = [Float](repeating: 0.5, count: 5 * 784)
        let outputs = try model.run([pixels], shapes: [[5, 1, 28, 28]])
        XCTAssertEqual(outputs[0].shape, [5, 10])
        var random = RandomSource(seed: 0)
        let kilnModel = try ModelSpec.cnn.build(inputShape: [1, 28, 28], random: &random, on: device)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-readme-\(UUID().uuidString).onnx")
        defer { try? FileManager.default.removeItem(at: file) }
        try ONNXExport.write(kilnModel, inputShape: [nil, 1, 28, 28], on: device, to: file)
        XCTAssertEqual(try ONNXModel(contentsOf: file).outputs.map(\.dimensions), [[nil, 10]])
    }
}
