// Per-device tuning: a coordinate search over a kernel file's tunables, timed on the device itself, whose
// result the backend loads from the program cache folder on every later start.
import Foundation
import KilnCore

/// One tunable setting tried by `OpenCLBackend.tuneMatmul`, and its time.
public struct TuningTrial: Codable, Sendable {
    public var values: [String: Int]
    /// Median seconds of one pass over every probe.
    public var seconds: Double
}

extension OpenCLBackend {
    /// `description`'s `-D` defines: `explicit` values first, then this device's tuned values, then the values
    /// `deviceDefaults` picks for the device, then the kernel's defaults.
    func tunedDefines(_ description: KernelDescription, _ explicit: [String: Int] = [:]) -> [(String, Int)] {
        if explicit.isEmpty, let defines = tunedDefaults[description.file] { return defines }
        let tuned = (deviceDefaults[description.file] ?? [:]).merging(tuning?.kernels[description.file] ?? [:]) { _, tuned in tuned }
        guard explicit.isEmpty else { return description.defines(tuned.merging(explicit) { _, new in new }) }
        let defines = description.defines(tuned)
        tunedDefaults[description.file] = defines
        return defines
    }

    /// A product the GEMM tuner times: `op(A) [M, K] · op(B) [K, N]`, an operand stored transposed when its flag is set.
    public struct MatmulProbe: Sendable {
        public var m: Int, n: Int, k: Int
        public var transposeA = false, transposeB = false

        public init(m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false) {
            (self.m, self.n, self.k, self.transposeA, self.transposeB) = (m, n, k, transposeA, transposeB)
        }
    }

    /// What the tuner times: a square product, and the MLP's first layer at batch 64 as training runs it
    /// (forward `x · Wᵀ`, weight gradient `dyᵀ · x`), so the transpose tile is measured too.
    public static let matmulProbes: [MatmulProbe] = [
        MatmulProbe(m: 512, n: 512, k: 512), MatmulProbe(m: 64, n: 256, k: 784, transposeB: true),
        MatmulProbe(m: 256, n: 784, k: 64, transposeA: true),
    ]

    /// Searches gemm.cl's tunables one at a time (every candidate of one, the others held at the best so
    /// far), timing the median of `repeats` runs of each probe, and stores the fastest setting as this
    /// device's tuning table. Each candidate is a program build, so this takes seconds to a minute.
    public func tuneMatmul(
        probes: [MatmulProbe] = matmulProbes, repeats: Int = 5, clock: () -> Double
    ) throws -> (best: [String: Int], trials: [TuningTrial], file: URL?) {
        let search = try searchTunables(.registerBlocked, probes: probes, repeats: repeats, clock: clock)
        var table = tuning ?? TuningTable(device: TuningTable.deviceIdentity(context.device))
        table.kernels[KernelDescription.gemm.file] = search.best
        tuning = table
        let file = try programs.directory.map { try table.save(in: $0) }
        return (search.best, search.trials, file)
    }

    /// Searches the tunables of both GEMM variants as `tuneMatmul` does gemm.cl's, then stores each variant's
    /// fastest setting and the faster variant (`TuningTable.variants["gemm"]`) as this device's tuning table, so
    /// later backends on the device run it. Returns each variant's best setting and time (over every probe), the
    /// chosen variant, every trial, and the table's file.
    public func tuneGemm(
        probes: [MatmulProbe] = matmulProbes, repeats: Int = 5, clock: () -> Double
    ) throws -> (variant: GemmVariant, best: [GemmVariant: (values: [String: Int], seconds: Double)], trials: [TuningTrial], file: URL?) {
        var best: [GemmVariant: (values: [String: Int], seconds: Double)] = [:]
        var trials: [TuningTrial] = []
        for variant in GemmVariant.allCases {
            let search = try searchTunables(variant, probes: probes, repeats: repeats, clock: clock)
            best[variant] = (search.best, search.seconds)
            trials += search.trials
        }
        let fastest = GemmVariant.allCases.min { (best[$0]?.seconds ?? .infinity) < (best[$1]?.seconds ?? .infinity) } ?? gemmVariant
        var table = tuning ?? TuningTable(device: TuningTable.deviceIdentity(context.device))
        table.kernels[KernelDescription.gemm.file] = best[.registerBlocked]?.values
        table.kernels[KernelDescription.gemmTiled.file] = best[.tiled]?.values
        table.variants[TuningTable.gemmFamily] = fastest.rawValue
        tuning = table
        gemmVariant = fastest
        let file = try programs.directory.map { try table.save(in: $0) }
        return (fastest, best, trials, file)
    }

