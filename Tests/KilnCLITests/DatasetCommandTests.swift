// `kiln train` and `kiln eval` on data set folders: an RGB image folder with 3 classes and a validation split
// (best checkpoint, early stop, per-step metrics, the test set once at the end, eval agreeing with it), a
// 26-class NumPy set, and clean failures for labels outside the classes and models that do not fit the data.
import Foundation
import KilnData
import XCTest

final class DatasetCommandTests: KilnCommandLineTestCase {
    /// An image folder of `perClass` RGB 12×12 PNGs in each of `classes` class folders: class k is a bright
    /// square in colour k, at a position that varies, on a noisy background.
    func rgbFolder(classes: [String], perClass: Int) throws -> URL {
        let root = try scratchFolder()
        let colours: [[UInt8]] = [[230, 40, 40], [40, 230, 40], [40, 40, 230]]
        var noise = UInt32(7)
        for (label, name) in classes.enumerated() {
            let folder = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for index in 0..<perClass {
                var pixels = [UInt8](repeating: 0, count: 12 * 12 * 3)
                for offset in 0..<pixels.count {
                    noise = noise &* 1_103_515_245 &+ 12345
                    pixels[offset] = UInt8(noise >> 24 & 0x3F)
                }
                let (top, left) = (index % 5, (index / 5) % 5)
                for y in top..<top + 6 {
                    for x in left..<left + 6 {
                        for channel in 0..<3 { pixels[(y * 12 + x) * 3 + channel] = colours[label % 3][channel] }
                    }
                }
                try PNG.encode(width: 12, height: 12, pixels: pixels, rgb: true).write(to: folder.appendingPathComponent("\(index).png"))
            }
        }
        return root
    }

    func testRGBFolderWithThreeClassesTrainsValidatesAndEvaluates() throws {
        let data = try rgbFolder(classes: ["red", "green", "blue"], perClass: 30)
        let out = try scratchFolder()
        let train = try run([
            "train", "--model", "conv8k3p1-relu-maxpool2-flatten-dense3", "--device", "cpu", "--dataset", data.path, "--validation-split",
            "0.2",
            "--epochs", "3", "--batch-size", "8", "--lr", "0.05", "--early-stop", "5", "--out", out.path,
        ])
        XCTAssertEqual(train.status, 0, train.error)
        XCTAssertTrue(train.output.contains("images read as RGB 12×12, classes from the folder names"), train.output)
        XCTAssertTrue(train.output.contains("20% of each class held out as the test set (18 images)"), train.output)
        XCTAssertTrue(train.output.contains("validation: 20% of each class of the training set held out (15 images)"), train.output)
        XCTAssertTrue(
            train.output.contains("57 training, 15 validation, 18 test images of 3×12×12, 3 classes: blue, green, red"), train.output)
        XCTAssertTrue(train.output.contains("validation accuracy"), train.output)
        let testLine = try XCTUnwrap(train.output.split(separator: "\n").first { $0.hasPrefix("test accuracy") }, train.output)
        XCTAssertTrue(testLine.contains("best epoch"), String(testLine))
        for name in ["checkpoint.safetensors", "best.safetensors", "metrics.json", "metrics.csv", "metrics.svg", "steps.jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), name)
        }
        // 57 training images in batches of 8: 7 steps an epoch, one JSON line each.
        let steps = try String(contentsOf: out.appendingPathComponent("steps.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(steps.count, 21)
        XCTAssertTrue(
            steps[20].contains("\"step\":21") && steps[20].contains("\"learning_rate\":0.05") && steps[20].contains("images_per_second"),
            String(steps[20]))
        let csv = try String(contentsOf: out.appendingPathComponent("metrics.csv"), encoding: .utf8)
        XCTAssertTrue(csv.hasPrefix("epoch,train_loss,validation_loss,validation_accuracy,test_loss,test_accuracy,"), csv)
        // The checkpoint names the classes and the data; eval finds the same test set from it alone.
        let best = out.appendingPathComponent("best.safetensors")
        let metadata = try SafeTensorsFile(contentsOf: best).metadata
        XCTAssertEqual(metadata["kiln.class_names"], "[\"blue\",\"green\",\"red\"]")
        XCTAssertEqual(metadata["kiln.input_shape"], "[3,12,12]")
        let eval = try run(["eval", "--checkpoint", best.path, "--device", "cpu"])
        XCTAssertEqual(eval.status, 0, eval.error)
        let accuracy = try XCTUnwrap(testLine.split(separator: " ").dropFirst(2).first)
        XCTAssertTrue(eval.output.contains("test accuracy \(accuracy)"), "train said \(testLine); eval said \(eval.output)")
        XCTAssertTrue(eval.output.contains(" red\n") || eval.output.hasSuffix(" red\n"), eval.output)
    }

    func testTwentySixClassNumPySetTrainsAndEvaluates() throws {
        let data = try scratchFolder()
        // 26 classes of 8×8 grey images: class k lights pixel k (of the first 26) and a few neighbours.
        let (count, testCount) = (26 * 8, 26 * 2)
        func images(_ n: Int, seed: Int) -> (pixels: [UInt8], labels: [Int64]) {
            var pixels: [UInt8] = []
            var labels: [Int64] = []
            for index in 0..<n {
                let label = (index + seed) % 26
                var image = [UInt8](repeating: 10, count: 64)
                for pixel in [label, label + 8, label + 16] where pixel < 64 { image[pixel] = 250 }
                pixels += image
                labels.append(Int64(label))
            }
            return (pixels, labels)
        }
        for (split, n, seed) in [("train", count, 0), ("test", testCount, 3)] {
            let (pixels, labels) = images(n, seed: seed)
            try npy(descr: "|u1", shape: [n, 8, 8], payload: pixels).write(to: data.appendingPathComponent("\(split)_images.npy"))
            try npy(descr: "<i8", shape: [n], payload: labels.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) })
                .write(to: data.appendingPathComponent("\(split)_labels.npy"))
        }
        let letters = (UnicodeScalar("a").value...UnicodeScalar("z").value).map { String(UnicodeScalar($0)!) }
        try Data(letters.joined(separator: "\n").utf8).write(to: data.appendingPathComponent("classes.txt"))
        let out = try scratchFolder()
        let train = try run([
            "train", "--model", "mlp", "--device", "cpu", "--dataset", data.path, "--epochs", "3", "--batch-size", "16", "--lr", "0.05",
            "--out", out.path,
        ])
        XCTAssertEqual(train.status, 0, train.error)
        XCTAssertTrue(train.output.contains("26 classes: a, b, c"), train.output)
        // flatten-dense256-relu-dense128-relu-dense26 on 8×8 images: 64·256 + 256 + 256·128 + 128 + 128·26 + 26.
        XCTAssertTrue(train.output.contains("training mlp (52890 parameters)"), "the mlp preset ends in dense26: \(train.output)")
        let eval = try run(["eval", "--checkpoint", out.appendingPathComponent("checkpoint.safetensors").path, "--device", "cpu"])
        XCTAssertEqual(eval.status, 0, eval.error)
        let rows = eval.output.split(separator: "\n").filter { $0.hasSuffix(" z") || $0.hasSuffix(" a") }
        XCTAssertEqual(rows.count, 2, "a 26 × 26 confusion matrix with class names: \(eval.output)")
        let accuracy = try XCTUnwrap(eval.output.split(separator: "\n").first { $0.hasPrefix("test accuracy") })
        XCTAssertFalse(accuracy.hasPrefix("test accuracy 0.00%"), String(accuracy))
    }

