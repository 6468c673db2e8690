// RunFolder: the files a classifier's training run keeps in its output folder (`checkpoint.safetensors`,
// `best.safetensors`, `metrics.json`, `metrics.csv`, `steps.jsonl`), written as one unit so that a kill at
// any moment loses no epoch: the
// metrics go into the checkpoint's own metadata, and the metrics files are written before the checkpoint
// that refers to them. Resuming takes the metrics from the checkpoint and writes the files again. A run
// that starts removes the temporary files killed runs left behind.
import Foundation
import KilnData
import KilnFiles

/// A classifier's output folder: its checkpoint and its per-epoch metrics.
public struct RunFolder {
    public let url: URL

    /// The checkpoint's metadata key for the per-epoch metrics (a JSON array of `EpochReport`).
    public static let metricsKey = "kiln.metrics"

    public init(_ url: URL) { self.url = url }

    public var checkpoint: URL { url.appendingPathComponent("checkpoint.safetensors") }
    public var metricsJSON: URL { url.appendingPathComponent("metrics.json") }
    public var metricsCSV: URL { url.appendingPathComponent("metrics.csv") }
    /// The weights of the epoch with the best validation accuracy so far (written only with a validation set).
    public var best: URL { url.appendingPathComponent("best.safetensors") }
    /// One JSON object per training step: step, epoch, batch, loss, learning rate, images per second.
    public var steps: URL { url.appendingPathComponent("steps.jsonl") }

    /// Creates the folder when it is missing and removes the temporary files of killed runs; returns the names removed.
    @discardableResult
    public func prepare() throws -> [String] {
        try OutputFolder.create(url)
        return AtomicFile.removeStaleTemporaries(in: url)
    }

    /// Saves a training run: the metrics files first, then the checkpoint with the same metrics in its metadata.
    /// Nothing is written when a weight is NaN or infinite (`TrainingError.nonFiniteWeights`): the last good
    /// checkpoint and its metrics stay.
    /// When the last report is the best validation accuracy so far, its weights go to `best.safetensors` first,
    /// so the checkpoint's metrics never name a best epoch that is not on disk.
    public func save(_ trainer: Trainer, reports: [EpochReport]) throws {
        try trainer.requireFiniteState(for: checkpoint)
        if let last = reports.last, last.validationAccuracy != nil, reports.bestValidationEpoch == last.epoch, last.epoch == trainer.epoch,
            trainer.batchInEpoch == 0
        {
            try Checkpoint.save(
                model: trainer.model.state,
                metadata: try trainer.classifierMetadata().merging([
                    "format": "pt", "kiln.configuration": String(decoding: try JSONEncoder().encode(trainer.configuration), as: UTF8.self),
                    "kiln.best_epoch": "\(last.epoch)",
                ]) { $1 }, to: best)
        }
        try writeMetrics(reports)
        try trainer.saveCheckpoint(
            to: checkpoint, metadata: [Self.metricsKey: String(decoding: try Self.encoder().encode(reports), as: UTF8.self)])
    }

    /// Resumes `trainer` from the checkpoint and returns the metrics of the epochs it finished, writing the
    /// metrics files again from them. A checkpoint written before metrics were stored in it takes them from
    /// `metrics.json`, up to its epoch.
    public func resume(_ trainer: Trainer) throws -> [EpochReport] {
        let metadata = try trainer.resume(from: checkpoint)
        var reports: [EpochReport]
        if let stored = metadata[Self.metricsKey] {
            do {
                reports = try Self.decoder().decode([EpochReport].self, from: Data(stored.utf8))
            } catch {
                throw DataError.invalidHeader(file: checkpoint.path, reason: "metadata '\(Self.metricsKey)' is not a list of epoch metrics")
            }
        } else {
            reports = (try? Self.decoder().decode([EpochReport].self, from: Data(contentsOf: metricsJSON))) ?? []
        }
        reports = reports.filter { $0.epoch <= trainer.epoch }
        try writeMetrics(reports)
        return reports
    }

    /// Writes `metrics.json` and `metrics.csv` atomically.
    public func writeMetrics(_ reports: [EpochReport]) throws {
        let encoder = Self.encoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(reports), to: metricsJSON)
        var csv = "epoch,train_loss,validation_loss,validation_accuracy,test_loss,test_accuracy,images_per_s,seconds,learning_rate\n"
        func cell(_ value: Double?) -> String { value.map { "\($0)" } ?? "" }
        for r in reports {
            csv +=
                "\(r.epoch),\(r.trainLoss),\(cell(r.validationLoss)),\(cell(r.validationAccuracy)),\(cell(r.testLoss)),\(cell(r.testAccuracy)),"
            csv += "\(r.imagesPerSecond),\(r.seconds),\(r.learningRate)\n"
        }
        try AtomicFile.write(Data(csv.utf8), to: metricsCSV)
    }

    /// JSON for metrics: a value that is not finite (which the trainer never records) is written as a string
    /// rather than failing the whole file.
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}

extension Array where Element == EpochReport {
    /// The epoch (counted from 1) with the highest validation accuracy, the earliest on a tie; nil without
    /// validation measurements.
    public var bestValidationEpoch: Int? {
        var best: EpochReport?
        for report in self {
            guard let accuracy = report.validationAccuracy else { continue }
            if accuracy > best?.validationAccuracy ?? -1 { best = report }
        }
        return best?.epoch
    }

    /// Epochs finished since the best validation accuracy (0 when the last epoch is the best); nil without
    /// validation measurements. `--early-stop N` stops when this reaches N.
    public var epochsSinceBestValidation: Int? {
        guard let best = bestValidationEpoch, let last = last?.epoch else { return nil }
        return last - best
    }
}
