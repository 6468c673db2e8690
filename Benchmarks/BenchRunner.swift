// BenchRunner: runs one workload on one device the way `kiln bench` reports it. First the cold start
// (a fresh program cache, then the cache it filled), then the check against the reference in Double
// (a workload that fails it is not timed), then warm-up and replicates, each between two
// synchronisations of the device.
import Foundation
import Kiln
import KilnCheck

/// How much to run.
public struct BenchSettings {
    /// Timed replicates (nil: 10 on OpenCL, 2 on `cpu`).
    public var replicates: Int?
    /// Untimed runs after the check (nil: 2 on OpenCL, 0 on `cpu`, whose first run serves).
    public var warmup: Int?
    /// A replicate repeats the step back to back until it lasts about this long (then divides), so
    /// short steps are not dominated by the synchronisation.
    public var replicateSeconds = 0.2
    /// Only build and run once what the check compares (a training step's smaller check variant, not the timed
    /// size): no warm build, warm-up or timing (for a slow device such as an interpreter, where a run costs minutes).
    public var checkOnly: Bool

    public init(replicates: Int? = nil, warmup: Int? = nil, checkOnly: Bool = false) {
        self.replicates = replicates
        self.warmup = warmup
        self.checkOnly = checkOnly
    }
}

/// Runs workloads and reports `BenchResult`s. Expected values are computed once per workload and
/// shared by every device.
public final class BenchRunner {
    public let settings: BenchSettings
    private var expected: [String: Result<CheckedValues, any Error>] = [:]

    public init(settings: BenchSettings = BenchSettings()) { self.settings = settings }

    /// Checks and times `workload` on `device`. Never throws: a failure is a result with status `failed`.
    public func run(_ workload: Workload, on device: DeviceSelection) -> BenchResult {
        var result = BenchResult(workload: workload.name, device: device.label, deviceName: device.name)
        do {
            if settings.checkOnly {
                try checkOnly(workload, on: device, into: &result)
                result.status = .checked
                return result
            }
            let (instance, backend) = try coldStart(workload, on: device, into: &result)
            try check(workload.checkedInstance(timed: instance, on: Device(backend)), against: workload, into: &result)
            try time(instance, workload: workload, backend: backend, isReference: device.isReference, into: &result)
        } catch {
            result.status = .failed
            result.error = String(describing: error)
        }
        return result
    }

    /// `--check-only`: the check's variant alone, built with an empty program cache (its build time recorded as the cold
    /// start's) and run once; the timed size is not built where the check has a smaller variant.
    private func checkOnly(_ workload: Workload, on device: DeviceSelection, into result: inout BenchResult) throws {
        let backend: any Backend
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        switch device {
        case .reference: backend = ReferenceBackend<Float>()
        case .openCL(let handle): backend = try OpenCLBackend(device: handle, cacheDirectory: folder)
        }
        let instance = try workload.checkInstance(on: Device(backend))
        if let openCL = backend as? OpenCLBackend {
            let stats = openCL.programs.stats
            result.coldBuildMs = (stats.secondsCompiling + stats.secondsLoadingBinaries) * 1000
            result.coldPrograms = stats.compiles
        }
        try check(instance, against: workload, into: &result)
    }

    /// Builds the workload on `device`, timing the builds and the first run; returns the instance to check
    /// and time (after one run).
    private func coldStart(_ workload: Workload, on device: DeviceSelection, into result: inout BenchResult) throws
        -> (WorkloadInstance, any Backend)
    {
        switch device {
        case .reference:
            let backend = ReferenceBackend<Float>()
            let instance = try workload.instantiate(on: Device(backend))
            result.firstStepMs = try Self.milliseconds {
                try instance.run()
                try backend.synchronize()
            }
            return (instance, backend)
        case .openCL(let handle):
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-bench-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            do {
                let cold = try OpenCLBackend(device: handle, cacheDirectory: folder)
                let instance = try workload.instantiate(on: Device(cold))
                result.firstStepMs = try Self.milliseconds {
                    try instance.run()
                    try cold.synchronize()
                }
                let stats = cold.programs.stats
                result.coldBuildMs = (stats.secondsCompiling + stats.secondsLoadingBinaries) * 1000
                result.coldPrograms = stats.compiles
            }
            let warm = try OpenCLBackend(device: handle, cacheDirectory: folder)
            let instance = try workload.instantiate(on: Device(warm))
            result.warmFirstStepMs = try Self.milliseconds {
                try instance.run()
                try warm.synchronize()
            }
            let stats = warm.programs.stats
            result.warmBuildMs = (stats.secondsCompiling + stats.secondsLoadingBinaries) * 1000
            return (instance, warm)
        }
    }

