// `kiln generate`: text from a character-level LSTM checkpoint (`kiln train --model char-lstm`),
// continuing a prompt one sampled character at a time.
import ArgumentParser
import Foundation
import Kiln
import KilnExamples

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text from a character-level LSTM checkpoint.",
        discussion: """
            Feeds the prompt through the model, then draws each next character from the model's \
            distribution at the temperature (below 1: safer and more repetitive; above 1: more varied \
            and more misspelt). The same seed gives the same text on the same device.
            """
    )

    @Option(help: "A char-lstm checkpoint (checkpoint.safetensors from `kiln train --model char-lstm`).")
    var checkpoint: String
    @Option(help: "Text to continue; every character must occur in the training text.")
    var prompt: String
    @Option(help: "Sampling temperature, a positive number (such as 0.8).")
    var temperature: Double
    @Option(help: "Characters to generate after the prompt.")
    var length = 400
    @Option(help: "cpu, opencl, opencl:N or opencl:NAME (default: $KILN_DEVICE, else opencl).")
    var device: String?
    @Option(help: "Seed for sampling.")
    var seed: UInt64 = 0

    func validate() throws {
        guard temperature > 0, temperature.isFinite else {
            throw ValidationError("--temperature must be a positive number, got \(temperature)")
        }
        guard length >= 0 else { throw ValidationError("--length must not be negative, got \(length)") }
        guard !prompt.isEmpty else { throw ValidationError("--prompt must have at least one character") }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: checkpoint, isDirectory: &isFolder), !isFolder.boolValue else {
            throw ValidationError("--checkpoint: no file at '\(checkpoint)'; train one with `kiln train --model char-lstm --text FILE`")
        }
    }

    func run() throws {
        let opened = try device.map(Device.named) ?? Device.fromEnvironment()
        let model = try CharacterLanguageModel.load(from: URL(fileURLWithPath: checkpoint), on: opened)
        var random = RandomSource(seed: seed)
        print(try model.generate(prompt: prompt, length: length, temperature: temperature, random: &random))
    }
}