    /// The coordinate search over `variant`'s kernel file: every candidate of one tunable, the others held at the best
    /// so far, each timed as the median of `repeats` runs over every probe. The backend's tuning and variant are as
    /// before when it returns.
    private func searchTunables(
        _ variant: GemmVariant, probes: [MatmulProbe], repeats: Int, clock: () -> Double
    ) throws -> (best: [String: Int], seconds: Double, trials: [TuningTrial]) {
        let description = variant == .tiled ? KernelDescription.gemmTiled : KernelDescription.gemm
        func operand(_ rows: Int, _ columns: Int, transposed: Bool, pattern: Int) throws -> OpenCLOperand {
            let values = (0..<(rows * columns)).map { Float($0 % pattern) - Float(pattern / 2) }
            let buffer = try OpenCLBuffer(context: context, byteCount: values.count * MemoryLayout<Float>.size)
            try values.withUnsafeBytes { try buffer.write(from: $0) }
            return OpenCLOperand(buffer: buffer, shape: transposed ? [columns, rows] : [rows, columns])
        }
        let operands = try probes.map { probe in
            (
                probe, try operand(probe.m, probe.k, transposed: probe.transposeA, pattern: 7),
                try operand(probe.k, probe.n, transposed: probe.transposeB, pattern: 5),
                try OpenCLBuffer(context: context, byteCount: probe.m * probe.n * MemoryLayout<Float>.size)
            )
        }
        let (savedTuning, savedVariant) = (tuning, gemmVariant)
        defer { (tuning, gemmVariant) = (savedTuning, savedVariant) }
        var trials: [TuningTrial] = []
        // The register-blocked kernel takes its values as explicit tunables; the tiled one through the tuning table,
        // where `tiledDefines` fits them to the device.
        func run(_ values: [String: Int]) throws {
            if variant == .tiled {
                var table = savedTuning ?? TuningTable(device: TuningTable.deviceIdentity(context.device))
                table.kernels[description.file] = values
                tuning = table
            }
            gemmVariant = variant
            for (probe, a, b, out) in operands {
                try matmul(
                    transposeA: probe.transposeA, transposeB: probe.transposeB, a, b, out, [probe.m, probe.n],
                    tunables: variant == .tiled ? [:] : values)
            }
            try synchronize()
        }
        func measure(_ values: [String: Int]) throws -> Double {
            // The first run builds the program and warms the caches; time the rest.
            try run(values)
            var times: [Double] = []
            for _ in 0..<repeats {
                let start = clock()
                try run(values)
                times.append(clock() - start)
            }
            let seconds = times.sorted()[times.count / 2]
            trials.append(TuningTrial(values: values, seconds: seconds))
            return seconds
        }
        var best = Dictionary(uniqueKeysWithValues: tunedDefines(description))
        var bestSeconds = try measure(best)
        for tunable in description.tunables {
            for candidate in tunable.candidates where candidate != best[tunable.name] {
                var values = best
                values[tunable.name] = candidate
                guard description.isValid(values) else { continue }
                let seconds = try measure(values)
                if seconds < bestSeconds { (best, bestSeconds) = (values, seconds) }
            }
        }
        return (best, bestSeconds, trials)
    }
}
