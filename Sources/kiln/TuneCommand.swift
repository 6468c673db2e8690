// `kiln tune`: measures both GEMM variants' tunables on an OpenCL device and stores each one's fastest setting and
// the faster variant as that device's tuning table, which every later process on the device uses.
import ArgumentParser
import Foundation
import Kiln

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Time the GEMM kernels' tunables and variants on an OpenCL device and keep the fastest for that device.",
        discussion: """
            For each GEMM variant (register-blocked: gemm.cl's micro-kernel for CPUs; tiled: gemm_tiled.cl's \
            local-memory tiles for GPUs) tries every candidate of one tunable at a time, the others held at the best \
            so far, on a 512x512x512 product and the MLP's first layer as training runs it (64x784 times a \
            transposed 256x784 weight, and the transposed weight gradient); each candidate is one program build. \
            The table (both variants' best settings and the faster variant) is saved next to the program cache \
            ($KILN_CACHE_DIR or ~/.cache/kiln/programs) under the device's name and driver, and read whenever Kiln \
            opens that device; KILN_GEMM=register-blocked|tiled still overrides the variant.
            """)

    @Option(help: "opencl, opencl:N or opencl:NAME (default: $KILN_DEVICE, else opencl).")
    var device: String?

    @Option(help: "Timed runs per product and candidate (the median counts).")
    var repeats = 5

    func validate() throws {
        guard repeats > 0 else { throw ValidationError("--repeats must be positive, got \(repeats)") }
    }

    func run() throws {
        let opened = try device.map(Device.named) ?? Device.fromEnvironment()
        guard let backend = opened.backend as? OpenCLBackend else {
            throw ValidationError("tune times OpenCL kernels; \(opened) is the CPU reference backend")
        }
        let start = Date()
        let (variant, best, trials, file) = try backend.tuneGemm(repeats: repeats) { Date().timeIntervalSinceReferenceDate }
        let describe = { (values: [String: Int]) in values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        print("\(backend.name): \(trials.count) settings in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
        let bestValues = best.values.map(\.values)
        for trial in trials {
            print(
                String(
                    format: "  %8.3f ms  %@%@", trial.seconds * 1000, describe(trial.values),
                    bestValues.contains(trial.values) ? "  <- best" : ""))
        }
        for candidate in GemmVariant.allCases {
            if let result = best[candidate] {
                print(
                    String(
                        format: "%@ %8.3f ms%@", candidate.rawValue, result.seconds * 1000,
                        candidate == variant ? "  <- used from now on" : ""))
            }
        }
        print(file.map { "saved: \($0.path)" } ?? "not saved: the program cache is off (KILN_CACHE=off)")
    }
}
