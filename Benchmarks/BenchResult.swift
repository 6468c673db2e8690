// BenchResult: what `kiln bench` measured for one workload on one device, as one JSON line, and the
// comparison with a saved run (`--baseline`).
import Foundation
import Kiln

/// One workload on one device: the check against the reference, cold start, and steady-state timing.
/// Encoded as one JSON object with snake_case keys; absent figures are `null`, never left out.
public struct BenchResult: Codable, Equatable {
    public enum Status: String, Codable, Sendable {
        /// Checked against the reference and timed.
        case ok
        /// Checked against the reference, not timed (`--check-only`).
        case checked
        /// Failed to build or run, or its results were outside the tolerance: not timed.
        case failed
        /// Not run (a workload too slow for the `cpu` reference that was not named with `--workload`).
        case skipped
    }

    public var workload: String
    /// The device as the user names it: `cpu`, `opencl:0`.
    public var device: String
    /// The device's own name, e.g. `pthread-haswell-AMD EPYC 9B14`.
    public var deviceName: String
    public var status: Status
    /// Why it failed or was skipped.
    public var error: String?

    /// Largest `|device − reference|` over the checked values.
    public var maxAbsErr: Double?
    /// Largest `|device − reference| / |reference|` over the checked values whose reference is at least
    /// 1e-3 of the largest (smaller ones are cancellation noise of a sum, not a relative error).
    public var maxRelErr: Double?
    /// The bound the check applied: a normwise tolerance's fraction of the largest |reference| (every bench workload's), or
    /// an elementwise one's relative part.
    public var tolerance: Double?
    /// Values compared (fewer than the outputs when the check samples a large workload).
    public var checkedValues: Int?

    /// Kiln's kernel build time with an empty program cache (a fresh temporary folder): compiles
    /// through the OpenCL driver. pocl keeps a cache of its own (`POCL_CACHE_DIR`), not emptied here.
    public var coldBuildMs: Double?
    /// Programs compiled in the cold build.
    public var coldPrograms: Int?
    /// The same kernels again, from the program cache just filled.
    public var warmBuildMs: Double?
    /// The first run of the compiled plan with an empty cache, waiting for the device: kernel builds that
    /// happen at first launch included.
    public var firstStepMs: Double?
    /// The first run with a warm cache.
    public var warmFirstStepMs: Double?

    /// Steady state: milliseconds per step over the replicates.
    public var medianMs: Double?
    public var minMs: Double?
    public var maxMs: Double?
    public var replicates: Int?
    /// Steps run back to back in each replicate, between two synchronisations.
    public var runsPerReplicate: Int?
    public var gflops: Double?
    public var itemsPerS: Double?
    /// Median number of cores other processes kept busy during a replicate (from /proc/stat): how much
    /// the machine's other work may have moved the figures. Nil where it cannot be measured.
    public var foreignCores: Double?
    /// Kernel launches and device copies per step of the compiled plan, counted by the backend.
    public var launches: Int?
    /// Device memory the compiled plan holds at its peak: intermediates with buffer reuse, plus variables,
    /// inputs and constants (`Plan.Report.peakBytes`; a backend's scratch space for im2col is not counted).
    public var peakMemoryBytes: Int?

    /// From `--baseline`: the saved median, this median over it, and whether this run is slower
    /// beyond both runs' spread.
    public var baselineMedianMs: Double?
    public var baselineRatio: Double?
    public var regression: Bool?

    public init(workload: String, device: String, deviceName: String, status: Status = .ok, error: String? = nil) {
        self.workload = workload
        self.device = device
        self.deviceName = deviceName
        self.status = status
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case workload, device
        case deviceName = "device_name"
        case status, error
        case maxAbsErr = "max_abs_err"
        case maxRelErr = "max_rel_err"
        case tolerance
        case checkedValues = "checked_values"
        case coldBuildMs = "cold_build_ms"
        case coldPrograms = "cold_programs"
        case warmBuildMs = "warm_build_ms"
        case firstStepMs = "first_step_ms"
        case warmFirstStepMs = "warm_first_step_ms"
        case medianMs = "median_ms"
        case minMs = "min_ms"
        case maxMs = "max_ms"
        case replicates
        case runsPerReplicate = "runs_per_replicate"
        case gflops
        case itemsPerS = "items_per_s"
        case foreignCores = "foreign_cores"
        case launches
        case peakMemoryBytes = "peak_memory_bytes"
        case baselineMedianMs = "baseline_median_ms"
        case baselineRatio = "baseline_ratio"
        case regression
    }

