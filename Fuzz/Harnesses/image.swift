import Foundation
// Fuzzes the PNG and JPEG decoders (libpng's simplified API, libjpeg-turbo) behind Kiln's image reader: a
// header never asks for more than the pixel limit (here 2^20) and damaged data is an error, never a crash.
import FuzzShim

let limits = ImageLimits(maximumPixels: 1 << 20)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImage(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    for decode in [PNG.decode, JPEG.decode] {
        guard let image = try? decode(data, "fuzz-image", limits) else { continue }
        precondition(image.width * image.height <= 1 << 20)
        precondition(image.pixels.count == image.width * image.height * image.channels, "pixels and size disagree")
    }
    return 0
}
