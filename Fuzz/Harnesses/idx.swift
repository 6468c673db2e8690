import Foundation
// Fuzzes the IDX reader on plain bytes, as image (rank 3) and label (rank 1) files: a header never asks
// for more than the file holds, and nothing traps.
import FuzzShim

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    for rank in [1, 3] {
        guard let file = try? IDXFile(data: data, file: "fuzz-idx", rank: rank) else { continue }
        precondition(file.dimensions.count == rank)
        precondition(file.bytes.count == file.dimensions.reduce(1, *) && file.bytes.count <= count)
    }
    return 0
}
