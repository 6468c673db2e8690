// The ONNX backend node tests for the operators Kiln imports (Data/node, written by
// Tools/generate_onnx_node_tests.py from the onnx package), on every device: each case in scope must match
// ONNX's expected outputs, and each case outside Kiln's semantics must fail at import with an error that
// names the reason, so a case that starts to work is noticed and moved in scope.
import Foundation
import Kiln
import KilnONNX
import KilnTestSupport
import XCTest

final class NodeTests: XCTestCase {
    /// Why a node test is outside what Kiln computes today, with a fragment of the error it must give.
    enum OutOfScope: String {
        case integerArithmetic = "element type"
        case booleanOrIndexOutput = "has element type"
        case training = "training"
        case threeDimensional = "3-D windows"
        case opsetBelow13 = "opset 11"
        case sequenceOrOptional = "not a tensor"
        case peepholes = "peephole"
        case emptyTensor = "zero-sized"

        var reason: String {
            switch self {
            case .integerArithmetic: "integer tensors: Kiln computes in float32"
            case .booleanOrIndexOutput: "Dropout's boolean mask and MaxPool's int64 indices are not computed"
            case .training: "training-mode BatchNormalization and Dropout: Kiln imports inference graphs"
            case .threeDimensional: "3-D convolution and pooling: Kiln works over 1 or 2 spatial axes"
            case .opsetBelow13: "opset 11 models: Kiln imports opsets 13 and later"
            case .sequenceOrOptional: "sequence and optional values"
            case .peepholes: "LSTM peephole weights"
            case .emptyTensor: "zero-sized tensors"
            }
        }
    }

    static let outOfScope: [String: OutOfScope] = [
        "test_add_int16": .integerArithmetic,
        "test_add_int8": .integerArithmetic,
        "test_add_uint16": .integerArithmetic,
        "test_add_uint32": .integerArithmetic,
        "test_add_uint64": .integerArithmetic,
        "test_add_uint8": .integerArithmetic,
        "test_averagepool_3d_default": .threeDimensional,
        "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_False": .threeDimensional,
        "test_averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_True": .threeDimensional,
        "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_False": .threeDimensional,
        "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True": .threeDimensional,
        "test_averagepool_3d_dilations_small": .threeDimensional,
        "test_batchnorm_epsilon_training_mode": .training,
        "test_batchnorm_example_training_mode": .training,
        "test_clip_default_int8_inbounds_expanded": .integerArithmetic,
        "test_convtranspose_3d": .threeDimensional,
        "test_div_int16": .integerArithmetic,
        "test_div_int32_trunc": .integerArithmetic,
        "test_div_int8": .integerArithmetic,
        "test_div_uint16": .integerArithmetic,
        "test_div_uint32": .integerArithmetic,
        "test_div_uint64": .integerArithmetic,
        "test_div_uint8": .integerArithmetic,
        "test_dropout_default_mask": .booleanOrIndexOutput,
        "test_dropout_default_mask_ratio": .booleanOrIndexOutput,
        "test_dropout_default_old": .opsetBelow13,
        "test_dropout_random_old": .opsetBelow13,
        "test_identity_opt": .sequenceOrOptional,
        "test_identity_sequence": .sequenceOrOptional,
        "test_lstm_with_peepholes": .peepholes,
        "test_maxpool_2d_uint8": .integerArithmetic,
        "test_maxpool_3d_default": .threeDimensional,
        "test_maxpool_3d_dilations": .threeDimensional,
        "test_maxpool_3d_dilations_use_ref_impl": .threeDimensional,
        "test_maxpool_3d_dilations_use_ref_impl_large": .threeDimensional,
        "test_maxpool_with_argmax_2d_precomputed_pads": .booleanOrIndexOutput,
        "test_maxpool_with_argmax_2d_precomputed_strides": .booleanOrIndexOutput,
        "test_mul_int16": .integerArithmetic,
        "test_mul_int8": .integerArithmetic,
        "test_mul_uint16": .integerArithmetic,
        "test_mul_uint32": .integerArithmetic,
        "test_mul_uint64": .integerArithmetic,
        "test_mul_uint8": .integerArithmetic,
        "test_reshape_allowzero_reordered": .emptyTensor,
        "test_sub_int16": .integerArithmetic,
        "test_sub_int8": .integerArithmetic,
        "test_sub_uint16": .integerArithmetic,
        "test_sub_uint32": .integerArithmetic,
        "test_sub_uint64": .integerArithmetic,
        "test_sub_uint8": .integerArithmetic,
        "test_training_dropout": .training,
        "test_training_dropout_default": .training,
        "test_training_dropout_default_mask": .booleanOrIndexOutput,
        "test_training_dropout_mask": .booleanOrIndexOutput,
        "test_training_dropout_zero_ratio": .training,
        "test_training_dropout_zero_ratio_mask": .booleanOrIndexOutput,
    ]

