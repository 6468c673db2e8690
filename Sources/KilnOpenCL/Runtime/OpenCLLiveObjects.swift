// OpenCLLiveObjects: counts the OpenCL objects Kiln holds (contexts, queues, programs, kernels, buffers) and
// the bytes of its buffers, incremented when a wrapper is created and decremented in its deinit, so a test
// can check that everything created was released and an allocation can be checked against what is in use.
import Foundation

/// How many OpenCL objects of each kind are alive, and the bytes their buffers hold.
public struct OpenCLObjectCounts: Equatable, Sendable, CustomStringConvertible {
    public var contexts = 0
    public var queues = 0
    public var programs = 0
    public var kernels = 0
    public var buffers = 0
    public var bufferBytes = 0

    public init() {}

    public var description: String {
        "\(contexts) contexts, \(queues) queues, \(programs) programs, \(kernels) kernels, \(buffers) buffers (\(bufferBytes) bytes)"
    }
}

/// The process-wide count of live OpenCL objects created through Kiln's wrappers.
public enum OpenCLLiveObjects {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var counts = OpenCLObjectCounts()

    /// The objects alive now.
    public static var current: OpenCLObjectCounts {
        lock.lock()
        defer { lock.unlock() }
        return counts
    }

    /// Adds `amount` (negative on release) to one count.
    static func add(_ amount: Int, to kind: WritableKeyPath<OpenCLObjectCounts, Int>) {
        lock.lock()
        counts[keyPath: kind] += amount
        lock.unlock()
    }
}

/// Bytes held by the buffers of one context: what a new allocation is checked against.
final class ByteCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes = 0

    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return bytes
    }

    func add(_ amount: Int) {
        lock.lock()
        bytes += amount
        lock.unlock()
    }
}
