// MPICall: turns an MPI status code into a DistributedError with the library's own explanation, and reads
// the C strings the shim fills in.
import CKilnMPI

enum MPICall {
    /// Throws `DistributedError.call` unless `status` is MPI_SUCCESS (0).
    static func check(_ status: Int32, _ function: String, rank: Int) throws {
        guard status != 0 else { return }
        throw DistributedError.call(rank: rank, function: function, code: status, message: text { kiln_mpi_error_string(status, $0, $1) })
    }

    /// The NUL-terminated text a C function writes into a buffer of `capacity` bytes.
    static func text(capacity: Int = 1024, _ fill: (UnsafeMutablePointer<CChar>, Int) -> Void) -> String {
        var buffer = [CChar](repeating: 0, count: capacity)
        buffer.withUnsafeMutableBufferPointer { pointer in
            if let base = pointer.baseAddress { fill(base, pointer.count - 1) }
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
