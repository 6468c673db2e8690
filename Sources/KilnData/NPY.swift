// NPY: NumPy's `.npy` array files (format versions 1 to 3): the header (a Python dict literal naming the
// dtype, the memory order and the shape) read with a small strict parser, every size checked against the
// file's own size with overflow-checked arithmetic, and the elements read by offset on demand.
import Foundation

/// The header of a `.npy` file: element type, byte order, shape, and where the elements start.
public struct NPYHeader: Equatable, Sendable {
    /// The element types Kiln reads (NumPy's dtype kinds `u`, `i`, `f` and `b`).
    public enum ElementType: String, Sendable {
        case uint8, int8, uint16, int16, uint32, int32, uint64, int64, float32, float64, bool

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .uint8, .int8, .bool: 1
            case .uint16, .int16: 2
            case .uint32, .int32, .float32: 4
            case .uint64, .int64, .float64: 8
            }
        }

        public var isInteger: Bool { self != .float32 && self != .float64 && self != .bool }
    }

    public let elementType: ElementType
    public let littleEndian: Bool
    public let shape: [Int]
    /// The byte offset of the first element.
    public let dataOffset: Int

    /// Elements in the array (the product of `shape`, checked when the header was read).
    public var elementCount: Int { shape.reduce(1, *) }

    /// NumPy's header limit (`max_header_size`, 10,000 by default), raised for very long shapes; larger
    /// headers are refused before they are read.
    static let maximumHeaderBytes = 65536

    /// Reads the header at the start of `file`, checking that its elements fit in the file.
    init(file: RandomAccessFile) throws {
        let path = file.path
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard file.size >= 10 else { throw DataError.truncated(file: path, expectedBytes: 10, actualBytes: file.size) }
        let start = try file.bytes(at: 0, count: 10)
        guard Array(start[0..<6]) == magic else {
            throw DataError.invalidHeader(file: path, reason: "not a NumPy .npy file (no \\x93NUMPY magic); save arrays with numpy.save")
        }
        let version = start[6]
        let lengthBytes: Int
        switch version {
        case 1: lengthBytes = 2
        case 2, 3: lengthBytes = 4
        default: throw DataError.invalidHeader(file: path, reason: "format version \(version).\(start[7]); Kiln reads versions 1 to 3")
        }
        let prefixBytes = 8 + lengthBytes
        guard file.size >= prefixBytes else { throw DataError.truncated(file: path, expectedBytes: prefixBytes, actualBytes: file.size) }
        let lengthField = try file.bytes(at: 8, count: lengthBytes)
        let headerLength = lengthField.reversed().reduce(0) { $0 << 8 | Int($1) }
        guard headerLength <= Self.maximumHeaderBytes else {
            throw DataError.invalidHeader(file: path, reason: "a header of \(headerLength) bytes, more than \(Self.maximumHeaderBytes)")
        }
        guard file.size >= prefixBytes + headerLength else {
            throw DataError.truncated(file: path, expectedBytes: prefixBytes + headerLength, actualBytes: file.size)
        }
        let text = String(decoding: try file.bytes(at: prefixBytes, count: headerLength), as: UTF8.self)
        var parser = NPYDictionaryParser(text: text, file: path)
        let fields = try parser.parse()

        guard case .string(let descriptor)? = fields["descr"] else {
            throw DataError.invalidHeader(file: path, reason: "no 'descr' string (structured dtypes are not supported)")
        }
        (elementType, littleEndian) = try Self.elementType(descriptor, file: path)
        guard case .boolean(let fortranOrder)? = fields["fortran_order"] else {
            throw DataError.invalidHeader(file: path, reason: "no 'fortran_order' True or False")
        }
        guard !fortranOrder else {
            throw DataError.invalidHeader(file: path, reason: "the array is in Fortran order; save numpy.ascontiguousarray(array) instead")
        }
        guard case .tuple(let shape)? = fields["shape"] else { throw DataError.invalidHeader(file: path, reason: "no 'shape' tuple") }
        self.shape = shape
        dataOffset = prefixBytes + headerLength
        // The non-zero extents' product in bytes must be countable (an empty array with a huge other extent
        // included), so that every product of extents taken later is.
        var countable = elementType.size
        for extent in shape where extent > 0 {
            let (product, overflow) = countable.multipliedReportingOverflow(by: extent)
            guard !overflow else {
                throw DataError.invalidHeader(file: path, reason: "shape \(shape) has more elements than can be counted")
            }
            countable = product
        }
        // Every element must be in the file, a 0-d array's one element included: checked products (none when
        // an extent is 0), so a shape can neither overflow nor outgrow the file.
        let available = file.size - dataOffset
        var bytes = shape.contains(0) ? 0 : elementType.size
        for extent in shape where bytes > 0 && bytes <= available {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: extent)
            bytes = overflow ? Int.max : product
        }
        guard bytes <= available else {
            throw DataError.invalidHeader(
                file: path, reason: "shape \(shape) of \(elementType.rawValue) needs more than the \(available) bytes after the header")
        }
    }

    /// The element type and byte order of a NumPy dtype string such as `<f4`, `|u1` or `>i8`.
    private static func elementType(_ descriptor: String, file: String) throws -> (ElementType, Bool) {
        let types: [String: ElementType] = [
            "u1": .uint8, "i1": .int8, "u2": .uint16, "i2": .int16, "u4": .uint32, "i4": .int32, "u8": .uint64, "i8": .int64,
            "f4": .float32, "f8": .float64, "b1": .bool,
        ]
        guard let order = descriptor.first, "<>|=".contains(order), let type = types[String(descriptor.dropFirst())] else {
            throw DataError.invalidHeader(
                file: file, reason: "dtype '\(descriptor)'; Kiln reads unsigned and signed integers, float32, float64 and bool")
        }
        return (type, order != ">")
    }
}

