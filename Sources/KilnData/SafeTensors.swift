// SafeTensors: the safetensors file format (an 8-byte little-endian header length, a JSON header of
// names, dtypes, shapes and byte ranges, then the raw data), F32 only, written atomically.
import Foundation

/// A named float32 tensor as stored in a safetensors file.
public struct NamedArray: Equatable {
    public var name: String
    public var shape: [Int]
    public var values: [Float]

    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name
        self.shape = shape
        self.values = values
    }
}

/// The contents of a safetensors file.
public struct SafeTensorsFile {
    /// The tensors in file order.
    public var arrays: [NamedArray]
    /// Free-form string metadata (`__metadata__`).
    public var metadata: [String: String]
    /// Tensors of other dtypes, by name (PyTorch's int64 `num_batches_tracked`, say): listed, not read.
    public private(set) var otherDTypes: [String: String] = [:]

    public init(arrays: [NamedArray], metadata: [String: String] = [:]) {
        self.arrays = arrays
        self.metadata = metadata
    }

    /// The tensor called `name` with exactly `shape`, or an error naming the file and what differs.
    public func array(_ name: String, shape: [Int], file: String) throws -> NamedArray {
        if let dtype = otherDTypes[name] { throw DataError.wrongDType(file: file, name: name, found: dtype) }
        guard let array = arrays.first(where: { $0.name == name }) else { throw DataError.missingTensor(file: file, name: name) }
        guard array.shape == shape else { throw DataError.wrongShape(file: file, name: name, expected: shape, found: array.shape) }
        return array
    }

    /// Reads and checks `url`.
    public init(contentsOf url: URL) throws {
        let file = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DataError.unreadable(file: file, reason: (error as NSError).localizedDescription)
        }
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw DataError.truncated(file: file, expectedBytes: 8, actualBytes: bytes.count) }
        let headerLength = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        guard headerLength >= 2, headerLength <= bytes.count - 8 else {
            throw DataError.truncated(file: file, expectedBytes: 8 + headerLength, actualBytes: bytes.count)
        }
        let headerData = Data(bytes[8..<8 + headerLength])
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw DataError.invalidHeader(file: file, reason: "the header is not a JSON object")
        }
        let body = 8 + headerLength
        var arrays: [(offset: Int, array: NamedArray)] = []
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = (value as? [String: String]) ?? [:]
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else { throw DataError.invalidHeader(file: file, reason: "entry '\(name)' needs dtype, shape and data_offsets") }
            guard dtype == "F32" else {
                otherDTypes[name] = dtype
                continue
            }
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw DataError.invalidHeader(file: file, reason: "entry '\(name)' has a negative dimension in \(shape)")
            }
            let count = shape.reduce(1, *)
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, end - begin == count * 4 else {
                throw DataError.invalidHeader(file: file, reason: "entry '\(name)' has byte range \(offsets) for \(count) floats")
            }
            guard body + end <= bytes.count else {
                throw DataError.truncated(file: file, expectedBytes: body + end, actualBytes: bytes.count)
            }
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { destination in
                bytes.withUnsafeBytes { source in
                    destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[(body + begin)..<(body + end)]))
                }
            }
            // Stored little-endian; convert on a big-endian host.
            values = values.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
            arrays.append((begin, NamedArray(name: name, shape: shape, values: values)))
        }
        self.arrays = arrays.sorted { $0.offset < $1.offset }.map(\.array)
        self.metadata = metadata
    }

    /// The file's bytes: header padded with spaces to a multiple of 8, tensors in order.
    public func encoded() throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for array in arrays {
            let size = array.values.count * 4
            header[array.name] = ["dtype": "F32", "shape": array.shape, "data_offsets": [offset, offset + size]] as [String: Any]
            offset += size
        }
        var headerData = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while headerData.count % 8 != 0 { headerData.append(0x20) }
        var data = Data()
        withUnsafeBytes(of: UInt64(headerData.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(headerData)
        for array in arrays {
            let littleEndian = array.values.map { $0.bitPattern.littleEndian }
            littleEndian.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        return data
    }

    /// Writes the file atomically (temporary file, fsync, rename).
    public func write(to url: URL) throws {
        try AtomicFile.write(try encoded(), to: url)
    }
}
