// OpenCL devices: the Codable description of a device (`OpenCLDeviceInfo`), the handle that pairs
// it with the C ids, discovery across all platforms, and selection by the `opencl:QUERY` string.
import COpenCL
import Foundation

/// What Kiln knows about one OpenCL device, read once at discovery. Codable so `kiln devices --json`
/// and tuning tables can store it.
public struct OpenCLDeviceInfo: Sendable, Hashable, Codable {
    /// Global index across all platforms, in enumeration order: the `N` of `opencl:N`.
    public var index: Int
    public var platformName: String
    /// Who ships the platform ("The pocl project"): matched by `opencl:NAME` too, because some
    /// platforms' names do not contain their common name ("Portable Computing Language").
    public var platformVendor: String
    public var platformVersion: String
    public var name: String
    public var vendor: String
    public var driverVersion: String
    public var deviceVersion: String
    public var openCLCVersion: String
    public var isGPU: Bool
    /// "GPU", "CPU", "accelerator" or "other".
    public var typeDescription: String
    public var computeUnits: Int
    public var maxClockMHz: Int
    public var globalMemoryBytes: Int
    public var localMemoryBytes: Int
    /// The largest single buffer the device accepts (`CL_DEVICE_MAX_MEM_ALLOC_SIZE`).
    public var maxAllocationBytes: Int
    public var maxWorkGroupSize: Int
    public var maxWorkItemSizes: [Int]
    public var preferredVectorWidthFloat: Int
    public var hasFP16: Bool
    public var hasFP64: Bool
    public var extensions: [String]

    /// "index: platform / device", as listed in `.deviceNotFound`.
    public var summary: String { "\(index): \(platformName) / \(name)" }
}

/// A discovered device: its description plus the C ids needed to open it. The ids are not
/// Codable, so they live here rather than in `OpenCLDeviceInfo`.
public struct OpenCLDeviceHandle: @unchecked Sendable {
    // OpenCL platform and device ids are process-wide, immutable and thread-safe to use.
    public let info: OpenCLDeviceInfo
    let platformID: cl_platform_id
    let deviceID: cl_device_id
}

/// Lists and selects OpenCL devices.
public enum OpenCLDiscovery {
    /// All devices of all platforms, in enumeration order. Zero platforms is an empty list.
    public static func devices() throws(OpenCLError) -> [OpenCLDeviceHandle] {
        var platformCount: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &platformCount)
        // The ICD loader answers CL_PLATFORM_NOT_FOUND_KHR when no platform is installed.
        if status == platformNotFoundKHR || (status == CL_SUCCESS && platformCount == 0) { return [] }
        try check(status, "clGetPlatformIDs")
        var platforms = [cl_platform_id?](repeating: nil, count: Int(platformCount))
        try check(clGetPlatformIDs(platformCount, &platforms, nil), "clGetPlatformIDs")