    func testLabelsOutsideTheClassesFailCleanlyBeforeTraining() throws {
        let data = try tinyDataset()
        // Test label 200 at index 3: the training labels give 10 classes.
        let labels = data.appendingPathComponent("t10k-labels-idx1-ubyte")
        var bytes = try Data(contentsOf: labels)
        bytes[8 + 3] = 200
        try bytes.write(to: labels)
        let out = try scratchFolder()
        let train = try run(["train", "--model", "mlp", "--device", "cpu", "--dataset", data.path, "--epochs", "1", "--out", out.path])
        assertCleanFailure(train, labels.path, "label 200 at index 3", "outside the data set's 10 classes (0 to 9)")
        XCTAssertFalse(train.output.contains("epoch 1"), "nothing trained: \(train.output)")
        let mismatch = try run([
            "train", "--model", "flatten-dense5", "--device", "cpu", "--dataset", try tinyDataset().path, "--out", out.path,
        ])
        assertCleanFailure(mismatch, "outputs 5 classes", "end the model with dense10")
        let tooSmall = try run([
            "train", "--model", "maxpool2-maxpool2-maxpool2-maxpool2-maxpool2-flatten-dense10", "--device", "cpu", "--dataset",
            try tinyDataset().path, "--out", out.path,
        ])
        assertCleanFailure(tooSmall, "model spec", "larger than the input")
    }

    /// A NumPy file as numpy.save writes it.
    func npy(descr: String, shape: [Int], payload: [UInt8]) -> Data {
        let extents = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': \(extents), }".utf8)
        header += [UInt8](repeating: 0x20, count: (64 - (10 + header.count + 1) % 64) % 64) + [0x0A]
        return Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header + payload)
    }
}
