// Device selection: one string names a device on the command line and in KILN_DEVICE.
//   cpu          the CPU reference backend (Float32)
//   opencl       the first OpenCL GPU, else the first OpenCL device
//   opencl:N     the OpenCL device with index N (see `kiln devices`)
//   opencl:NAME  the first device whose platform or device name contains NAME (case-insensitive)
import Foundation
import KilnCore
import KilnOpenCL
import KilnReference

/// A device string that names nothing Kiln knows.
public struct DeviceSelectionError: Error, CustomStringConvertible {
    public let query: String
    public var description: String {
        "unknown device '\(query)': use cpu, opencl, opencl:N or opencl:NAME (kiln devices lists them)"
    }
}

extension Device {
    /// The environment variable that picks the default device.
    public static let environmentVariable = "KILN_DEVICE"

    /// Opens the device `query` names (see the file header). OpenCL errors list the devices there are.
    public static func named(_ query: String) throws -> Device {
        let trimmed = query.trimmingCharacters(in: .whitespaces)
        let lowered = trimmed.lowercased()
        if lowered == "cpu" { return Device(ReferenceBackend<Float>()) }
        if lowered == "opencl" { return Device(try OpenCLBackend(device: OpenCLDiscovery.select(""))) }
        if lowered.hasPrefix("opencl:") {
            let rest = String(trimmed.dropFirst("opencl:".count))
            return Device(try OpenCLBackend(device: OpenCLDiscovery.select(rest)))
        }
        throw DeviceSelectionError(query: query)
    }

    /// The device named by `KILN_DEVICE`, else `fallback`.
    public static func fromEnvironment(
        default fallback: String = "opencl", environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> Device {
        try named(environment[environmentVariable] ?? fallback)
    }
}