        var handles: [OpenCLDeviceHandle] = []
        for case let platform? in platforms {
            let platformName = try platformString(platform, CL_PLATFORM_NAME)
            let platformVendor = try platformString(platform, CL_PLATFORM_VENDOR)
            let platformVersion = try platformString(platform, CL_PLATFORM_VERSION)
            var deviceCount: cl_uint = 0
            let countStatus = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount)
            if countStatus == CL_DEVICE_NOT_FOUND || deviceCount == 0 { continue }
            try check(countStatus, "clGetDeviceIDs")
            var devices = [cl_device_id?](repeating: nil, count: Int(deviceCount))
            try check(
                clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &devices, nil),
                "clGetDeviceIDs")
            for case let device? in devices {
                let info = try readInfo(
                    device, index: handles.count, platformName: platformName, platformVendor: platformVendor,
                    platformVersion: platformVersion)
                handles.append(OpenCLDeviceHandle(info: info, platformID: platform, deviceID: device))
            }
        }
        return handles
    }

    /// Picks a device by the part of a device string after `opencl` (and its colon):
    /// "" is the first GPU, else the first device; "N" is the device with global index N;
    /// anything else is a case-insensitive substring of the platform name or vendor, or of the
    /// device name (first match), so "pocl" finds "Portable Computing Language" by its vendor
    /// "The pocl project".
    public static func select(_ query: String) throws(OpenCLError) -> OpenCLDeviceHandle {
        try select(query, from: devices())
    }

    /// Selection over a given list; separated from discovery so the rule is testable on its own.
    public static func select(_ query: String, from devices: [OpenCLDeviceHandle]) throws(OpenCLError)
        -> OpenCLDeviceHandle
    {
        guard let first = devices.first else { throw .noDevice }
        var trimmed = query.trimmingCharacters(in: .whitespaces)
        // Accept the text after "opencl" with or without its colon: "opencl:1" gives ":1" or "1".
        if trimmed.hasPrefix(":") { trimmed = String(trimmed.dropFirst()).trimmingCharacters(in: .whitespaces) }
        if trimmed.isEmpty {
            return devices.first(where: { $0.info.isGPU }) ?? first
        }
        if let index = Int(trimmed) {
            if let match = devices.first(where: { $0.info.index == index }) { return match }
        } else {
            let needle = trimmed.lowercased()
            if let match = devices.first(where: { device in
                [device.info.platformName, device.info.platformVendor, device.info.name].contains {
                    $0.lowercased().contains(needle)
                }
            }) {
                return match
            }
        }
        throw .deviceNotFound(query: query, available: devices.map(\.info.summary))
    }

    // MARK: Reading device properties

    private static let platformNotFoundKHR: cl_int = -1001

    private static func readInfo(
        _ device: cl_device_id, index: Int, platformName: String, platformVendor: String, platformVersion: String
    ) throws(OpenCLError) -> OpenCLDeviceInfo {
        let type: cl_device_type = try deviceScalar(device, CL_DEVICE_TYPE)
        let extensions = try deviceString(device, CL_DEVICE_EXTENSIONS)
            .split(separator: " ").map(String.init).sorted()
        // The fp-config queries exist only where the device lists the extension: an OpenCL 1.2 device without
        // cl_khr_fp16 answers CL_DEVICE_HALF_FP_CONFIG with CL_INVALID_VALUE (oclgrind --check-api reports it).
        let doubleConfig: cl_device_fp_config =
            extensions.contains("cl_khr_fp64") ? try deviceScalar(device, CL_DEVICE_DOUBLE_FP_CONFIG) : 0
        let halfConfig: cl_device_fp_config =
            extensions.contains("cl_khr_fp16") ? try deviceScalar(device, deviceHalfFPConfig) : 0
        let dimensions: cl_uint = try deviceScalar(device, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS)
        let itemSizes: [Int] = try deviceArray(device, CL_DEVICE_MAX_WORK_ITEM_SIZES, count: Int(dimensions))
            .map { Int($0) }
        return OpenCLDeviceInfo(
            index: index,
            platformName: platformName,
            platformVendor: platformVendor,
            platformVersion: platformVersion,
            name: try deviceString(device, CL_DEVICE_NAME),
            vendor: try deviceString(device, CL_DEVICE_VENDOR),
            driverVersion: try deviceString(device, CL_DRIVER_VERSION),
            deviceVersion: try deviceString(device, CL_DEVICE_VERSION),
            openCLCVersion: try deviceString(device, CL_DEVICE_OPENCL_C_VERSION),
            isGPU: type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0,
            typeDescription: describe(type),
            computeUnits: Int(try deviceScalar(device, CL_DEVICE_MAX_COMPUTE_UNITS) as cl_uint),
            maxClockMHz: Int(try deviceScalar(device, CL_DEVICE_MAX_CLOCK_FREQUENCY) as cl_uint),
            globalMemoryBytes: Int(clamping: try deviceScalar(device, CL_DEVICE_GLOBAL_MEM_SIZE) as cl_ulong),
            localMemoryBytes: Int(clamping: try deviceScalar(device, CL_DEVICE_LOCAL_MEM_SIZE) as cl_ulong),
            maxAllocationBytes: Int(clamping: try deviceScalar(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE) as cl_ulong),
            maxWorkGroupSize: Int(try deviceScalar(device, CL_DEVICE_MAX_WORK_GROUP_SIZE) as Int),
            maxWorkItemSizes: itemSizes,
            preferredVectorWidthFloat: Int(try deviceScalar(device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT) as cl_uint),
            hasFP16: halfConfig != 0,
            hasFP64: doubleConfig != 0,
            extensions: extensions
        )
    }

    /// `CL_DEVICE_HALF_FP_CONFIG` lives in cl_ext.h, which the shim does not include.
    private static let deviceHalfFPConfig: Int32 = 0x1033

    private static func describe(_ type: cl_device_type) -> String {
        if type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 { return "GPU" }
        if type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 { return "CPU" }
        if type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 { return "accelerator" }
        return "other"
    }

    private static func platformString(_ platform: cl_platform_id, _ parameter: Int32) throws(OpenCLError) -> String {
        var size = 0
        try check(clGetPlatformInfo(platform, cl_platform_info(parameter), 0, nil, &size), "clGetPlatformInfo")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try check(clGetPlatformInfo(platform, cl_platform_info(parameter), size, &bytes, nil), "clGetPlatformInfo")
        return trimmedOpenCLText(String(cString: bytes))
    }

    static func deviceString(_ device: cl_device_id, _ parameter: Int32) throws(OpenCLError) -> String {
        var size = 0
        try check(clGetDeviceInfo(device, cl_device_info(parameter), 0, nil, &size), "clGetDeviceInfo")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try check(clGetDeviceInfo(device, cl_device_info(parameter), size, &bytes, nil), "clGetDeviceInfo")
        return trimmedOpenCLText(String(cString: bytes))
    }

    static func deviceScalar<T: FixedWidthInteger>(_ device: cl_device_id, _ parameter: Int32) throws(OpenCLError) -> T {
        var value: T = 0
        try check(
            clGetDeviceInfo(device, cl_device_info(parameter), MemoryLayout<T>.size, &value, nil), "clGetDeviceInfo")
        return value
    }

    private static func deviceArray(_ device: cl_device_id, _ parameter: Int32, count: Int) throws(OpenCLError) -> [Int] {
        var values = [Int](repeating: 0, count: count)
        try check(
            clGetDeviceInfo(device, cl_device_info(parameter), MemoryLayout<Int>.stride * count, &values, nil),
            "clGetDeviceInfo")
        return values
    }
}
