import Foundation
// Fuzzes the NumPy .npy reader: any bytes (written to a file, since the reader reads by offset) give a header
// whose elements all lie inside the file, or an error; reading the elements then never fails or traps.
import FuzzShim

let file = URL(fileURLWithPath: (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()))
    .appendingPathComponent("kiln-fuzz-npy-\(getpid()).npy")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard (try? Data(bytes: bytes, count: count).write(to: file)) != nil, let array = try? NPYArray(contentsOf: file) else { return 0 }
    let elements = array.header.elementCount
    precondition(array.header.dataOffset + elements * array.header.elementType.size <= count, "elements beyond the file")
    guard let values = try? array.values(0..<min(elements, 4096)) else { preconditionFailure("a checked header's elements cannot be read") }
    precondition(values.count == min(elements, 4096))
    if array.header.elementType.isInteger, elements <= 4096 { _ = try? array.integers() }
    return 0
}
