// Options shared by the subcommands that train or evaluate: the device and the data set.
import ArgumentParser
import Foundation
import Kiln

struct CommonOptions: ParsableArguments {
    @Option(help: "cpu, opencl, opencl:N or opencl:NAME (default: $KILN_DEVICE, else opencl).")
    var device: String?
    @Option(help: "fashion-mnist, mnist (a folder given by --data-dir), or a folder of IDX files.")
    var dataset = "fashion-mnist"

    func openDevice() throws -> Device {
        try device.map(Device.named) ?? Device.fromEnvironment()
    }

    func loadDataset() throws -> IDXDataset {
        switch dataset.lowercased() {
        case "fashion-mnist": try IDXDataset(directory: IDXDataset.fashionMNISTDirectory)
        default: try IDXDataset(directory: URL(fileURLWithPath: dataset))
        }
    }
}

/// Set by SIGINT (Ctrl-C) so a long loop can stop at a safe point and checkpoint.
final class InterruptFlag: @unchecked Sendable {
    private let source: DispatchSourceSignal
    private let lock = NSLock()
    private var flag = false

    init() {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [weak self] in self?.raise() }
        source.resume()
    }

    private func raise() {
        lock.lock()
        flag = true
        lock.unlock()
    }

    var raised: Bool {
        lock.lock()
        defer { lock.unlock() }
        return flag
    }
}

/// Writes per-epoch metrics as JSON and CSV.
enum Metrics {
    static func write(_ reports: [EpochReport], to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(reports), to: folder.appendingPathComponent("metrics.json"))
        var csv = "epoch,train_loss,test_loss,test_accuracy,images_per_s,seconds,learning_rate\n"
        for r in reports {
            csv += "\(r.epoch),\(r.trainLoss),\(r.testLoss),\(r.testAccuracy),\(r.imagesPerSecond),\(r.seconds),\(r.learningRate)\n"
        }
        try AtomicFile.write(Data(csv.utf8), to: folder.appendingPathComponent("metrics.csv"))
    }

    /// Train and test loss, and test accuracy, per epoch.
    static func chart(_ reports: [EpochReport], title: String) -> SVGChart {
        let epochs = reports.map { Double($0.epoch) }
        return SVGChart(
            title: title, xLabel: "epoch", yLabel: "loss / accuracy",
            series: [
                SVGChart.Series("train loss", Array(zip(epochs, reports.map(\.trainLoss)))),
                SVGChart.Series("test loss", Array(zip(epochs, reports.map(\.testLoss)))),
                SVGChart.Series("test accuracy", Array(zip(epochs, reports.map(\.testAccuracy)))),
            ])
    }
}
