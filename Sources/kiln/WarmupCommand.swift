// `kiln warmup`: builds every kernel for a device ahead of time and reports how long it took, so the
// first training step does not wait for the OpenCL compiler.
import ArgumentParser
import Foundation
import Kiln

struct WarmupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warmup",
        abstract: "Build (or load from the program cache) every kernel for an OpenCL device.",
        discussion: "Set KILN_CACHE=off to measure a cold build; the cache lives in $KILN_CACHE_DIR or ~/.cache/kiln/programs."
    )

    @Option(help: "opencl, opencl:N or opencl:NAME (default: $KILN_DEVICE, else opencl).")
    var device: String?

    func run() throws {
        let opened = try device.map(Device.named) ?? Device.fromEnvironment()
        guard let backend = opened.backend as? OpenCLBackend else {
            throw ValidationError("warmup builds OpenCL kernels; \(opened) is the CPU reference backend")
        }
        let seconds = try backend.warmUp()
        let stats = backend.programs.stats
        print(
            String(
                format: "%@: %d programs in %.3f s (%d compiled in %.3f s, %d loaded from the cache in %.3f s)",
                backend.name, stats.compiles + stats.diskHits, seconds, stats.compiles, stats.secondsCompiling, stats.diskHits,
                stats.secondsLoadingBinaries))
        let cache = backend.programs.trustedDirectory?.path ?? (backend.programs.directory == nil ? "off" : "not used (see the warning)")
        print("cache: \(cache)")
    }
}
