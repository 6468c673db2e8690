// The C API's error boundary: status codes (kiln_status in kiln.h), the per-thread last-error message, and
// `guarded`, which every exported function runs its body in so that no Swift error crosses into C.
import Foundation
import Kiln
import KilnONNX

/// kiln_status, value for value.
enum CStatus: Int32, CaseIterable {
    case ok = 0
    case invalidArgument = 1
    case shape = 2
    case bufferTooSmall = 3
    case file = 4
    case unsupported = 5
    case device = 6
    case numeric = 7
    case `internal` = 8

    var name: String {
        switch self {
        case .ok: "KILN_OK"
        case .invalidArgument: "KILN_ERROR_INVALID_ARGUMENT"
        case .shape: "KILN_ERROR_SHAPE"
        case .bufferTooSmall: "KILN_ERROR_BUFFER_TOO_SMALL"
        case .file: "KILN_ERROR_FILE"
        case .unsupported: "KILN_ERROR_UNSUPPORTED"
        case .device: "KILN_ERROR_DEVICE"
        case .numeric: "KILN_ERROR_NUMERIC"
        case .internal: "KILN_ERROR_INTERNAL"
        }
    }
}

/// A failure the C layer detects itself (a NULL pointer, a short buffer), with its status.
struct CAPIError: Error, CustomStringConvertible {
    let status: CStatus
    let description: String
    init(_ status: CStatus, _ description: String) {
        self.status = status
        self.description = description
    }
}

/// The message of the last failed call, one per thread, in a C string the thread owns until its next failure.
enum LastError {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()
    private static let empty: UnsafeMutablePointer<CChar> = strdup("")

    static func set(_ message: String) {
        free(pthread_getspecific(key))
        pthread_setspecific(key, strdup(message))
    }

    static var pointer: UnsafePointer<CChar> {
        UnsafePointer((pthread_getspecific(key) ?? UnsafeMutableRawPointer(empty)).assumingMemoryBound(to: CChar.self))
    }
}

/// The status for an error from the library.
func status(of error: any Error) -> CStatus {
    switch error {
    case let error as CAPIError: return error.status
    case let error as ONNXError:
        switch error {
        case .unreadable, .invalidModel, .invalidNode: return .file
        case .unsupportedOpset, .unsupportedOperator, .unsupportedAttribute, .unsupportedLayer: return .unsupported
        case .inputMismatch: return .shape
        }
    case is DataError: return .file
    case is ShapeError, is TensorError: return .shape
    case is ModelSpecError: return .invalidArgument
    case is DeviceSelectionError, is OpenCLError: return .device
    case is NonFiniteLossError: return .numeric
    case let error as TrainingError:
        if case .nonFiniteWeights = error { return .numeric }
        return .invalidArgument
    default: return .internal
    }
}

/// Runs `body` and returns its status: `.ok`, or the error's status with the message stored for
/// kiln_last_error(), prefixed with the C function's name.
func guarded(_ function: String, _ body: () throws -> Void) -> Int32 {
    do {
        try body()
        return CStatus.ok.rawValue
    } catch {
        LastError.set("\(function): \(error)")
        return status(of: error).rawValue
    }
}

/// `pointer`, or an invalid-argument error naming the argument when it is NULL.
func required<T>(_ pointer: T?, _ argument: String) throws -> T {
    guard let pointer else { throw CAPIError(.invalidArgument, "\(argument) is NULL") }
    return pointer
}

/// A C string argument as a Swift string.
func string(_ pointer: UnsafePointer<CChar>?, _ argument: String) throws -> String {
    String(cString: try required(pointer, argument))
}

/// A shape passed from C: `rank` positive dimensions whose product fits in memory Kiln can address.
func shape(_ dims: UnsafePointer<Int64>?, rank: Int, _ argument: String) throws -> Shape {
    guard rank > 0, rank <= 8 else { throw CAPIError(.invalidArgument, "\(argument) has rank \(rank); give 1 to 8 dimensions") }
    let dims = try required(dims, argument)
    var count = 1
    var dimensions: [Int] = []
    for index in 0..<rank {
        let size = dims[index]
        guard size > 0, size <= Int64(Int32.max) else {
            throw CAPIError(.shape, "\(argument)[\(index)] is \(size); dimensions must be positive")
        }
        let (product, overflow) = count.multipliedReportingOverflow(by: Int(size))
        guard !overflow, product <= Int(Int32.max) else { throw CAPIError(.shape, "\(argument) has more than 2^31 elements") }
        count = product
        dimensions.append(Int(size))
    }
    return Shape(dimensions)
}
