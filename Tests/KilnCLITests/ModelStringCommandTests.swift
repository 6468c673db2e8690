// Model strings from the hostile-input probe (issue 15): each once trapped, aborted or asked the driver
// for terabytes; now `kiln train` and `kiln eval` exit 1 naming the token and the limit.
import Foundation
import XCTest

final class ModelStringCommandTests: KilnCommandLineTestCase {
    func testBadModelStringsFailCleanly() throws {
        let data = try tinyDataset()
        defer { try? FileManager.default.removeItem(at: data) }
        let out = try scratchFolder()
        for (model, expected) in [
            ("maxpool0", "'maxpool0': the number after 'maxpool' must be at least 1, got 0"),
            ("maxpool2s0", "'maxpool2s0': 's' must be at least 1, got 0"),
            ("avgpool0", "'avgpool0': the number after 'avgpool' must be at least 1, got 0"),
            ("conv32k3s0", "'conv32k3s0': 's' must be at least 1, got 0"),
            ("conv8k3p4611686018427387904", "'conv8k3p4611686018427387904': the sizes overflow"),
            ("conv99999999k3", "'conv99999999k3': layer 1 output for one example [99999999, 26, 26]: 270399997296 bytes"),
            ("conv8k3p100000-flatten-dense10", "'conv8k3p100000': layer 1 output for one example [8, 200026, 200026]"),
            ("flatten-dense99999999999-dense10", "'dense99999999999': layer 2 weight [99999999999, 784]: 313599999996864 bytes"),
        ] {
            let result = try run(["train", "--model", model, "--device", "cpu", "--dataset", data.path, "--epochs", "1", "--out", out.path])
            assertCleanFailure(result, expected)
        }
    }

    /// A checkpoint whose metadata names an absurd model is refused by `kiln eval` before anything is allocated.
    func testEvalRefusesACheckpointNamingAHugeModel() throws {
        let data = try tinyDataset()
        defer { try? FileManager.default.removeItem(at: data) }
        let checkpoint = try oneStepCheckpoint(data: data)
        let edited = safetensors(try Data(contentsOf: checkpoint)) { header in
            header.replacingOccurrences(of: #"flatten-dense10\""#, with: #"flatten-dense99999999999-dense10\""#)
        }
        try edited.write(to: checkpoint)
        let result = try run(["eval", "--checkpoint", checkpoint.path, "--device", "cpu", "--dataset", data.path])
        assertCleanFailure(result, "'dense99999999999': layer 2 weight [99999999999, 784]")
    }
}
