// Per-device tuning: a coordinate search over a kernel file's tunables, timed on the device itself, whose
// result the backend loads from the program cache folder on every later start.
import Foundation
import KilnCore

/// One tunable setting tried by `OpenCLBackend.tuneMatmul`, and its time.
public struct TuningTrial: Codable, Sendable {
    public var values: [String: Int]
    /// Summed median seconds over the probe shapes.
    public var seconds: Double
}

extension OpenCLBackend {
    /// `description`'s `-D` defines: `explicit` values first, then this device's tuned values, then the defaults.
    func tunedDefines(_ description: KernelDescription, _ explicit: [String: Int] = [:]) -> [(String, Int)] {
        description.defines((tuning?.kernels[description.file] ?? [:]).merging(explicit) { _, new in new })
    }

    /// Products `[M, K] · [K, N]` the GEMM tuner times: a square one, the MLP's first layer and the CNN's
    /// dense layer at batch 64.
    public static let matmulProbeShapes: [(m: Int, n: Int, k: Int)] = [(512, 512, 512), (64, 256, 784), (64, 128, 3136)]

    /// Searches gemm.cl's tunables one at a time (every candidate of one, the others held at the best so
    /// far), timing the median of `repeats` runs of each probe shape, and stores the fastest setting as
    /// this device's tuning table. Each candidate is a program build, so this takes seconds to a minute.
    public func tuneMatmul(
        shapes: [(m: Int, n: Int, k: Int)] = matmulProbeShapes, repeats: Int = 5, clock: () -> Double
    ) throws -> (best: [String: Int], trials: [TuningTrial], file: URL?) {
        let description = KernelDescription.gemm
        let operands = try shapes.map { shape -> (OpenCLOperand, OpenCLOperand, OpenCLBuffer, Shape) in
            let a = try allocate(count: shape.m * shape.k)
            let b = try allocate(count: shape.k * shape.n)
            try write((0..<(shape.m * shape.k)).map { Float($0 % 7) - 3 }, to: a)
            try write((0..<(shape.k * shape.n)).map { Float($0 % 5) - 2 }, to: b)
            let out = try allocate(count: shape.m * shape.n) as! OpenCLStorage
            return (
                OpenCLOperand(buffer: (a as! OpenCLStorage).buffer, shape: [shape.m, shape.k]),
                OpenCLOperand(buffer: (b as! OpenCLStorage).buffer, shape: [shape.k, shape.n]), out.buffer, [shape.m, shape.n]
            )
        }
        var trials: [TuningTrial] = []
        func measure(_ values: [String: Int]) throws -> Double {
            var total = 0.0
            for (a, b, out, shape) in operands {
                // The first run builds the program; time the rest.
                try matmul(transposeA: false, transposeB: false, a, b, out, shape, tunables: values)
                try synchronize()
                var times: [Double] = []
                for _ in 0..<repeats {
                    let start = clock()
                    try matmul(transposeA: false, transposeB: false, a, b, out, shape, tunables: values)
                    try synchronize()
                    times.append(clock() - start)
                }
                total += times.sorted()[times.count / 2]
            }
            trials.append(TuningTrial(values: values, seconds: total))
            return total
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
        var table = tuning ?? TuningTable(device: TuningTable.deviceIdentity(context.device))
        table.kernels[description.file] = best
        tuning = table
        let file = try programs.directory.map { try table.save(in: $0) }
        return (best, trials, file)
    }
}
