// GemmVariant: which GEMM kernel family runs a backend's products (matmul, linear, the convolution GEMM path, the
// LSTM's input projection), and how a backend picks one: explicitly, from `kiln tune`'s table, or by device type.
import Foundation

/// A GEMM kernel family.
public enum GemmVariant: String, CaseIterable, Sendable, Codable {
    /// gemm.cl's micro-kernel: one work item computes a block of C in registers, streaming rows of B; no local memory.
    /// Fastest on CPU devices, where pocl runs work items as loops.
    case registerBlocked = "register-blocked"
    /// gemm_tiled.cl: work-group tiles staged in local memory, coalesced reads, a register block per work item.
    /// Shaped for GPUs.
    case tiled

    /// The environment variable that picks a variant for every backend of a process (`register-blocked` or `tiled`).
    public static let environmentVariable = "KILN_GEMM"

    /// The variant a backend on `device` starts with: `KILN_GEMM` when set, else the one `kiln tune` stored for the
    /// device, else `.tiled` on GPUs and `.registerBlocked` elsewhere.
    static func preferred(
        for device: OpenCLDeviceInfo, tuning: TuningTable?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> GemmVariant {
        if let name = environment[environmentVariable], !name.isEmpty {
            guard let variant = GemmVariant(rawValue: name) else {
                throw OpenCLError.invalidArgument(
                    function: environmentVariable,
                    reason: "'\(name)' is not a GEMM variant; use \(allCases.map(\.rawValue).joined(separator: " or "))")
            }
            return variant
        }
        if let stored = tuning?.variants[TuningTable.gemmFamily], let variant = GemmVariant(rawValue: stored) { return variant }
        return device.isGPU ? .tiled : .registerBlocked
    }
}
