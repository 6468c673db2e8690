// Device selection: the one parser of device strings, for the command line, KILN_DEVICE, the bench, `kiln check`
// and the tests.
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

/// A device a device string names, found but not opened yet.
public enum DeviceSelection {
    /// The CPU reference backend in Float32.
    case reference
    case openCL(OpenCLDeviceHandle)

    /// The device `query` names (see the file header). OpenCL errors list the devices there are.
    public static func parse(_ query: String) throws -> DeviceSelection {
        let trimmed = query.trimmingCharacters(in: .whitespaces)
        let lowered = trimmed.lowercased()
        if lowered == "cpu" { return .reference }
        if lowered == "opencl" { return .openCL(try OpenCLDiscovery.select("")) }
        if lowered.hasPrefix("opencl:") { return .openCL(try OpenCLDiscovery.select(String(trimmed.dropFirst("opencl:".count)))) }
        throw DeviceSelectionError(query: query)
    }

    /// `cpu` and every OpenCL device of every platform (none when no OpenCL platform is installed).
    public static func all() -> [DeviceSelection] {
        [.reference] + ((try? OpenCLDiscovery.devices()) ?? []).map { .openCL($0) }
    }

    /// The name a user selects it by: `cpu` or `opencl:N`.
    public var label: String {
        switch self {
        case .reference: "cpu"
        case .openCL(let handle): "opencl:\(handle.info.index)"
        }
    }

    /// The device's own name.
    public var name: String {
        switch self {
        case .reference: "CPU reference backend"
        case .openCL(let handle): handle.info.name
        }
    }

    public var isReference: Bool {
        if case .reference = self { return true }
        return false
    }

    /// Opens the device's backend; an OpenCL backend caches its programs in `cacheDirectory` (default: see `ProgramCache`).
    public func backend(cacheDirectory: URL? = nil) throws -> any Backend {
        switch self {
        case .reference: ReferenceBackend<Float>()
        case .openCL(let handle): try OpenCLBackend(device: handle, cacheDirectory: cacheDirectory)
        }
    }
}

extension Device {
    /// The environment variable that picks the default device.
    public static let environmentVariable = "KILN_DEVICE"

    /// Opens the device `query` names (see the file header). OpenCL errors list the devices there are.
    public static func named(_ query: String) throws -> Device {
        Device(try DeviceSelection.parse(query).backend())
    }

    /// The device named by `KILN_DEVICE`, else `fallback`.
    public static func fromEnvironment(
        default fallback: String = "opencl", environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> Device {
        try named(environment[environmentVariable] ?? fallback)
    }
}
