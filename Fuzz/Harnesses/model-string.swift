// Fuzzes the model-string parser: any string either builds a model on a device with a 4 MiB largest
// buffer, or throws a ModelSpecError; never a division by zero, an overflow or an oversized allocation.
import FuzzShim
import Foundation

let device = Device(FuzzBackend())

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelString(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    var random = RandomSource(seed: 0)
    // Small images keep the models (and the fuzzer) fast; the checks are the same at any size.
    for shape in [[1, 12, 12], [3, 7, 5]] {
        _ = try? ModelSpec(text).build(inputShape: shape, random: &random, on: device)
    }
    return 0
}
