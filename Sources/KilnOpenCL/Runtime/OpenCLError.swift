// OpenCLError: the one typed error of the OpenCL layer, the `check` helper every C call goes
// through, the status-name table, and the diagnostics sink that `deinit`s report to.
import COpenCL
import Foundation

/// Everything that can go wrong in the OpenCL layer, with messages that say what to do.
public enum OpenCLError: Error, CustomStringConvertible, Equatable {
    /// A C entry point returned a status other than `CL_SUCCESS`.
    case call(function: String, status: Int32)
    /// A program did not build; `log` is the device compiler's build log.
    case build(kernel: String, options: String, log: String)
    /// No OpenCL platform or device is installed at all.
    case noDevice
    /// A device query (`opencl:QUERY`) matched none of the devices there are.
    case deviceNotFound(query: String, available: [String])
    /// A kernel source file is neither embedded nor in `KILN_KERNEL_DIR`.
    case kernelSourceMissing(file: String)
    /// A launch was asked for with sizes or arguments OpenCL would reject.
    case invalidLaunch(kernel: String, reason: String)
    /// A host-side argument was out of range (a copy past the end of a buffer, for example).
    case invalidArgument(function: String, reason: String)

    public var description: String {
        switch self {
        case .call(let function, let status):
            let hint = OpenCLStatus.hint(for: status).map { " " + $0 } ?? ""
            return "\(function) failed with \(OpenCLStatus.name(of: status)) (\(status)).\(hint)"
        case .build(let kernel, let options, let log):
            let shownOptions = options.isEmpty ? "(none)" : options
            let trimmedLog = trimmedOpenCLText(log)
            let shownLog = trimmedLog.isEmpty ? "(the device gave no build log)" : trimmedLog
            return """
                OpenCL program '\(kernel)' failed to build with options \(shownOptions). \
                Fix the kernel source or the -D options; the device compiler said:
                \(shownLog)
                """
        case .noDevice:
            return "No OpenCL platform or device was found. Install an OpenCL driver "
                + "(on Debian/Ubuntu the CPU driver: apt-get install pocl-opencl-icd), "
                + "check with `clinfo -l`, or use the `cpu` device."
        case .deviceNotFound(let query, let available):
            let list = available.map { "  " + $0 }.joined(separator: "\n")
            return "No OpenCL device matches '\(query)'. Use opencl:N with an index, or opencl:NAME "
                + "with part of a platform or device name. Available devices:\n\(list)"
        case .kernelSourceMissing(let file):
            return "Kernel source '\(file)' was not found: it is not embedded in the binary "
                + "(add it to Kernels/ and rebuild) and not in the folder KILN_KERNEL_DIR names (if set)."
        case .invalidLaunch(let kernel, let reason):
            return "Cannot launch kernel '\(kernel)': \(reason)"
        case .invalidArgument(let function, let reason):
            return "\(function): \(reason)"
        }
    }
}

/// Throws `.call(function:status:)` unless `status` is `CL_SUCCESS`; `function` (often an interpolated string) is built
/// only then, not on every successful call.
@inline(__always)
func check(_ status: cl_int, _ function: @autoclosure () -> String) throws(OpenCLError) {
    if status != CL_SUCCESS { throw .call(function: function(), status: status) }
}

/// Where failures that cannot throw (a release in `deinit`) are reported. Writes one line to
/// standard error; never traps, because a failing release must not take the program down.
enum OpenCLDiagnostics {
    static func report(_ status: cl_int, _ function: String) {
        guard status != CL_SUCCESS else { return }
        let message = "kiln: warning: \(OpenCLError.call(function: function, status: status))\n"
        fputs(message, stderr)
    }
}

/// Names and advice for OpenCL status codes (OpenCL 1.2–3.0 core plus the common KHR codes).
public enum OpenCLStatus {
    /// The symbolic name of a status, such as `CL_INVALID_WORK_GROUP_SIZE`, or `CL_UNKNOWN_ERROR`.
    public static func name(of status: Int32) -> String {
        names[status] ?? "CL_UNKNOWN_ERROR"
    }

    /// What to do about the statuses a user is likely to meet, if we have advice.
    public static func hint(for status: Int32) -> String? {
        switch status {
        case -4, -5: return "The device ran out of memory or resources: use a smaller batch or model."
        case -6: return "The host ran out of memory."
        case -11: return "See the build log for the compiler's message."
        case -42: return "The cached program binary does not fit this device or driver: delete the Kiln program cache."
        case -46: return "The program has no kernel with that entry-point name."
        case -52: return "A kernel argument was not set before the launch."
        case -54, -55:
            return "The local work size exceeds a device or kernel limit: "
                + "compute it with launchSize(global:preferredLocal:kernel:)."
        case -61:
            return
                "The buffer size is zero or larger than the device's maximum allocation (CL_DEVICE_MAX_MEM_ALLOC_SIZE)."
        case -63: return "The global work size is zero or not a multiple of the local size."
        case -1001: return "No OpenCL platform is installed: apt-get install pocl-opencl-icd, or use the cpu device."
        default: return nil
        }
    }