/// A `.npy` array, its elements read on demand.
public final class NPYArray: @unchecked Sendable {
    public let url: URL
    public let header: NPYHeader
    private let file: RandomAccessFile

    public init(contentsOf url: URL) throws {
        self.url = url
        file = try RandomAccessFile(url)
        header = try NPYHeader(file: file)
    }

    /// Elements `range` (in C order) converted to `Double`, exactly for integers up to 2^53 and for floats.
    public func values(_ range: Range<Int>) throws -> [Double] {
        let size = header.elementType.size
        let bytes = try file.bytes(at: header.dataOffset + range.lowerBound * size, count: range.count * size)
        return (0..<range.count).map { element($0, in: bytes) }
    }

    /// Every element as an integer; throws, naming the file and the index, for a non-integer dtype.
    public func integers() throws -> [Int] {
        guard header.elementType.isInteger else {
            throw DataError.invalidHeader(file: url.path, reason: "dtype \(header.elementType.rawValue); labels must be integers")
        }
        let size = header.elementType.size
        let bytes = try file.bytes(at: header.dataOffset, count: header.elementCount * size)
        return try (0..<header.elementCount).map { index in
            let unsigned = Self.unsigned(bytes, at: index * size, size: size, littleEndian: header.littleEndian)
            switch header.elementType {
            case .int8: return Int(Int8(truncatingIfNeeded: unsigned))
            case .int16: return Int(Int16(truncatingIfNeeded: unsigned))
            case .int32: return Int(Int32(truncatingIfNeeded: unsigned))
            case .int64: return Int(Int64(bitPattern: unsigned))
            default:
                guard unsigned <= UInt64(Int.max) else {
                    throw DataError.invalidHeader(file: url.path, reason: "element \(index) is \(unsigned), too large for a label")
                }
                return Int(unsigned)
            }
        }
    }

    /// Reads elements `range` as `Float` into `destination`, through `transform` (bytes of uint8 arrays are
    /// passed as their value, 0...255).
    func readFloats(_ range: Range<Int>, into destination: UnsafeMutableBufferPointer<Float>, transform: (Float) -> Float) throws {
        let size = header.elementType.size
        let bytes = try file.bytes(at: header.dataOffset + range.lowerBound * size, count: range.count * size)
        for index in 0..<range.count { destination[index] = transform(Float(element(index, in: bytes))) }
    }