    /// Every key is written; a missing figure is `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(workload, forKey: .workload)
        try container.encode(device, forKey: .device)
        try container.encode(deviceName, forKey: .deviceName)
        try container.encode(status, forKey: .status)
        try container.encode(error, forKey: .error)
        try container.encode(maxAbsErr, forKey: .maxAbsErr)
        try container.encode(maxRelErr, forKey: .maxRelErr)
        try container.encode(tolerance, forKey: .tolerance)
        try container.encode(checkedValues, forKey: .checkedValues)
        try container.encode(coldBuildMs, forKey: .coldBuildMs)
        try container.encode(coldPrograms, forKey: .coldPrograms)
        try container.encode(warmBuildMs, forKey: .warmBuildMs)
        try container.encode(firstStepMs, forKey: .firstStepMs)
        try container.encode(warmFirstStepMs, forKey: .warmFirstStepMs)
        try container.encode(medianMs, forKey: .medianMs)
        try container.encode(minMs, forKey: .minMs)
        try container.encode(maxMs, forKey: .maxMs)
        try container.encode(replicates, forKey: .replicates)
        try container.encode(runsPerReplicate, forKey: .runsPerReplicate)
        try container.encode(gflops, forKey: .gflops)
        try container.encode(itemsPerS, forKey: .itemsPerS)
        try container.encode(foreignCores, forKey: .foreignCores)
        try container.encode(launches, forKey: .launches)
        try container.encode(peakMemoryBytes, forKey: .peakMemoryBytes)
        try container.encode(baselineMedianMs, forKey: .baselineMedianMs)
        try container.encode(baselineRatio, forKey: .baselineRatio)
        try container.encode(regression, forKey: .regression)
    }

    /// One line of JSON (keys sorted, so lines diff cleanly).
    public func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Reads a saved `--json` run: one object per line; blank lines and lines that are not JSON objects
    /// (a table, a warning) are skipped, a JSON object that is not a result is an error naming the line.
    public static func load(from url: URL) throws -> [BenchResult] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw BenchError.baseline(file: url.path, reason: "cannot be read (\(error.localizedDescription))")
        }
        var results: [BenchResult] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("{") else { continue }
            do {
                results.append(try JSONDecoder().decode(BenchResult.self, from: Data(trimmed.utf8)))
            } catch {
                throw BenchError.baseline(
                    file: url.path, reason: "line \(index + 1) is not a `kiln bench --json` result (\(error)); save one with --save FILE")
            }
        }
        if results.isEmpty {
            throw BenchError.baseline(file: url.path, reason: "holds no results; save a run with `kiln bench --save FILE`")
        }
        return results
    }

    /// Fills the baseline fields from the saved result of the same workload and device, if any.
    ///
    /// A regression is a slowdown beyond the measured spread: this run's fastest replicate is slower
    /// than the baseline's slowest, and the median moved by more than 5%. One replicate each has no
    /// spread, so then any slowdown above 5% counts.
    public mutating func compare(with baseline: [BenchResult]) {
        guard let saved = baseline.first(where: { $0.workload == workload && $0.device == device }),
            let savedMedian = saved.medianMs, let savedMax = saved.maxMs, let median = medianMs, let minimum = minMs
        else { return }
        baselineMedianMs = savedMedian
        baselineRatio = median / savedMedian
        regression = minimum > savedMax && median > savedMedian * 1.05
    }
}

/// Errors of the bench that name what to do.
public enum BenchError: Error, CustomStringConvertible, Equatable {
    case unknownWorkload(String)
    case baseline(file: String, reason: String)
    case check(String)
    /// A `--gemm` shape that is not `N` or `MxNxK` with positive sizes.
    case gemmShape(String)

    public var description: String {
        switch self {
        case .unknownWorkload(let name):
            "unknown workload '\(name)'; workloads: \(Workload.all.map(\.name).joined(separator: ", "))"
        case .baseline(let file, let reason):
            "baseline \(file) \(reason)"
        case .check(let message):
            message
        case .gemmShape(let text):
            "--gemm '\(text)': expected N (an N×N×N product) or MxNxK (C[M,N] = A[M,K]·B[K,N]) with sizes from 1 to 65536"
        }
    }
}
