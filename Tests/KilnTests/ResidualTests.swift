// Residual blocks: the layer adds its input (or its projection) to its body's output, names its state like a
// PyTorch module with `body` and `shortcut`; layer strings build `res(...)` blocks with the shortcut the
// shapes need, refuse shapes no shortcut can match, and a small ResNet string trains.
import Foundation
import Kiln
import KilnTestSupport
import XCTest

@testable import KilnTraining

final class ResidualTests: XCTestCase {
    func build(_ text: String, inputShape: [Int] = [1, 10, 8], on device: Device? = nil) throws -> Sequential {
        var random = RandomSource(seed: 4)
        return try ModelSpec(text).build(inputShape: inputShape, random: &random, on: device ?? Device.named("cpu"))
    }

    func testTokensKeepBlocksWhole() throws {
        XCTAssertEqual(
            try ModelSpec.tokens("conv8k3p1-res(conv8k3p1-bn-relu-res(conv8k3p1))-relu-flatten-dense10"),
            ["conv8k3p1", "res(conv8k3p1-bn-relu-res(conv8k3p1))", "relu", "flatten", "dense10"])
        for (text, reason) in [
            ("res(conv8k3", "a '(' without its ')'"), ("relu)-relu", "a ')' without its '('"),
            ("relu--relu", "an empty layer at position 2"),
        ] {
            XCTAssertThrowsError(try ModelSpec.tokens(text)) { XCTAssertTrue("\($0)".contains(reason), "\($0)") }
        }
    }

    func testIdentityAndProjectionShortcuts() throws {
        let model = try build("conv4k3p1-res(conv4k3p1-bn-relu-conv4k3p1-bn)-relu-res(conv6k3s2p1-relu)-flatten-dense10")
        let identity = try XCTUnwrap(model.layers[1] as? Residual)
        XCTAssertNil(identity.shortcut, "same shape: the input itself")
        let projection = try XCTUnwrap(model.layers[3] as? Residual)
        let conv = try XCTUnwrap(projection.shortcut as? Conv2D)
        XCTAssertEqual(conv.weight.shape, [6, 4, 1, 1])
        XCTAssertEqual(conv.stride, [2, 2], "10×8 to 5×4")
        let names = model.state.map(\.name)
        for name in [
            "1.body.0.weight", "1.body.1.running_mean", "1.body.4.bias", "3.body.0.weight", "3.shortcut.weight", "3.shortcut.bias",
            "5.weight",
        ] {
            XCTAssertTrue(names.contains(name), "\(name) in \(names)")
        }
        // Dense blocks on flat inputs project with a dense layer.
        let flat = try build("flatten-res(dense16-relu)-dense10")
        XCTAssertEqual((try XCTUnwrap((flat.layers[1] as? Residual)?.shortcut as? Dense)).weight.shape, [16, 80])
    }

    func testForwardIsBodyPlusShortcut() throws {
        let device = try Device.named("cpu")
        let model = try build("res(conv2k3p1-relu)-res(conv5k1s2)", inputShape: [2, 6, 5], on: device)
        var random = RandomSource(seed: 9)
        let values = random.values(2 * 2 * 6 * 5).map(Float.init)
        let x = try Tensor(values, shape: [2, 2, 6, 5], on: device)
        let first = try XCTUnwrap(model.layers[0] as? Residual)
        let second = try XCTUnwrap(model.layers[1] as? Residual)
        let context = ForwardContext(training: false)
        let middle = try first.body.forward(x, context: context) + x
        let shortcut = try XCTUnwrap(second.shortcut)
        let expected = try second.body.forward(middle, context: context) + shortcut.forward(middle, context: context)
        assertClose(
            try model(x).floats(), try expected.floats(), Tolerance(absolute: 0, relative: 0, reason: "the same ops in the same order"))
        XCTAssertEqual(try model(x).shape, [2, 5, 3, 3])
    }

    func testShapesNoShortcutMatchesAreErrorsSayingWhatToDo() throws {
        for (text, fragment) in [
            ("res(conv4k3)", "keep the size with padding (p1 for k3) or halve it with s2"),
            ("res(flatten-dense4)", "must keep images as images"),
        ] {
            XCTAssertThrowsError(try build(text)) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(text): \(error)")
                XCTAssertTrue("\(error)".hasPrefix("model spec: 'res("), "\(text): \(error)")
            }
        }
        XCTAssertThrowsError(try build("res(conv4k3p1)x")) { XCTAssertTrue("\($0)".contains("nothing after its ')'"), "\($0)") }
        XCTAssertThrowsError(try build("res()")) {
            XCTAssertTrue("\($0)".contains("no layers") || "\($0)".contains("empty layer"), "\($0)")
        }
    }

    func testSmallResNetStringTrains() throws {
        var configuration = TrainingConfiguration()
        configuration.model = "conv4k3p1-bn-relu-res(conv4k3p1-bn-relu-conv4k3p1-bn)-relu-res(conv6k3s2p1-relu)-relu-flatten-dense10"
        configuration.batchSize = 16
        configuration.learningRate = 0.05
        configuration.seed = 2
        let data = try TrainingTests.dataset()
        let trainer = try Trainer(configuration: configuration, data: data, device: Device.named("cpu"))
        let before = try trainer.evaluate(data.test)
        for _ in 0..<2 { _ = try trainer.trainEpoch() }
        let after = try trainer.evaluate(data.test)
        XCTAssertLessThan(after.loss, before.loss * 0.5, "test loss \(before.loss) → \(after.loss)")
        XCTAssertGreaterThan(after.accuracy, 0.8)
    }
}
