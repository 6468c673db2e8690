// Fuzzes the checkpoint loader: a fuzzed safetensors file is read, its metadata's model string (from
// kiln.configuration) is built on a device with a 4 MiB largest buffer, its weights are loaded by name
// and shape, a char-lstm vocabulary in its metadata is parsed; each step either works or throws.
import FuzzShim
import Foundation

let device = Device(FuzzBackend())

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let file = try? SafeTensorsFile(data: Data(bytes: bytes, count: count), file: "fuzz.safetensors") else { return 0 }
    _ = file.nonFiniteError(file: "fuzz.safetensors")
    var model = "flatten-dense4"
    if let configuration = file.metadata["kiln.configuration"],
        let object = try? JSONSerialization.jsonObject(with: Data(configuration.utf8)) as? [String: Any],
        let stored = object["model"] as? String
    {
        model = stored
    }
    var random = RandomSource(seed: 0)
    if let built = try? ModelSpec(model).build(inputShape: [1, 6, 6], random: &random, on: device) {
        let state = built.state
        if (try? Checkpoint.load(file, path: "fuzz.safetensors", model: state)) != nil {
            // Loaded: every variable now holds the file's values.
            for (name, variable) in state {
                guard let values = try? variable.value.floats(), let stored = try? file.array(name, shape: variable.shape.dimensions, file: "") else {
                    preconditionFailure("\(name) loaded but cannot be read back")
                }
                precondition(zip(values, stored.values).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) })
            }
        }
    }
    if let json = file.metadata["kiln.vocabulary"] { _ = CharacterVocabulary(json: json) }
    return 0
}
