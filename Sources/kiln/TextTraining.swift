// Training the character-level LSTM language model on a text file: what `kiln train --model char-lstm
// --text FILE` runs. The work is `CharacterModelTrainer` in the library; this prints per-epoch bits per
// character and writes the checkpoint, metrics and a sample.
import Foundation
import Kiln
import KilnExamples

/// Trains a character-level LSTM on the UTF-8 text in `text` for `epochs` epochs on `device`, printing
/// each epoch's training and validation bits per character, and writes into `out`:
/// `checkpoint.safetensors` (weights, Adam's state, the vocabulary and settings in the metadata; after
/// every epoch), `metrics.json`, `metrics.csv`, `metrics.svg` and `sample.txt`. A nil setting takes
/// `CharacterTrainingConfiguration`'s default (hidden 128, window 64, batch 32, Adam 3e-3, clip 5).
func trainCharacterModel(
    text: URL, device: Device, epochs: Int, out: URL, hidden: Int? = nil, window: Int? = nil, batchSize: Int? = nil,
    learningRate: Double? = nil, clipNorm: Double? = nil, seed: UInt64 = 0, sampleLength: Int = 400, temperature: Double = 0.8
) throws {
    guard epochs > 0 else { throw SequenceError.invalidSetting(name: "--epochs", reason: "must be positive, got \(epochs)") }
    var configuration = CharacterTrainingConfiguration()
    if let hidden { configuration.hidden = hidden }
    if let window { configuration.window = window }
    if let batchSize { configuration.batchSize = batchSize }
    if let learningRate { configuration.learningRate = learningRate }
    if let clipNorm { configuration.clipNorm = clipNorm }
    configuration.seed = seed
    let trainer = try CharacterModelTrainer(text: TextFile.read(text), configuration: configuration, device: device)
    try OutputFolder.create(out)
    let checkpoint = out.appendingPathComponent("checkpoint.safetensors")
    let model = trainer.model
    print(
        """
        training char-lstm (\(model.parameterCount) parameters, \(model.vocabulary.count) characters) on \(device): \
        \(trainer.training.data.count) training and \(trainer.validation.data.count) validation characters, \
        windows of \(configuration.window) in \(configuration.batchSize) streams, Adam \(configuration.learningRate), clip \(configuration.clipNorm)
        """)
    var reports: [CharacterEpochReport] = []
    for _ in 0..<epochs {
        let report = try trainer.trainEpoch()
        reports.append(report)
        print(
            String(
                format: "epoch %d  train %.3f bits/char  validation %.3f bits/char  %.0f chars/s  %.1f s", report.epoch,
                report.trainingBitsPerCharacter, report.validationBitsPerCharacter, report.charactersPerSecond, report.seconds))
        try trainer.save(to: checkpoint)
        try writeCharacterMetrics(reports, to: out, title: "char-lstm on \(device)")
    }
    let prompt = (try? model.vocabulary.encode("The ")) != nil ? "The " : String(model.vocabulary.characters[0])
    var random = RandomSource(seed: seed)
    let sample = try model.generate(prompt: prompt, length: sampleLength, temperature: temperature, random: &random)
    try AtomicFile.write(Data(sample.utf8), to: out.appendingPathComponent("sample.txt"))
    print("sample (temperature \(temperature)):\n\(sample)")
    print("checkpoint: \(checkpoint.path)")
}

/// Per-epoch figures as JSON, CSV and an SVG of bits per character.
private func writeCharacterMetrics(_ reports: [CharacterEpochReport], to folder: URL, title: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try AtomicFile.write(try encoder.encode(reports), to: folder.appendingPathComponent("metrics.json"))
    var csv = "epoch,train_loss,train_bits_per_char,validation_loss,validation_bits_per_char,chars_per_s,seconds\n"
    for r in reports {
        csv +=
            "\(r.epoch),\(r.trainingLoss),\(r.trainingBitsPerCharacter),\(r.validationLoss),\(r.validationBitsPerCharacter),\(r.charactersPerSecond),\(r.seconds)\n"
    }
    try AtomicFile.write(Data(csv.utf8), to: folder.appendingPathComponent("metrics.csv"))
    let epochs = reports.map { Double($0.epoch) }
    try SVGChart(
        title: title, xLabel: "epoch", yLabel: "bits per character",
        series: [
            SVGChart.Series("training", Array(zip(epochs, reports.map(\.trainingBitsPerCharacter)))),
            SVGChart.Series("validation", Array(zip(epochs, reports.map(\.validationBitsPerCharacter)))),
        ]
    ).write(to: folder.appendingPathComponent("metrics.svg"))
}
