import Foundation
// Fuzzes the IDX reader on gzip input (the seeds are gzipped IDX files): inflation stops at its limit
// (here 1 MiB), corrupt or truncated streams are errors, and nothing traps.
import FuzzShim

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGzippedIDX(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    // Every input is a gzip stream as far as the reader can tell: the magic bytes come first.
    var data = Data([0x1F, 0x8B])
    data.append(bytes, count: count)
    let limits = DecompressionLimits(maximumBytes: 1 << 20)
    for rank in [1, 3] {
        guard let file = try? IDXFile(fileBytes: data, file: "fuzz-idx.gz", rank: rank, limits: limits) else { continue }
        precondition(file.bytes.count <= 1 << 20)
    }
    return 0
}
