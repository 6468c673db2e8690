// Progress within an epoch: on a terminal a bar redrawn in place (batches, running loss, images per
// second, time left); elsewhere nothing between the per-epoch lines, so logs stay readable.
import ArgumentParser
import Foundation

/// How a training command shows progress within an epoch.
enum ProgressStyle: String, CaseIterable, ExpressibleByArgument {
    /// A bar when standard output is a terminal, else plain per-epoch lines.
    case auto
    /// Always the bar (carriage returns), even into a file or a pipe.
    case bar
    /// Only the per-epoch lines.
    case plain

    var drawsBar: Bool {
        switch self {
        case .auto: isatty(STDOUT_FILENO) != 0
        case .bar: true
        case .plain: false
        }
    }
}

/// One epoch's progress bar. `update` is cheap to call after every batch: it redraws at most ten times
/// a second (and always for the first and the last batch).
final class EpochProgress {
    private let label: String
    private let batchSize: Int
    private let enabled: Bool
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastDraw: UInt64 = 0
    private var firstBatch: Int?
    private var lossSum = 0.0
    private var losses = 0
    private var drawn = false

    /// The shortest interval between two redraws, in nanoseconds.
    static let interval: UInt64 = 100_000_000

    init(label: String, batchSize: Int, enabled: Bool) {
        self.label = label
        self.batchSize = batchSize
        self.enabled = enabled
    }

    /// Records that `batch` of `total` batches is done with `loss`, and redraws when due.
    func update(batch: Int, of total: Int, loss: Float) {
        guard enabled else { return }
        // A resumed epoch starts part-way: count speed from the batch before the first one seen.
        let first = firstBatch ?? (batch - 1)
        firstBatch = first
        lossSum += Double(loss)
        losses += 1
        let now = DispatchTime.now().uptimeNanoseconds
        guard !drawn || batch == total || now - lastDraw >= Self.interval else { return }
        lastDraw = now
        drawn = true
        let seconds = Double(now - start) / 1e9
        let batchesPerSecond = Double(batch - first) / max(seconds, 1e-9)
        let left = Double(total - batch) / max(batchesPerSecond, 1e-9)
        let line = Self.line(
            label: label, batch: batch, total: total, loss: lossSum / Double(losses),
            imagesPerSecond: batchesPerSecond * Double(batchSize), secondsLeft: left)
        FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + line).utf8))
    }

    /// Clears the bar so the next line starts at the left margin.
    func finish() {
        guard enabled, drawn else { return }
        FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8))
        drawn = false
    }

    /// `epoch 2/5 [########------------] 312/937  loss 0.4123  10752 img/s  0:12 left`
    static func line(label: String, batch: Int, total: Int, loss: Double, imagesPerSecond: Double, secondsLeft: Double) -> String {
        let width = 20
        let filled = total > 0 ? min(width, batch * width / total) : width
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        return "\(label) [\(bar)] \(batch)/\(total)  "
            + String(format: "loss %.4f  %.0f img/s  %@ left", loss, imagesPerSecond, duration(secondsLeft))
    }

    /// `m:ss`, or `h:mm:ss` from an hour.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let total = Int(seconds.rounded())
        let (hours, minutes, rest) = (total / 3600, total / 60 % 60, total % 60)
        return hours > 0 ? String(format: "%d:%02d:%02d", hours, minutes, rest) : String(format: "%d:%02d", minutes, rest)
    }
}