    private static let names: [Int32: String] = [
        0: "CL_SUCCESS",
        -1: "CL_DEVICE_NOT_FOUND",
        -2: "CL_DEVICE_NOT_AVAILABLE",
        -3: "CL_COMPILER_NOT_AVAILABLE",
        -4: "CL_MEM_OBJECT_ALLOCATION_FAILURE",
        -5: "CL_OUT_OF_RESOURCES",
        -6: "CL_OUT_OF_HOST_MEMORY",
        -7: "CL_PROFILING_INFO_NOT_AVAILABLE",
        -8: "CL_MEM_COPY_OVERLAP",
        -9: "CL_IMAGE_FORMAT_MISMATCH",
        -10: "CL_IMAGE_FORMAT_NOT_SUPPORTED",
        -11: "CL_BUILD_PROGRAM_FAILURE",
        -12: "CL_MAP_FAILURE",
        -13: "CL_MISALIGNED_SUB_BUFFER_OFFSET",
        -14: "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST",
        -15: "CL_COMPILE_PROGRAM_FAILURE",
        -16: "CL_LINKER_NOT_AVAILABLE",
        -17: "CL_LINK_PROGRAM_FAILURE",
        -18: "CL_DEVICE_PARTITION_FAILED",
        -19: "CL_KERNEL_ARG_INFO_NOT_AVAILABLE",
        -30: "CL_INVALID_VALUE",
        -31: "CL_INVALID_DEVICE_TYPE",
        -32: "CL_INVALID_PLATFORM",
        -33: "CL_INVALID_DEVICE",
        -34: "CL_INVALID_CONTEXT",
        -35: "CL_INVALID_QUEUE_PROPERTIES",
        -36: "CL_INVALID_COMMAND_QUEUE",
        -37: "CL_INVALID_HOST_PTR",
        -38: "CL_INVALID_MEM_OBJECT",
        -39: "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR",
        -40: "CL_INVALID_IMAGE_SIZE",
        -41: "CL_INVALID_SAMPLER",
        -42: "CL_INVALID_BINARY",
        -43: "CL_INVALID_BUILD_OPTIONS",
        -44: "CL_INVALID_PROGRAM",
        -45: "CL_INVALID_PROGRAM_EXECUTABLE",
        -46: "CL_INVALID_KERNEL_NAME",
        -47: "CL_INVALID_KERNEL_DEFINITION",
        -48: "CL_INVALID_KERNEL",
        -49: "CL_INVALID_ARG_INDEX",
        -50: "CL_INVALID_ARG_VALUE",
        -51: "CL_INVALID_ARG_SIZE",
        -52: "CL_INVALID_KERNEL_ARGS",
        -53: "CL_INVALID_WORK_DIMENSION",
        -54: "CL_INVALID_WORK_GROUP_SIZE",
        -55: "CL_INVALID_WORK_ITEM_SIZE",
        -56: "CL_INVALID_GLOBAL_OFFSET",
        -57: "CL_INVALID_EVENT_WAIT_LIST",
        -58: "CL_INVALID_EVENT",
        -59: "CL_INVALID_OPERATION",
        -60: "CL_INVALID_GL_OBJECT",
        -61: "CL_INVALID_BUFFER_SIZE",
        -62: "CL_INVALID_MIP_LEVEL",
        -63: "CL_INVALID_GLOBAL_WORK_SIZE",
        -64: "CL_INVALID_PROPERTY",
        -65: "CL_INVALID_IMAGE_DESCRIPTOR",
        -66: "CL_INVALID_COMPILER_OPTIONS",
        -67: "CL_INVALID_LINKER_OPTIONS",
        -68: "CL_INVALID_DEVICE_PARTITION_COUNT",
        -69: "CL_INVALID_PIPE_SIZE",
        -70: "CL_INVALID_DEVICE_QUEUE",
        -71: "CL_INVALID_SPEC_ID",
        -72: "CL_MAX_SIZE_RESTRICTION_EXCEEDED",
        -1000: "CL_INVALID_GL_SHAREGROUP_REFERENCE_KHR",
        -1001: "CL_PLATFORM_NOT_FOUND_KHR",
        -1057: "CL_DEVICE_PARTITION_FAILED_EXT",
        -1058: "CL_INVALID_PARTITION_COUNT_EXT",
        -1059: "CL_INVALID_PARTITION_NAME_EXT",
        -1092: "CL_EGL_RESOURCE_NOT_ACQUIRED_KHR",
        -1093: "CL_INVALID_EGL_OBJECT_KHR",
        -1094: "CL_INVALID_ACCELERATOR_INTEL",
        -1095: "CL_INVALID_ACCELERATOR_TYPE_INTEL",
        -1096: "CL_INVALID_ACCELERATOR_DESCRIPTOR_INTEL",
        -1097: "CL_ACCELERATOR_TYPE_NOT_SUPPORTED_INTEL",
        -1098: "CL_INVALID_VA_API_MEDIA_ADAPTER_INTEL",
        -1099: "CL_INVALID_VA_API_MEDIA_SURFACE_INTEL",
        -1100: "CL_VA_API_MEDIA_SURFACE_ALREADY_ACQUIRED_INTEL",
        -1101: "CL_VA_API_MEDIA_SURFACE_NOT_ACQUIRED_INTEL",
    ]
}

/// A C string from OpenCL without the trailing NULs and whitespace drivers leave on it.
func trimmedOpenCLText(_ text: String) -> String {
    var characters = Substring(text)
    while let last = characters.last, last.isWhitespace || last == "\0" { characters.removeLast() }
    return String(characters)
}
