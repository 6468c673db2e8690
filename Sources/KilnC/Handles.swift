// The C API's handles: every kiln_device and kiln_model pointer given out is registered here, so a NULL,
// destroyed or wrong-kind handle is an error code instead of a crash, and the objects are released exactly
// when their destroy function is called.
import Foundation
import Kiln

/// Live handles, by the address given to C. The registry holds the strong reference.
enum HandleRegistry {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var live: [UnsafeMutableRawPointer: AnyObject] = [:]

    /// Registers `object` and returns the pointer C code holds.
    static func register(_ object: AnyObject) -> OpaquePointer {
        let pointer = Unmanaged.passUnretained(object).toOpaque()
        lock.lock()
        live[pointer] = object
        lock.unlock()
        return OpaquePointer(pointer)
    }

    /// The live object of type `T` behind `handle`; throws for NULL, a destroyed handle or another kind.
    static func lookup<T: AnyObject>(_ handle: OpaquePointer?, as type: T.Type, _ argument: String) throws -> T {
        let pointer = UnsafeMutableRawPointer(try required(handle, argument))
        lock.lock()
        let object = live[pointer]
        lock.unlock()
        guard let object else { throw CAPIError(.invalidArgument, "\(argument) is not a live handle (destroyed already?)") }
        guard let typed = object as? T else {
            throw CAPIError(.invalidArgument, "\(argument) is a \(Swift.type(of: object)), not a \(T.self)")
        }
        return typed
    }

    /// Drops the registry's reference to `handle` (a NULL handle is fine); throws for an unknown handle.
    static func release<T: AnyObject>(_ handle: OpaquePointer?, as type: T.Type, _ argument: String) throws {
        guard let handle else { return }
        _ = try lookup(handle, as: type, argument)
        lock.lock()
        live[UnsafeMutableRawPointer(handle)] = nil
        lock.unlock()
    }
}

/// A C string owned by a handle (freed with it).
final class CString {
    let pointer: UnsafeMutablePointer<CChar>
    init(_ text: String) { pointer = strdup(text) }
    deinit { free(pointer) }
}

/// A name and shape the C API reports (an input, output or parameter), in memory owned by the handle.
final class CValueDescription {
    let name: CString
    let dims: UnsafeMutableBufferPointer<Int64>

    /// `dimensions` with nil for a free dimension (reported as -1).
    let rank: Int

    init(name: String, dimensions: [Int?]) {
        self.name = CString(name)
        dims = .allocate(capacity: max(dimensions.count, 1))
        for (index, size) in dimensions.enumerated() { dims[index] = Int64(size ?? -1) }
        rank = dimensions.count
    }

    deinit { dims.deallocate() }

    /// Writes the description through the caller's (optional) pointers.
    func write(
        name: UnsafeMutablePointer<UnsafePointer<CChar>?>?, rank: UnsafeMutablePointer<Int>?,
        dims: UnsafeMutablePointer<UnsafePointer<Int64>?>?
    ) {
        name?.pointee = UnsafePointer(self.name.pointer)
        rank?.pointee = self.rank
        dims?.pointee = UnsafePointer(self.dims.baseAddress)
    }
}

/// kiln_device: a device and the lock that serialises every call using it.
final class DeviceHandle {
    let device: Device
    let label: CString
    let lock = NSRecursiveLock()

    init(device: Device) {
        self.device = device
        label = CString("\(device)")
    }

    /// Runs `body` holding the device's lock.
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
