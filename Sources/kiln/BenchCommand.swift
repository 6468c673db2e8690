// `kiln bench`: checks each workload against the CPU reference, then measures cold start and
// steady-state speed per device; a table on a terminal, JSON lines for machines, and a comparison
// with a saved run. The workloads and the measuring live in KilnBenchmarks (Benchmarks/).
import ArgumentParser
import Foundation
import Kiln
import KilnBenchmarks
import KilnONNX

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Check workloads against the CPU reference, then time them on each device.",
        discussion: """
            For each device and workload: build it with an empty kernel cache and again with the cache it \
            filled (cold start), check the first run against the reference backend in Double (a workload \
            outside its tolerance is reported as failed and not timed), warm up, then time replicates, \
            each a run of back-to-back steps between two device synchronisations. --check-only stops after the \
            check (one build, one run: for a slow device such as oclgrind).

            Workloads: \(Workload.all.map(\.name).joined(separator: ", ")); --gemm adds SGEMM at any shape, \
            --batch sets the training steps' batch (their checks keep a small one).
            On cpu (the slow reference backend) \(Workload.all.filter(\.slowOnReference).map(\.name).joined(separator: ", ")) \
            run only when named with --workload.

            Exit status: 1 when a workload failed its check or could not run, 3 when --baseline found a \
            regression (this run's fastest replicate slower than the baseline's slowest, median over 5% slower).
            """
    )

    @Option(
        name: .customLong("device"),
        help: "cpu, opencl, opencl:N or opencl:NAME; repeat for several (default: cpu and every OpenCL device).")
    var devices: [String] = []
    @Option(name: .customLong("workload"), help: "A workload to run; repeat for several (default: all).")
    var workloads: [String] = []
    @Option(help: "Timed replicates per workload (default: 10 on OpenCL, 2 on cpu).")
    var replicates: Int?
    @Option(help: "Untimed runs before the replicates (default: 2 on OpenCL, 0 on cpu).")
    var warmup: Int?
    @Flag(help: "Only check each workload's first run against the reference: no warm build, warm-up or timing.")
    var checkOnly = false
    @Flag(help: "Print one JSON object per line instead of the table.")
    var json = false
    @Option(help: "A saved --json run to compare with; regressions beyond the measured spread are flagged.")
    var baseline: String?
    @Option(help: "Write the results as JSON lines to this file (for a later --baseline).")
    var save: String?
    @Option(
        name: .customLong("gemm"),
        help: "SGEMM at this shape, N (N×N×N) or MxNxK (C[M,N] = A[M,K]·B[K,N]); repeat for several (with no --workload, alone).")
    var gemmShapes: [String] = []
    @Option(help: "Time an ONNX model's inference instead of the workloads (free dimensions set to --batch).")
    var onnx: String?
    @Option(help: "The batch size of the training-step workloads (char-LSTM: streams) and of --onnx (default: 64; 32 streams).")
    var batch: Int?

    func validate() throws {
        for name in workloads where Workload.named(name) == nil {
            throw ValidationError(BenchError.unknownWorkload(name).description)
        }
        if let replicates, replicates < 1 { throw ValidationError("--replicates must be at least 1") }
        if let warmup, warmup < 0 { throw ValidationError("--warmup must not be negative") }
        if let onnx {
            guard FileManager.default.fileExists(atPath: onnx) else { throw ValidationError("--onnx: no file \(onnx)") }
            guard workloads.isEmpty else { throw ValidationError("--onnx times the model alone; leave out --workload") }
        }
        if let batch, batch < 1 { throw ValidationError("--batch must be positive") }
        if checkOnly, replicates != nil || warmup != nil || baseline != nil {
            throw ValidationError("--check-only times nothing; leave out --replicates, --warmup and --baseline")
        }
        for shape in gemmShapes {
            do { _ = try Workload.gemm(shape) } catch { throw ValidationError(String(describing: error)) }
        }
        if onnx != nil, !gemmShapes.isEmpty { throw ValidationError("--onnx times the model alone; leave out --gemm") }
    }

    /// The workloads to run: an ONNX model, or those named (all when none is, unless --gemm names shapes) and the
    /// --gemm shapes, training steps at --batch.
    func chosenWorkloads() throws -> [Workload] {
        if let onnx { return [try Workload.onnx(ONNXModel(contentsOf: URL(fileURLWithPath: onnx)), file: onnx, batch: batch ?? 64)] }
        let catalog = batch == nil ? Workload.all : Workload.catalog(trainingBatch: batch)
        let named = workloads.compactMap { name in catalog.first { $0.name == name.lowercased() } }
        let gemms = try gemmShapes.map(Workload.gemm)
        return workloads.isEmpty && gemms.isEmpty ? catalog : named + gemms
    }

    func run() throws {
        let targets = devices.isEmpty ? DeviceSelection.all() : try devices.map(DeviceSelection.parse)
        let saved = try baseline.map { try BenchResult.load(from: URL(fileURLWithPath: $0)) }
        let chosen = try chosenWorkloads()
        let namedAll = workloads.isEmpty && gemmShapes.isEmpty
        let runner = BenchRunner(settings: BenchSettings(replicates: replicates, warmup: warmup, checkOnly: checkOnly))
        let table = BenchTable(showsBaseline: saved != nil)
        if !json { print(table.header) }
        var results: [BenchResult] = []
        for device in targets {
            for workload in chosen {
                var result: BenchResult
                if device.isReference, workload.slowOnReference, namedAll {
                    result = BenchResult(
                        workload: workload.name, device: device.label, deviceName: device.name, status: .skipped,
                        error: "too slow for the reference backend; name it with --workload to run it")
                } else {
                    result = runner.run(workload, on: device)
                }
                if let saved { result.compare(with: saved) }
                print(json ? try result.jsonLine() : table.row(result))
                results.append(result)
            }
        }
        if !json { print(table.footer) }
        if let save {
            let lines = try results.map { try $0.jsonLine() }.joined(separator: "\n") + "\n"
            try AtomicFile.write(Data(lines.utf8), to: URL(fileURLWithPath: save))
        }
        let failed = results.filter { $0.status == .failed }.map(\.workload)
        let regressions = results.filter { $0.regression == true }.map { "\($0.workload) on \($0.device)" }
        if !failed.isEmpty {
            FileHandle.standardError.write(Data("failed: \(failed.joined(separator: ", "))\n".utf8))
            throw ExitCode(1)
        }
        if !regressions.isEmpty {
            FileHandle.standardError.write(Data("regressions against \(baseline ?? ""): \(regressions.joined(separator: ", "))\n".utf8))
            throw ExitCode(3)
        }
    }
}

