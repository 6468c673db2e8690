// MemoryLimits: how much memory a backend can hand out, and the check that every allocation sized by a
// model string, a file or a batch goes through before it is made, so an absurd size is a clear error
// naming the tensor rather than an abort in malloc or in the driver.

/// The largest single buffer and the total memory of a device, and the size of one element on it.
public struct MemoryLimits: Sendable, Equatable {
    /// The largest single allocation, in bytes (OpenCL's `CL_DEVICE_MAX_MEM_ALLOC_SIZE`).
    public var largestAllocationBytes: Int
    /// All the memory the device has, in bytes (OpenCL's `CL_DEVICE_GLOBAL_MEM_SIZE`; the host's for the CPU).
    public var totalBytes: Int
    /// Bytes per element of the backend's float type.
    public var bytesPerElement: Int

    public init(largestAllocationBytes: Int, totalBytes: Int, bytesPerElement: Int) {
        self.largestAllocationBytes = largestAllocationBytes
        self.totalBytes = totalBytes
        self.bytesPerElement = bytesPerElement
    }

    /// No limit: for backends that cannot say.
    public static let unlimited = MemoryLimits(largestAllocationBytes: .max, totalBytes: .max, bytesPerElement: 4)

    /// The elements of `dimensions`, or nil when a dimension is negative or the product overflows.
    public static func elementCount(_ dimensions: [Int]) -> Int? {
        var count = 1
        for dimension in dimensions {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            count = product
        }
        return count
    }

    /// The bytes of one buffer of `dimensions`, or nil when that overflows.
    public func bytes(of dimensions: [Int]) -> Int? {
        guard let count = Self.elementCount(dimensions) else { return nil }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: bytesPerElement)
        return overflow ? nil : bytes
    }

    /// Throws unless one buffer of `dimensions` fits the largest allocation; `tensor` names it in the error.
    /// Returns its size in bytes.
    @discardableResult
    public func check(_ tensor: String, _ dimensions: [Int], on device: String) throws(AllocationError) -> Int {
        guard let bytes = bytes(of: dimensions) else {
            throw AllocationError(
                tensor: tensor, dimensions: dimensions, bytes: nil, limit: .largestAllocation(largestAllocationBytes), device: device)
        }
        guard bytes <= largestAllocationBytes else {
            throw AllocationError(
                tensor: tensor, dimensions: dimensions, bytes: bytes, limit: .largestAllocation(largestAllocationBytes), device: device)
        }
        return bytes
    }

    /// Throws unless `bytes` more on top of `inUse` fit the device's memory; `tensor` names the new buffer.
    public func checkTotal(_ tensor: String, _ dimensions: [Int], bytes: Int, inUse: Int, on device: String) throws(AllocationError) {
        let (total, overflow) = inUse.addingReportingOverflow(bytes)
        guard !overflow, total <= totalBytes else {
            throw AllocationError(
                tensor: tensor, dimensions: dimensions, bytes: bytes, limit: .total(totalBytes, inUse: inUse), device: device)
        }
    }
}

/// A buffer that a device cannot hold. The message names the tensor, its shape and size, and the limit.
public struct AllocationError: Error, CustomStringConvertible, Equatable {
    /// Which limit the buffer exceeds.
    public enum Limit: Equatable, Sendable {
        /// The largest single allocation, in bytes.
        case largestAllocation(Int)
        /// The device's memory, in bytes, of which `inUse` are already taken.
        case total(Int, inUse: Int)
    }

    /// What the buffer is for, e.g. `layer 2 (dense10) weight` or `conv2d output`.
    public let tensor: String
    public let dimensions: [Int]
    /// Its size in bytes; nil when the size does not even fit in an integer.
    public let bytes: Int?
    public let limit: Limit
    /// The device's name.
    public let device: String

    public init(tensor: String, dimensions: [Int], bytes: Int?, limit: Limit, device: String) {
        self.tensor = tensor
        self.dimensions = dimensions
        self.bytes = bytes
        self.limit = limit
        self.device = device
    }

    public var description: String {
        let shape = "[" + dimensions.map(String.init).joined(separator: ", ") + "]"
        let size = bytes.map { "\($0) bytes (\(Self.readable($0)))" } ?? "more bytes than an integer holds"
        let exceeded =
            switch limit {
            case .largestAllocation(let largest):
                "exceeds the largest allocation of \(device), \(largest) bytes (\(Self.readable(largest)))"
            case .total(let total, let inUse):
                "does not fit in the memory of \(device), \(total) bytes (\(Self.readable(total))), of which \(inUse) bytes are in use"
            }
        return "\(tensor) \(shape): \(size) \(exceeded); use a smaller model or batch"
    }

    /// `1.5 GiB`, `300 MiB`, ...
    static func readable(_ bytes: Int) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        let tenths = Int((value * 10).rounded())
        return unit == 0 ? "\(bytes) bytes" : "\(tenths / 10).\(tenths % 10) \(units[unit])"
    }
}
