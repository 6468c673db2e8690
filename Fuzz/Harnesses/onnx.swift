import Foundation
// Fuzzes the ONNX reader and importer (seeds: ONNX's node tests): a serialized model either parses and its
// graph builds on a device with a 4 MiB largest buffer for its declared input shapes, or throws.
import FuzzShim
import KilnONNX

let device = Device(FuzzBackend())

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let model = try? ONNXModel(serializedData: Data(bytes: bytes, count: count), file: "fuzz.onnx") else { return 0 }
    // Unknown dimensions become 1; inputs beyond 4096 elements are not worth a fuzzer's time.
    let shapes = model.inputs.map { Shape($0.dimensions.map { max($0 ?? 1, 0) }) }
    guard shapes.allSatisfy({ (MemoryLimits.elementCount($0.dimensions) ?? .max) <= 4096 }) else { return 0 }
    var integers: [String: [Int]] = [:]
    for (info, shape) in zip(model.inputs, shapes) where info.isInteger { integers[info.name] = [Int](repeating: 1, count: shape.count) }
    _ = try? ONNXImport.graph(model, inputShapes: shapes, integerInputs: integers, on: device)
    return 0
}
