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
    /// Copies between buffers and zero fills run as kernels, not as clEnqueueCopyBuffer or clEnqueueFillBuffer, and
    /// products skip the padded copies of B. oclgrind 21.10's uninitialized-value checker replaces a buffer's whole
    /// record of written bytes with one the size of each host-side write, copy or fill pattern, placed at the start
    /// of the buffer: after a copy into the middle of a buffer (the LSTM's h0 and c0 into its state) or any fill,
    /// kernels reading the buffer are reported as reading uninitialized memory
    /// (Tools/oclgrind-repros/partial-transfer-shadow.c). Kernel stores are recorded element by element.
    public var transfersWithKernels = false
    /// Kernels rearrange the lanes of float16 values with the `shuffle` builtins rather than swizzles and vector
    /// literals (common.cl's KILN_ODD16 and KILN_INTERLEAVE16, under `-D KILN_SHUFFLE_BY_BUILTINS=1`): LLVM writes
    /// those as shufflevectors taking lane 11, which oclgrind 21.10's uninitialized-value checker takes for an
    /// undefined lane and reports (Tools/oclgrind-repros/shuffle-undef-uninitialized.c). Elsewhere the swizzles stay:
    /// the builtins made 2x2 max pooling 60% slower on pocl.
    public var shufflesByBuiltins = false

    /// The quirks of a device on `platformName`, given the process environment (oclgrind's launcher and its ICD
    /// read their options from `OCLGRIND_*` variables).
    public init(platformName: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        let uninitializedChecks = environment["OCLGRIND_UNINITIALIZED"].map { !$0.isEmpty && $0 != "0" } ?? false
        let checkedOclgrind = platformName.lowercased().contains("oclgrind") && uninitializedChecks
        keepsReleasedBuffers = checkedOclgrind
        transfersWithKernels = checkedOclgrind
        shufflesByBuiltins = checkedOclgrind
    }

    /// The `-D` defines every program is built with on this device (in a fixed order, so they can key the program
    /// cache): the kernel-side switches of the quirks above.
    public var buildDefines: [(String, Int)] {
        shufflesByBuiltins ? [("KILN_SHUFFLE_BY_BUILTINS", 1)] : []
    }
}
