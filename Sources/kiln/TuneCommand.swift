// `kiln tune`: measures the GEMM kernel's tile sizes on an OpenCL device and stores the fastest as that
// device's tuning table, which every later process on the device uses.
import ArgumentParser
import Foundation
import Kiln

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Time the GEMM kernel's tunables on an OpenCL device and keep the fastest for that device.",
        discussion: """
            Tries every candidate of one tunable at a time (GEMM_ROWS, GEMM_WIDTH, GEMM_TILE), the others held at \
            the best so far, on a 512x512x512 product and the MLP's first layer as training runs it (64x784 \
            times a transposed 256x784 weight, and the transposed weight gradient); each candidate is one program build. The table is saved next to the program cache ($KILN_CACHE_DIR or \
            ~/.cache/kiln/programs) under the device's name and driver, and read whenever Kiln opens that device.
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
        let (best, trials, file) = try backend.tuneMatmul(repeats: repeats) { Date().timeIntervalSinceReferenceDate }
        let describe = { (values: [String: Int]) in values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
        print("\(backend.name): \(trials.count) settings in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
        for trial in trials {
            print(String(format: "  %8.3f ms  %@%@", trial.seconds * 1000, describe(trial.values), trial.values == best ? "  <- best" : ""))
        }
        print(file.map { "saved: \($0.path)" } ?? "not saved: the program cache is off (KILN_CACHE=off)")
    }
}
