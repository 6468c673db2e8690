// Fuzzes the safetensors reader: any bytes either parse into tensors whose sizes match their byte ranges
// inside the file, or throw; never a trap, an overflow or an allocation beyond the file's size.
import FuzzShim
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    guard let file = try? SafeTensorsFile(data: data, file: "fuzz.safetensors") else { return 0 }
    var total = 0
    for array in file.arrays {
        precondition(array.values.count == array.shape.reduce(1, *), "values and shape disagree for \(array.name)")
        total += array.values.count * 4
    }
    precondition(total <= count, "tensors hold more bytes than the file")
    _ = file.nonFiniteError(file: "fuzz.safetensors")
    // What the reader accepts, the writer writes and the reader reads back the same (empty tensors, which
    // share an offset, may come back in another order).
    if let encoded = try? file.encoded(), let again = try? SafeTensorsFile(data: encoded, file: "again") {
        func byName(_ file: SafeTensorsFile) -> [String: NamedArray] { Dictionary(file.arrays.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }) }
        let (before, after) = (byName(file), byName(again))
        precondition(before.count == file.arrays.count && after.count == before.count && again.metadata == file.metadata, "round trip changed the file")
        for (name, array) in before {
            guard let read = after[name], read.shape == array.shape,
                zip(read.values, array.values).allSatisfy({ $0.bitPattern == $1.bitPattern })
            else { preconditionFailure("round trip changed tensor \(name)") }
        }
    }
    return 0
}