    /// ONNX's own backend test runner compares node outputs with rtol 1e-3 and atol 1e-7; some expected
    /// outputs are written with four digits (the AveragePool examples), so a tighter bound would test the
    /// rounding of the test data rather than Kiln.
    static let tolerance = Tolerance(
        absolute: 1e-7, relative: 1e-3, reason: "ONNX's node-test tolerance; some expected values are rounded to 4 digits")

    func testNodeTestsInScopeMatchONNXOnEveryDevice() throws {
        let cases = try NodeTestCase.all()
        XCTAssertGreaterThan(cases.count, 200, "Data/node is missing cases; run Tools/generate_onnx_node_tests.py")
        for device in try availableDevices() {
            var passed = 0
            var inScope = 0
            var worst = (error: 0.0, name: "")
            for testCase in cases where Self.outOfScope[testCase.name] == nil {
                inScope += 1
                do {
                    let results = try testCase.run(on: device)
                    var matches = true
                    for (actual, expected) in results {
                        guard actual.shape == expected.shape else {
                            XCTFail("\(testCase.name) on \(device): output \(actual.name) is \(actual.shape), expected \(expected.shape)")
                            matches = false
                            continue
                        }
                        let comparison = Self.tolerance.compare(actual.values.map(Double.init), expected.floats.map(Double.init))
                        if comparison.maxAbsoluteError > worst.error { worst = (comparison.maxAbsoluteError, testCase.name) }
                        if !comparison.passed { matches = false }
                        assertClose(actual.values, expected.floats, Self.tolerance, "\(testCase.name) on \(device), output \(actual.name)")
                    }
                    if matches { passed += 1 }
                } catch {
                    XCTFail("\(testCase.name) on \(device): \(error)")
                }
            }
            print(
                "ONNX node tests on \(device): \(passed) of \(inScope) in scope passed; largest error \(worst.error) (\(worst.name)); \(Self.outOfScope.count) out of scope"
            )
        }
    }

    func testNodeTestsOutOfScopeFailWithTheirReason() throws {
        let device = try Device.named("cpu")
        let names = Set(try NodeTestCase.all().map(\.name))
        for (name, reason) in Self.outOfScope.sorted(by: { $0.key < $1.key }) {
            XCTAssertTrue(names.contains(name), "\(name) is listed out of scope but has no data")
            let testCase = NodeTestCase(name: name, folder: NodeTestCase.dataDirectory.appendingPathComponent("node/\(name)"))
            do {
                let model = try ONNXModel(contentsOf: testCase.model)
                let shapes = model.inputs.map { Shape($0.dimensions.map { $0 ?? 1 }) }
                let integers = Dictionary(
                    uniqueKeysWithValues: zip(model.inputs, (try? testCase.arrays("input")) ?? []).compactMap { info, array in
                        info.isInteger ? (info.name, array.integers ?? []) : nil
                    })
                _ = try ONNXImport.graph(model, inputShapes: shapes, integerInputs: integers, on: device)
                XCTFail("\(name) imports now; it was out of scope (\(reason.reason)): move it in scope")
            } catch {
                XCTAssertTrue(
                    "\(error)".contains(reason.rawValue), "\(name): expected an error about \(reason.reason), got: \(error)")
            }
        }
    }
}
