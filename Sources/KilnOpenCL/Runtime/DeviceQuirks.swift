// DeviceQuirks: workarounds for known defects of particular OpenCL implementations, each keyed on the platform it
// concerns, with the reproduction that shows the defect is the implementation's and not Kiln's.
import Foundation

/// What Kiln does differently on one platform, and why.
public struct DeviceQuirks: Sendable, Equatable {
    /// Released buffers are kept until their context closes. oclgrind 21.10's uninitialized-value checker
    /// (`--uninitialized`) keeps a released buffer's record of which bytes were written; the next buffer given the
    /// same buffer number inherits it, so a kernel's writes past the old size are not recorded and a later kernel
    /// reading them is reported as reading uninitialized memory (Tools/oclgrind-repros/released-buffer-shadow.c).
    /// Buffers that are never released never hand their number on.
    public var keepsReleasedBuffers = false

    /// The quirks of a device on `platformName`, given the process environment (oclgrind's launcher and its ICD
    /// read their options from `OCLGRIND_*` variables).
    public init(platformName: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        let uninitializedChecks = environment["OCLGRIND_UNINITIALIZED"].map { !$0.isEmpty && $0 != "0" } ?? false
        keepsReleasedBuffers = platformName.lowercased().contains("oclgrind") && uninitializedChecks
    }
}
