// From issue 15's fresh set of hostile inputs (Docs/hostile-inputs.md), what needed a fix at the command line:
// a pipe named like an image in a class folder or given to `kiln predict` is an error, not a hang; a test split
// with no images says so instead of reporting 0% accuracy; an export input shape whose sizes overflow is an
// error, not a trap.
import Foundation
import KilnData
import XCTest

final class FreshHostileInputTests: KilnCommandLineTestCase {
    /// A folder of `classes` class folders with `perClass` grey 4×4 PNGs each.
    func imageFolder(classes: Int, perClass: Int) throws -> URL {
        let root = try scratchFolder()
        for label in 0..<classes {
            let folder = root.appendingPathComponent("class\(label)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for index in 0..<perClass {
                try PNG.encode(width: 4, height: 4, pixels: [UInt8](repeating: UInt8(label * 40 + index), count: 16), rgb: false)
                    .write(to: folder.appendingPathComponent("\(index).png"))
            }
        }
        return root
    }

    func testPipesNamedLikeImagesAreRefused() throws {
        let data = try imageFolder(classes: 2, perClass: 5)
        let pipe = data.appendingPathComponent("class0/pipe.png")
        XCTAssertEqual(mkfifo(pipe.path, 0o600), 0)
        let out = try scratchFolder()
        assertCleanFailure(
            try run(["train", "--model", "flatten-dense2", "--device", "cpu", "--dataset", data.path, "--steps", "1", "--out", out.path]),
            "pipe.png", "it is a pipe")
        try FileManager.default.removeItem(at: pipe)
        let train = try run([
            "train", "--model", "flatten-dense2", "--device", "cpu", "--dataset", data.path, "--epochs", "1", "--batch-size", "2", "--out",
            out.path,
        ])
        XCTAssertEqual(train.status, 0, train.error)
        XCTAssertEqual(mkfifo(pipe.path, 0o600), 0)
        let checkpoint = out.appendingPathComponent("checkpoint.safetensors").path
        assertCleanFailure(try run(["predict", "--checkpoint", checkpoint, "--device", "cpu", pipe.path]), "pipe.png", "a pipe")
        assertCleanFailure(
            try run([
                "export", "--checkpoint", checkpoint, "--onnx", out.appendingPathComponent("m.onnx").path, "--input-shape",
                "\(1 << 62),\(1 << 62),2",
            ]),
            "the input shape")
    }

    func testATestSplitWithNoImagesSaysSo() throws {
        // One image per class: 20% of each class held out is no image.
        let data = try imageFolder(classes: 3, perClass: 1)
        let out = try scratchFolder()
        let train = try run([
            "train", "--model", "flatten-dense3", "--device", "cpu", "--dataset", data.path, "--epochs", "1", "--batch-size", "1", "--out",
            out.path,
        ])
        XCTAssertEqual(train.status, 0, train.error)
        XCTAssertTrue(train.output.contains("test set: no images, so no test accuracy or loss"), train.output)
        XCTAssertFalse(train.output.contains("test accuracy 0.00%"), train.output)
    }
}