    /// Element `index` of `bytes` (which hold elements back to back) as a `Double`.
    private func element(_ index: Int, in bytes: [UInt8]) -> Double {
        let size = header.elementType.size
        let unsigned = Self.unsigned(bytes, at: index * size, size: size, littleEndian: header.littleEndian)
        switch header.elementType {
        case .uint8, .uint16, .uint32, .uint64: return Double(unsigned)
        case .int8: return Double(Int8(truncatingIfNeeded: unsigned))
        case .int16: return Double(Int16(truncatingIfNeeded: unsigned))
        case .int32: return Double(Int32(truncatingIfNeeded: unsigned))
        case .int64: return Double(Int64(bitPattern: unsigned))
        case .float32: return Double(Float(bitPattern: UInt32(truncatingIfNeeded: unsigned)))
        case .float64: return Double(bitPattern: unsigned)
        case .bool: return unsigned == 0 ? 0 : 1
        }
    }

    /// The `size`-byte unsigned integer at `offset` in the given byte order.
    private static func unsigned(_ bytes: [UInt8], at offset: Int, size: Int, littleEndian: Bool) -> UInt64 {
        var value: UInt64 = 0
        for byte in 0..<size {
            let source = littleEndian ? offset + size - 1 - byte : offset + byte
            value = value << 8 | UInt64(bytes[source])
        }
        return value
    }
}

/// The Python literal of a `.npy` header: a dict of string keys to strings, `True`/`False`, or tuples of
/// non-negative integers. Anything else is an error naming the file.
private struct NPYDictionaryParser {
    enum Value: Equatable {
        case string(String)
        case boolean(Bool)
        case tuple([Int])
    }

    let characters: [Character]
    let file: String
    var position = 0

    init(text: String, file: String) {
        characters = Array(text)
        self.file = file
    }

    mutating func parse() throws -> [String: Value] {
        var fields: [String: Value] = [:]
        try expect("{")
        while try peek() != "}" {
            guard case .string(let key) = try value() else { throw failure("a key that is not a string") }
            try expect(":")
            fields[key] = try value()
            if try peek() == "," { position += 1 }
        }
        position += 1
        skipSpace()
        guard position == characters.count else { throw failure("text after the closing brace") }
        return fields
    }

    private mutating func value() throws -> Value {
        switch try peek() {
        case "'", "\"":
            let quote = characters[position]
            position += 1
            guard let end = characters[position...].firstIndex(of: quote) else { throw failure("an unterminated string") }
            defer { position = end + 1 }
            return .string(String(characters[position..<end]))
        case "(":
            position += 1
            var extents: [Int] = []
            while try peek() != ")" {
                extents.append(try integer())
                if try peek() == "," { position += 1 }
            }
            position += 1
            return .tuple(extents)
        default:
            let word = String(characters[position...].prefix { $0.isLetter })
            position += word.count
            switch word {
            case "True": return .boolean(true)
            case "False": return .boolean(false)
            default: throw failure(word.isEmpty ? "an unexpected '\(characters[position])'" : "an unexpected '\(word)'")
            }
        }
    }

    /// A non-negative decimal integer (Python 2's `L` suffix allowed), at most 18 digits so it cannot overflow.
    private mutating func integer() throws -> Int {
        let digits = String(characters[position...].prefix { $0.isASCII && $0.isNumber })
        guard !digits.isEmpty, digits.count <= 18, let value = Int(digits) else { throw failure("a shape that is not a list of sizes") }
        position += digits.count
        if position < characters.count, characters[position] == "L" { position += 1 }
        return value
    }

    private mutating func expect(_ character: Character) throws {
        guard try peek() == character else { throw failure("no '\(character)' where one belongs") }
        position += 1
    }

    /// The next character that is not white space.
    private mutating func peek() throws -> Character {
        skipSpace()
        guard position < characters.count else { throw failure("the header ends too early") }
        return characters[position]
    }

    private mutating func skipSpace() {
        while position < characters.count, characters[position].isWhitespace { position += 1 }
    }

    private func failure(_ what: String) -> DataError {
        DataError.invalidHeader(file: file, reason: "\(what) in the header dict \(String(characters.prefix(200)).debugDescription)")
    }
}