/// The terminal table: one row per result, printed as soon as it is measured.
struct BenchTable {
    let showsBaseline: Bool

    private static let columns: [(title: String, width: Int)] = [
        ("workload", 20), ("device", 9), ("check", 13), ("build ms", 14), ("1st step ms", 16), ("median ms", 10),
        ("min ms", 9), ("max ms", 9), ("GFLOP/s", 8), ("items/s", 9), ("noise", 6),
    ]

    var header: String {
        var line = Self.columns.map { pad($0.title, $0.width) }.joined(separator: " ")
        if showsBaseline { line += " vs baseline" }
        return line
    }

    var footer: String {
        """
        check: max relative error against the reference in Double. build ms: Kiln's kernel builds with an \
        empty program cache / with the cache that run filled (pocl's own cache, POCL_CACHE_DIR, is not \
        emptied). 1st step: the first run, cold / warm. noise: cores other processes kept busy while timing.
        """
    }

    func row(_ result: BenchResult) -> String {
        let check: String =
            switch result.status {
            case .ok, .checked: "ok " + (result.maxRelErr.map { String(format: "%.1e", $0) } ?? "")
            case .failed: "FAILED"
            case .skipped: "skipped"
            }
        let build = result.coldBuildMs.map { "\(Self.number($0))/\(result.warmBuildMs.map(Self.number) ?? "-")" } ?? "-"
        let first =
            result.firstStepMs.map { value in
                result.warmFirstStepMs.map { "\(Self.number(value))/\(Self.number($0))" } ?? Self.number(value)
            } ?? "-"
        let cells = [
            result.workload, result.device, check, build, first, result.medianMs.map(Self.number) ?? "-",
            result.minMs.map(Self.number) ?? "-", result.maxMs.map(Self.number) ?? "-",
            result.gflops.map { String(format: "%.1f", $0) } ?? "-", result.itemsPerS.map { String(format: "%.0f", $0) } ?? "-",
            result.foreignCores.map { String(format: "%.2f", $0) } ?? "-",
        ]
        var line = zip(cells, Self.columns).map { pad($0, $1.width) }.joined(separator: " ")
        if showsBaseline, let ratio = result.baselineRatio {
            line += String(format: " %.2f×", ratio) + (result.regression == true ? " REGRESSION" : "")
        }
        if let error = result.error { line += "\n    " + error }
        return line
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// Milliseconds with about four significant digits.
    static func number(_ value: Double) -> String {
        switch value {
        case ..<10: String(format: "%.3f", value)
        case ..<100: String(format: "%.2f", value)
        case ..<10_000: String(format: "%.1f", value)
        default: String(format: "%.0f", value)
        }
    }
}