    /// Compares the first run's results with the reference; throws when they are outside the tolerance.
    private func check(_ instance: WorkloadInstance, against workload: Workload, into result: inout BenchResult) throws {
        let expected = try expectedValues(of: workload)
        let actual = try instance.results()
        let picked: [Double]
        if let indices = expected.indices {
            guard let last = indices.max(), last < actual.count else {
                throw BenchError.check("[\(workload.name)] the device gave \(actual.count) values; the check samples beyond them")
            }
            picked = indices.map { actual[$0] }
        } else {
            guard actual.count == expected.values.count else {
                throw BenchError.check("[\(workload.name)] the device gave \(actual.count) values, the reference \(expected.values.count)")
            }
            picked = actual
        }
        let comparison = workload.tolerance.compare(picked, expected.values)
        result.maxAbsErr = comparison.maxAbsoluteError
        result.maxRelErr = comparison.maxRelativeError
        result.tolerance =
            switch workload.tolerance.bound {
            case .normwise(let fraction): fraction
            case .elementwise(_, let relative): relative
            }
        result.checkedValues = picked.count
        guard comparison.passed else {
            let worst = comparison.worst
            let position = worst.map { expected.indices?[$0.index] ?? $0.index } ?? 0
            throw BenchError.check(
                "[\(workload.name)] differs from the reference: value \(position) is \(worst?.actual ?? .nan), expected \(worst?.expected ?? .nan); "
                    + "max abs error \(comparison.maxAbsoluteError) exceeds \(workload.tolerance) = \(worst?.allowed ?? 0); not timed")
        }
    }

    private func expectedValues(of workload: Workload) throws -> CheckedValues {
        if let cached = expected[workload.name] { return try cached.get() }
        let computed = Result { try workload.expectedValues() }
        expected[workload.name] = computed
        return try computed.get()
    }

    /// Warm-up, then replicates of back-to-back runs between synchronisations.
    private func time(
        _ instance: WorkloadInstance, workload: Workload, backend: any Backend, isReference: Bool, into result: inout BenchResult
    ) throws {
        let warmup = settings.warmup ?? (isReference ? 0 : 2)
        let replicates = Swift.max(1, settings.replicates ?? (isReference ? 2 : 10))
        var oneRun = (result.warmFirstStepMs ?? result.firstStepMs ?? 0) / 1000
        for _ in 0..<warmup {
            oneRun =
                try Self.milliseconds {
                    try instance.run()
                    try backend.synchronize()
                } / 1000
        }
        let inner = Swift.max(1, Swift.min(10_000, Int(settings.replicateSeconds / Swift.max(oneRun, 1e-6))))
        var samples: [Double] = []
        var foreign: [Double] = []
        for _ in 0..<replicates {
            try backend.synchronize()
            let probe = NoiseProbe()
            for _ in 0..<inner { try instance.run() }
            try backend.synchronize()
            let (seconds, others) = probe.stop()
            samples.append(seconds * 1000 / Double(inner))
            if let others { foreign.append(others) }
        }
        let median = Self.median(samples)
        result.medianMs = median
        result.minMs = samples.min()
        result.maxMs = samples.max()
        result.replicates = replicates
        result.runsPerReplicate = inner
        result.foreignCores = foreign.isEmpty ? nil : Self.median(foreign)
        result.launches = instance.plan.kernelLaunchesPerRun
        result.peakMemoryBytes = instance.plan.report.peakBytes
        result.gflops = workload.flopsPerStep.map { $0 / (median / 1000) / 1e9 }
        result.itemsPerS = workload.itemsPerStep.map { Double($0) / (median / 1000) }
    }

    static func milliseconds(_ body: () throws -> Void) throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}

/// How many cores other processes kept busy during an interval: system-wide busy time from /proc/stat
/// minus this process's own CPU time (the same probe as ../shared/peers/noise.py). Linux only.
struct NoiseProbe {
    private let start = DispatchTime.now().uptimeNanoseconds
    private let busy = NoiseProbe.systemBusySeconds()
    private let own = NoiseProbe.ownSeconds()

    /// Wall seconds since creation, and the average number of cores others used (nil without /proc/stat).
    func stop() -> (seconds: Double, foreignCores: Double?) {
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        guard let busy, let now = Self.systemBusySeconds() else { return (seconds, nil) }
        let others = (now - busy) - (Self.ownSeconds() - own)
        return (seconds, Swift.max(0, others) / Swift.max(seconds, 1e-9))
    }

    /// Busy CPU seconds of the whole machine (every state but idle and iowait).
    static func systemBusySeconds() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 8 else { return nil }
        let ticks = fields[0..<8].reduce(0, +) - fields[3] - fields[4]
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// User and system CPU seconds of this process, all threads (pocl's included).
    static func ownSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return user + system
    }
}
