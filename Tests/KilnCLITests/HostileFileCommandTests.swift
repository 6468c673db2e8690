// Files from the hostile-input probe (issue 15), given to the command line: each exits 1 with a message
// naming the file and what is wrong (never 132, 134 or 139, never an NSError dump), or, where the input
// is usable, warns and goes on.
import Foundation
import XCTest

final class HostileFileCommandTests: KilnCommandLineTestCase {
    /// A safetensors file with `header` (JSON text) and 16 bytes of data; `length` overrides the length field.
    private func safetensors(_ header: String, length: UInt64? = nil) -> Data {
        var data = withUnsafeBytes(of: (length ?? UInt64(header.utf8.count)).littleEndian) { Data($0) }
        data.append(Data(header.utf8))
        data.append(Data(count: 16))
        return data
    }

    func testBadSafetensorsFilesFailCleanlyInEvalAndGAN() throws {
        let data = try tinyDataset()
        defer { try? FileManager.default.removeItem(at: data) }
        let folder = try scratchFolder()
        let cases: [(String, Data, String)] = [
            (
                "header-length", safetensors("{}", length: UInt64(Int.max)),
                "invalid header: the header length 9223372036854775807 is beyond the format's 100 MB"
            ),
            (
                "element-count", safetensors(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,16]}}"#),
                "entry 'a' has byte range [0, 16] (16 bytes) for shape [4294967296, 4294967296, 4] of F32"
            ),
            (
                "byte-count", safetensors(#"{"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,16]}}"#),
                "entry 'a' has byte range [0, 16] (16 bytes) for shape [4611686018427387904] of F32"
            ),
            (
                "int-min", safetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,-9223372036854775808]}}"#),
                "entry 'a' has byte range [4, -9223372036854775808], which is not a range"
            ),
            (
                "int-max", safetensors(#"{"a":{"dtype":"F32","shape":[10],"data_offsets":[9223372036854775767,9223372036854775807]}}"#),
                "far beyond the file's 16 bytes of data"
            ),
            (
                "overlap",
                safetensors(
                    #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#),
                "entries 'a' [0, 8] and 'b' [4, 12] overlap"
            ),
            (
                "metadata",
                safetensors(#"{"__metadata__":{"format":"pt","kiln.epoch":3},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#),
                "__metadata__ value of 'kiln.epoch' is not a string"
            ),
        ]
        for (name, bytes, expected) in cases {
            let file = folder.appendingPathComponent("\(name).safetensors")
            try bytes.write(to: file)
            assertCleanFailure(
                try run(["eval", "--checkpoint", file.path, "--device", "cpu", "--dataset", data.path]), file.path + ": ", expected)
            assertCleanFailure(
                try run([
                    "gan", "--classifier", file.path, "--device", "cpu", "--dataset", data.path, "--out",
                    folder.appendingPathComponent("gan").path,
                ]),
                file.path + ": ", expected)
        }
    }

    func testBadIDXDataSetsFailCleanly() throws {
        let data = try tinyDataset()
        defer { try? FileManager.default.removeItem(at: data) }
        let images = data.appendingPathComponent("train-images-idx3-ubyte")
        let labels = data.appendingPathComponent("train-labels-idx1-ubyte")
        let arguments = ["train", "--model", "mlp", "--device", "cpu", "--dataset", data.path, "--out", try scratchFolder().path]
        // Dimensions 0xFFFFFFFF × 3: a trap at IDX.swift:38 before.
        try Data([0, 0, 8, 3] + [UInt8](repeating: 0xFF, count: 12)).write(to: images)
        assertCleanFailure(try run(arguments), images.path, "need more bytes than an integer holds")
        // [0, 65536, 65536] in a 16-byte file: an abort allocating 4.4 TB before.
        try Data([0, 0, 8, 3, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]).write(to: images)
        try Data([0, 0, 8, 1, 0, 0, 0, 0]).write(to: labels)
        assertCleanFailure(try run(arguments), images.path, "it holds no images (dimensions [0, 65536, 65536])")
    }

    /// A 4 KB gzip that inflates to 16 MiB is refused at 100 times its size; --max-inflated raises the limit.
    func testGzipBombsStopAtTheLimit() throws {
        let data = try tinyDataset()
        defer { try? FileManager.default.removeItem(at: data) }
        let images = data.appendingPathComponent("train-images-idx3-ubyte")
        var bomb = Data([0, 0, 8, 3, 0, 0, 0x55, 0x99, 0, 0, 0, 28, 0, 0, 0, 28])  // 21913 images
        bomb.append(Data(count: 21913 * 784))
        try bomb.write(to: images)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-9", images.path]
        try gzip.run()
        gzip.waitUntilExit()
        let arguments = [
            "train", "--model", "mlp", "--device", "cpu", "--dataset", data.path, "--out", try scratchFolder().path, "--steps", "1",
        ]
        assertCleanFailure(
            try run(arguments), images.path + ".gz: its ", "compressed bytes inflate to more than",
            "raise the limit with --max-inflated MiB")
        // Raised, the file is read, and the next problem is its label count.
        assertCleanFailure(try run(arguments + ["--max-inflated", "32"]), "holds 21913 images but")
        let zero = try run(arguments + ["--max-inflated", "0"])
        XCTAssertEqual(zero.status, 64, "a usage error")
        XCTAssertTrue(zero.error.contains("--max-inflated must be between 1 and"), zero.error)
    }

    func testFoldersAndNonTextFilesAreNamed() throws {
        let data = try tinyDataset()
        defer { try? FileManager.default.removeItem(at: data) }
        let folder = try scratchFolder()
        // "NSCocoaErrorDomain error 256" before.
        assertCleanFailure(
            try run(["eval", "--checkpoint", folder.path, "--device", "cpu", "--dataset", data.path]),
            "\(folder.path): is a folder, not a file")
        let out = folder.appendingPathComponent("out").path
        assertCleanFailure(
            try run(["train", "--model", "char-lstm", "--text", folder.path, "--device", "cpu", "--out", out]),
            "\(folder.path): is a folder, not a file")
        // Binary and Latin-1 text trained on U+FFFD before.
        let binary = folder.appendingPathComponent("binary.txt")
        try Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: binary)
        assertCleanFailure(
            try run(["train", "--model", "char-lstm", "--text", binary.path, "--device", "cpu", "--out", out]),
            "\(binary.path): not UTF-8 text: at byte 0, a NUL byte; this is a binary file, not text")
        let latin1 = folder.appendingPathComponent("latin1.txt")
        try Data("café crème ".data(using: .isoLatin1)!).write(to: latin1)
        assertCleanFailure(
            try run(["train", "--model", "char-lstm", "--text", latin1.path, "--device", "cpu", "--out", out]),
            "\(latin1.path): not UTF-8 text: at byte 3, byte 0xE9 is not UTF-8; convert the file to UTF-8")
    }

    func testOutputFoldersThatCannotBeMadeSayWhy() throws {
        let data = try tinyDataset()
        defer { try? FileManager.default.removeItem(at: data) }
        let file = try scratchFolder().appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        let train = [
            "train", "--model", "flatten-dense10", "--device", "cpu", "--dataset", data.path, "--steps", "1", "--batch-size", "16", "--out",
        ]
        // A raw NSError dump before.
        assertCleanFailure(try run(train + [file.path]), "\(file.path): cannot write: it is a file, not a folder")
        assertCleanFailure(
            try run(train + [file.appendingPathComponent("run").path]), "\(file.path): cannot write: it is a file, not a folder")
        assertCleanFailure(try run(train + ["/proc/kiln-run"]), "/proc/kiln-run: cannot write: ")
        assertCleanFailure(try run(train + ["/proc/self"]), "Error: /proc/self/", ": cannot write: No such file or directory")
    }

    /// Evaluating non-finite weights warns; resuming from them is an error saying the run diverged.
    func testNonFiniteCheckpoints() throws {
        let data = try tinyDataset()
        defer { try? FileManager.default.removeItem(at: data) }
        let checkpoint = try oneStepCheckpoint(data: data)
        var bytes = try Data(contentsOf: checkpoint)
        // Every weight of the dense layer becomes NaN (the header says where its bytes are).
        let length = bytes.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
        let header = try XCTUnwrap(try JSONSerialization.jsonObject(with: bytes[8..<(8 + length)]) as? [String: Any])
        let offsets = try XCTUnwrap((header["1.weight"] as? [String: Any])?["data_offsets"] as? [Int])
        bytes.replaceSubrange(
            (8 + length + offsets[0])..<(8 + length + offsets[1]), with: Data(repeating: 0xFF, count: offsets[1] - offsets[0]))
        try bytes.write(to: checkpoint)
        let evaluation = try run(["eval", "--checkpoint", checkpoint.path, "--device", "cpu", "--dataset", data.path])
        XCTAssertEqual(evaluation.status, 0, evaluation.error)
        XCTAssertTrue(
            evaluation.error.contains("warning: \(checkpoint.path): holds non-finite weights (NaN or infinity in 1.weight (7840 values))"),
            evaluation.error)
        let resume = try run([
            "train", "--model", "flatten-dense10", "--device", "cpu", "--dataset", data.path, "--batch-size", "16", "--epochs", "2",
            "--resume",
            "--out", checkpoint.deletingLastPathComponent().path,
        ])
        assertCleanFailure(resume, "\(checkpoint.path): holds non-finite weights", "the run that wrote it diverged")
        XCTAssertFalse(resume.error.contains("lower the learning rate") && !resume.error.contains("diverged"), resume.error)
    }
}
