// StepLog: per-step training metrics as JSON lines (`steps.jsonl`): step, epoch, batch, loss, learning rate
// and images per second, one object per line as each step ends. A resumed run keeps the lines up to its
// checkpoint's step and drops any written after it (by a run killed before its next checkpoint).
import Foundation
import KilnData
import KilnFiles

/// One training step's metrics.
public struct StepRecord: Codable, Equatable, Sendable {
    /// The step, counted from 1 over the whole run.
    public var step: Int
    /// The epoch and the batch within it, each counted from 1.
    public var epoch: Int
    public var batch: Int
    public var loss: Double
    public var learningRate: Double
    public var imagesPerSecond: Double

    public init(step: Int, epoch: Int, batch: Int, loss: Double, learningRate: Double, imagesPerSecond: Double) {
        self.step = step
        self.epoch = epoch
        self.batch = batch
        self.loss = loss
        self.learningRate = learningRate
        self.imagesPerSecond = imagesPerSecond
    }

    enum CodingKeys: String, CodingKey {
        case step, epoch, batch, loss
        case learningRate = "learning_rate"
        case imagesPerSecond = "images_per_second"
    }
}

/// Appends `StepRecord`s to a JSON-lines file.
public final class StepLog {
    public let url: URL
    private let handle: FileHandle
    private let encoder = JSONEncoder()

    /// Opens `url` for appending, keeping only the records of steps up to `keepingThrough` (nil or 0 starts
    /// the file afresh).
    public init(_ url: URL, keepingThrough step: Int?) throws {
        self.url = url
        var kept = Data()
        if let step, step > 0, let text = try? String(contentsOf: url, encoding: .utf8) {
            let decoder = JSONDecoder()
            for line in text.split(separator: "\n") {
                guard let record = try? decoder.decode(StepRecord.self, from: Data(line.utf8)), record.step <= step else { continue }
                kept.append(Data((line + "\n").utf8))
            }
        }
        do {
            try AtomicFile.write(kept, to: url)
            handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
        } catch let error as FileError {
            throw error
        } catch {
            throw DataError.unwritable(file: url.path, reason: (error as NSError).localizedDescription)
        }
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    }

    deinit { try? handle.close() }

    /// Appends one record as a line.
    public func append(_ record: StepRecord) throws {
        do {
            try handle.write(contentsOf: try encoder.encode(record) + Data("\n".utf8))
        } catch {
            throw DataError.unwritable(file: url.path, reason: (error as NSError).localizedDescription)
        }
    }
}
