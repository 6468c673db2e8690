// SafeTensors: the safetensors file format (an 8-byte little-endian header length, a JSON header of
// names, dtypes, shapes and byte ranges, then the raw data), F32 only, written atomically.
import Foundation
import KilnFiles

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

    /// The F32 tensors holding NaN or infinite values, with how many such values each has: a diverged run's weights.
    public var nonFiniteArrays: [(name: String, count: Int)] {
        arrays.compactMap { array in
            let count = array.values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            return count > 0 ? (array.name, count) : nil
        }
    }

    /// `DataError.nonFiniteWeights` naming this file's non-finite tensors, or nil when every value is finite.
    public func nonFiniteError(file: String) -> DataError? {
        let found = nonFiniteArrays
        guard !found.isEmpty else { return nil }
        let listed = found.prefix(4).map { "\($0.name) (\($0.count) values)" }.joined(separator: ", ") + (found.count > 4 ? ", ..." : "")
        return .nonFiniteWeights(file: file, tensors: listed)
    }

    /// Reads and checks `url`.
    public init(contentsOf url: URL) throws {
        try self.init(data: try FileContents.read(url), file: url.path)
    }

    /// Parses and checks the bytes of a safetensors file; `file` names it in errors.
    ///
    /// Every size in the header is checked before it is used, with arithmetic that cannot overflow: the
    /// header fits in the file, each tensor's element count times its element size is its byte range, the
    /// range lies inside the file and overlaps no other. So nothing is allocated beyond the file's size.
    public init(data: Data, file: String) throws {
        let data = data.startIndex == 0 ? data : Data(data)
        guard data.count >= 8 else { throw DataError.truncated(file: file, expectedBytes: 8, actualBytes: data.count) }
        let declaredLength = data.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard declaredLength >= 2 else {
            throw DataError.invalidHeader(
                file: file, reason: "the header length is \(declaredLength) bytes; a JSON object needs at least 2")
        }
        // The format caps the header at 100 MB; a larger length is not a header but something else's bytes.
        guard declaredLength <= 100_000_000 else {
            throw DataError.invalidHeader(
                file: file, reason: "the header length \(declaredLength) is beyond the format's 100 MB; is this a safetensors file?")
        }
        guard declaredLength <= UInt64(data.count - 8) else {
            throw DataError.truncated(file: file, expectedBytes: 8 + Int(declaredLength), actualBytes: data.count)
        }
        let body = 8 + Int(declaredLength)
        let header: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<body)) as? [String: Any] else {
                throw DataError.invalidHeader(file: file, reason: "the header is not a JSON object")
            }
            header = object
        } catch let error as DataError {
            throw error
        } catch {
            throw DataError.invalidHeader(file: file, reason: "the header is not a JSON object")
        }
        let bodyBytes = data.count - body
        var arrays: [(offset: Int, array: NamedArray)] = []
        var ranges: [(begin: Int, end: Int, name: String)] = []
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let entries = value as? [String: Any] else {
                    throw DataError.invalidHeader(file: file, reason: "__metadata__ must be an object of strings")
                }
                for (key, entry) in entries {
                    guard let text = entry as? String else {
                        throw DataError.invalidHeader(
                            file: file, reason: "__metadata__ value of '\(key)' is not a string (safetensors metadata holds strings only)")
                    }
                    metadata[key] = text
                }
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = Self.integers(entry["shape"]), let offsets = Self.integers(entry["data_offsets"]), offsets.count == 2
            else { throw DataError.invalidHeader(file: file, reason: "entry '\(name)' needs dtype, shape and data_offsets") }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end else {
                throw DataError.invalidHeader(file: file, reason: "entry '\(name)' has byte range \(offsets), which is not a range")
            }
            guard end <= bodyBytes else {
                let (expected, overflow) = body.addingReportingOverflow(end)
                guard !overflow, end - bodyBytes <= 1 << 40 else {
                    throw DataError.invalidHeader(
                        file: file, reason: "entry '\(name)' has byte range \(offsets), far beyond the file's \(bodyBytes) bytes of data")
                }
                throw DataError.truncated(file: file, expectedBytes: expected, actualBytes: data.count)
            }
            ranges.append((begin, end, name))
            guard dtype == "F32" else {
                otherDTypes[name] = dtype
                continue
            }
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw DataError.invalidHeader(file: file, reason: "entry '\(name)' has a negative dimension in \(shape)")
            }
            let count = shape.reduce(Optional(1)) { product, dimension in
                product.flatMap { value in
                    let (result, overflow) = value.multipliedReportingOverflow(by: dimension)
                    return overflow ? nil : result
                }
            }
            guard let count, count <= (end - begin) / 4, count * 4 == end - begin else {
                throw DataError.invalidHeader(
                    file: file, reason: "entry '\(name)' has byte range \(offsets) (\(end - begin) bytes) for shape \(shape) of F32")
            }
            var values = [Float](repeating: 0, count: count)
            values.withUnsafeMutableBytes { destination in
                data.withUnsafeBytes { source in
                    destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[(body + begin)..<(body + end)]))
                }
            }
            // Stored little-endian; convert on a big-endian host.
            values = values.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
            arrays.append((begin, NamedArray(name: name, shape: shape, values: values)))
        }
        // Each byte belongs to at most one tensor (as the format requires), so one tensor's bytes cannot be read as another's.
        let sorted = ranges.filter { $0.begin < $0.end }.sorted { ($0.begin, $0.name) < ($1.begin, $1.name) }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where next.begin < previous.end {
            throw DataError.invalidHeader(
                file: file,
                reason:
                    "entries '\(previous.name)' [\(previous.begin), \(previous.end)] and '\(next.name)' [\(next.begin), \(next.end)] overlap"
            )
        }
        self.arrays = arrays.sorted { ($0.offset, $0.array.name) < ($1.offset, $1.array.name) }.map(\.array)
        self.metadata = metadata
    }

    /// A JSON array of integers (`shape`, `data_offsets`), or nil when it is anything else (a fraction, a
    /// number beyond `Int`, a string).
    private static func integers(_ value: Any?) -> [Int]? {
        guard let numbers = value as? [Any] else { return nil }
        var result: [Int] = []
        for number in numbers {
            guard let integer = number as? Int else { return nil }
            result.append(integer)
        }
        return result
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

    /// Writes the file atomically (see `AtomicFile`).
    public func write(to url: URL) throws {
        try AtomicFile.write(try encoded(), to: url)
    }
}
