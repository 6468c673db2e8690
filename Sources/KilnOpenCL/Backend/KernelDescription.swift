// KernelDescription: each kernel described once, as data (file, entry points, tunables with candidates
// and a default, a validity rule), so the backend, a tuner and the tests read the same description.

/// One `-D` tunable of a kernel file: its name, the value used when nothing else is chosen, and the
/// values a tuner may try.
struct KernelTunable {
    let name: String
    let defaultValue: Int
    let candidates: [Int]
}

/// A kernel file and the tunables its entry points share.
struct KernelDescription {
    let file: String
    let entries: [String]
    let tunables: [KernelTunable]
    /// Whether a full set of tunable values (by name) is one the kernel accepts; mirrors its `#error` guards.
    let isValid: ([String: Int]) -> Bool

    /// The default value of every tunable, by name.
    var defaults: [String: Int] {
        Dictionary(uniqueKeysWithValues: tunables.map { ($0.name, $0.defaultValue) })
    }

    /// `-D` defines for `values` (missing names take their default), in the fixed order of `tunables` so
    /// the build options can key the program cache.
    func defines(_ values: [String: Int] = [:]) -> [(String, Int)] {
        tunables.map { ($0.name, values[$0.name] ?? $0.defaultValue) }
    }
}

extension KernelDescription {
    /// Every kernel file the backend uses.
    static let all: [KernelDescription] = [
        .elementwise, .movement, .reduce, .argMax, .loss, .gemm, .gemmTiled, .conv2d, .conv2dNarrow, .conv2dBlocked, .conv2dChannels,
        .pool2d, .lstmCell,
        .lstmSequenceForward, .lstmSequenceBackward, .batchNorm,
    ]
}
