// `kiln predict` agrees with `kiln eval`: 1,000 Fashion-MNIST test images written as PNG files, predicted one
// by one, give the confusion matrix and accuracy that eval gives on the same images (read from IDX and from
// the PNG folder); plus the text output, class names, and clean failures.
import Foundation
import KilnData
import XCTest

final class PredictCommandTests: KilnCommandLineTestCase {
    struct PredictionJSON: Decodable {
        struct Candidate: Decodable {
            let label: Int
            let name: String
            let probability: Double
        }
        let file: String
        let top: [Candidate]
    }

    struct EvaluationJSON: Decodable {
        let accuracy: Double
        let confusion: [[Int]]
    }

    func testPredictAgreesWithEvalOnAThousandPNGs() throws {
        guard FileManager.default.fileExists(atPath: IDXDataset.fashionMNISTDirectory.path) else {
            throw XCTSkip("dataset-fashion-mnist is not installed")
        }
        let out = try scratchFolder()
        let train = try run(["train", "--model", "flatten-dense32-relu-dense10", "--device", "cpu", "--steps", "60", "--out", out.path])
        XCTAssertEqual(train.status, 0, train.error)
        let checkpoint = out.appendingPathComponent("checkpoint.safetensors")

        // The first 1,000 test images: as PNGs in train/ and test/ class folders named 0 to 9 (so the folder
        // order is the label order), and as an IDX test set.
        let fashion = try IDXDataset(directory: IDXDataset.fashionMNISTDirectory)
        let count = 1000
        let folder = try scratchFolder()
        var files: [(url: URL, label: Int)] = []
        for index in 0..<count {
            let label = Int(fashion.test.labels[index])
            let pixels = Array(fashion.test.pixels[index * 784..<(index + 1) * 784])
            for split in ["train", "test"] {
                let url = folder.appendingPathComponent("\(split)/\(label)/\(index).png")
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try PNG.encode(width: 28, height: 28, pixels: pixels).write(to: url)
                if split == "test" { files.append((url, label)) }
            }
        }
        let idx = try scratchFolder()
        func idxFile(_ dimensions: [Int], _ payload: ArraySlice<UInt8>) -> Data {
            var bytes: [UInt8] = [0, 0, 8, UInt8(dimensions.count)]
            for dimension in dimensions { bytes += withUnsafeBytes(of: UInt32(dimension).bigEndian, Array.init) }
            return Data(bytes + payload)
        }
        for prefix in ["train", "t10k"] {
            try idxFile([count, 28, 28], fashion.test.pixels[0..<count * 784]).write(
                to: idx.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try idxFile([count], fashion.test.labels[0..<count]).write(to: idx.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }

        let predict = try run(
            ["predict", "--checkpoint", checkpoint.path, "--device", "cpu", "--json", "--top", "1"] + files.map(\.url.path))
        XCTAssertEqual(predict.status, 0, predict.error)
        let predictions = try JSONDecoder().decode([PredictionJSON].self, from: Data(predict.output.utf8))
        XCTAssertEqual(predictions.map(\.file), files.map(\.url.path))
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: 10), count: 10)
        for (prediction, file) in zip(predictions, files) { confusion[file.label][prediction.top[0].label] += 1 }
        let correct = (0..<10).reduce(0) { $0 + confusion[$1][$1] }

        for dataset in [idx, folder] {
            let eval = try run(["eval", "--checkpoint", checkpoint.path, "--device", "cpu", "--dataset", dataset.path, "--json"])
            XCTAssertEqual(eval.status, 0, eval.error)
            let report = try JSONDecoder().decode(EvaluationJSON.self, from: Data(eval.output.utf8))
            XCTAssertEqual(report.confusion, confusion, "eval on \(dataset.lastPathComponent) and predict, image by image")
            XCTAssertEqual(report.accuracy, Double(correct) / Double(count))
        }
        XCTAssertGreaterThan(correct, 500, "a model trained 60 steps is well above chance")
    }

    func testTextOutputNamesClassesAndFailuresAreClean() throws {
        guard FileManager.default.fileExists(atPath: IDXDataset.fashionMNISTDirectory.path) else {
            throw XCTSkip("dataset-fashion-mnist is not installed")
        }
        let checkpoint = try oneStepCheckpoint(data: IDXDataset.fashionMNISTDirectory)
        let folder = try scratchFolder()
        // A colour JPEG-sized picture: converted to grey 28×28 on the way in.
        let picture = folder.appendingPathComponent("photo.png")
        try PNG.encode(width: 40, height: 30, pixels: (0..<40 * 30 * 3).map { UInt8($0 % 256) }, rgb: true).write(to: picture)
        let predict = try run(["predict", "--checkpoint", checkpoint.path, "--device", "cpu", picture.path])
        XCTAssertEqual(predict.status, 0, predict.error)
        XCTAssertTrue(predict.output.hasPrefix(picture.path + ": "), predict.output)
        let names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
        XCTAssertEqual(predict.output.split(separator: ",").count, 3, "three classes by default: \(predict.output)")
        XCTAssertTrue(names.contains { predict.output.contains(": \($0) ") }, predict.output)
        // A relative path is printed as it was given, in text and in JSON.
        let relative = try run(["predict", "--checkpoint", checkpoint.path, "--device", "cpu", "--top", "1", "photo.png"], in: folder)
        XCTAssertTrue(relative.output.hasPrefix("photo.png: "), relative.output + relative.error)
        let relativeJSON = try run(
            ["predict", "--checkpoint", checkpoint.path, "--device", "cpu", "--top", "1", "--json", "photo.png"], in: folder)
        XCTAssertEqual(try JSONDecoder().decode([PredictionJSON].self, from: Data(relativeJSON.output.utf8)).map(\.file), ["photo.png"])
        XCTAssertTrue(relativeJSON.output.hasPrefix(#"[{"file":"photo.png","#), relativeJSON.output)

        let text = folder.appendingPathComponent("notes.png")
        try Data("not an image".utf8).write(to: text)
        assertCleanFailure(
            try run(["predict", "--checkpoint", checkpoint.path, "--device", "cpu", text.path]), text.path, "not a PNG or JPEG file")
        assertCleanFailure(
            try run(["predict", "--checkpoint", checkpoint.path, "--device", "cpu", folder.appendingPathComponent("missing.jpg").path]),
            "missing.jpg")
        let usage = try run(["predict", "--checkpoint", folder.path, text.path])
        XCTAssertEqual(usage.status, 64, usage.error)
    }
}
