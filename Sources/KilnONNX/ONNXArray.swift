// ONNXArray: an ONNX TensorProto's values on the host, as Float32 for Kiln's tensors and as integers for
// the inputs that name shapes and axes (Reshape's shape, Squeeze's axes).
import Foundation
import KilnCore

/// The values of an ONNX tensor (an initializer, a Constant or a test's input) with its dimensions.
public struct ONNXArray: Equatable {
    public var name: String
    /// Dimensions; `[]` is a scalar.
    public var dimensions: [Int]
    /// The values as Float32, row-major (integers converted; exactly representable up to 2²⁴).
    public var floats: [Float]
    /// The values as integers when the tensor holds integers (int64, int32, ...), else nil.
    public var integers: [Int]?

    public init(name: String, dimensions: [Int], floats: [Float], integers: [Int]? = nil) {
        self.name = name
        self.dimensions = dimensions
        self.floats = floats
        self.integers = integers
    }

    public var shape: Shape { Shape(dimensions) }
    public var count: Int { dimensions.reduce(1, *) }

    /// Reads `proto`'s values (inline fields or raw little-endian bytes). Floating-point and integer
    /// types are supported; strings, complex numbers, 16-bit and 8-bit floats and external data are not.
    public init(_ proto: Onnx_TensorProto) throws(ONNXError) {
        let name = proto.name
        let dimensions = proto.dims.map { Int($0) }
        guard dimensions.allSatisfy({ $0 >= 0 }) else {
            throw ONNXError.invalidModel("tensor '\(name)' has a negative dimension \(dimensions)")
        }
        // Checked: the dimensions come from the file, and their product may not fit in an integer.
        guard let count = MemoryLimits.elementCount(dimensions) else {
            throw ONNXError.invalidModel("tensor '\(name)' has dimensions \(dimensions), more elements than an integer holds")
        }
        if proto.dataLocation == .external {
            throw ONNXError.invalidModel(
                "tensor '\(name)' stores its data in an external file, which Kiln does not read; save the model with its weights inside")
        }
        let raw = proto.hasRawData ? proto.rawData : nil
        func rawValues<T>(_ type: T.Type) throws(ONNXError) -> [T]? {
            guard let raw else { return nil }
            let (needed, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<T>.size)
            guard !overflow, raw.count == needed else {
                throw ONNXError.invalidModel("tensor '\(name)' has \(raw.count) bytes of raw data, not what \(dimensions) needs")
            }
            return raw.withUnsafeBytes { bytes in
                (0..<count).map { bytes.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) }
            }
        }
        var floats: [Float] = []
        var integers: [Int]? = nil
        switch Onnx_TensorProto.DataType(rawValue: Int(proto.dataType)) {
        case .float: floats = try rawValues(Float.self) ?? proto.floatData
        case .double: floats = (try rawValues(Double.self) ?? proto.doubleData).map { Float($0) }
        case .int64: integers = (try rawValues(Int64.self) ?? proto.int64Data).map { Int($0) }
        case .int32: integers = try rawValues(Int32.self).map { $0.map { Int($0) } } ?? proto.int32Data.map { Int($0) }
        case .int16: integers = try rawValues(Int16.self).map { $0.map { Int($0) } } ?? proto.int32Data.map { Int($0) }
        case .int8: integers = try rawValues(Int8.self).map { $0.map { Int($0) } } ?? proto.int32Data.map { Int($0) }
        case .uint8, .bool: integers = try rawValues(UInt8.self).map { $0.map { Int($0) } } ?? proto.int32Data.map { Int($0) }
        case .uint16: integers = try rawValues(UInt16.self).map { $0.map { Int($0) } } ?? proto.int32Data.map { Int($0) }
        case .uint32:
            // uint64_data may hold any 64-bit value; a uint32 tensor's values must fit in 32 bits.
            let wide = proto.uint64Data.compactMap { $0 <= UInt64(UInt32.max) ? Int($0) : nil }
            guard wide.count == proto.uint64Data.count else {
                throw ONNXError.invalidModel("tensor '\(name)' holds a uint32 value beyond 2^32")
            }
            integers = try rawValues(UInt32.self).map { $0.map { Int($0) } } ?? wide
        default:
            throw ONNXError.invalidModel(
                "tensor '\(name)' has data type \(ONNXArray.typeName(proto.dataType)); Kiln reads float, double and integer tensors")
        }
        if let integers { floats = integers.map { Float($0) } }
        guard floats.count == count else {
            throw ONNXError.invalidModel("tensor '\(name)' holds \(floats.count) values; its dimensions \(dimensions) need \(count)")
        }
        self.init(name: name, dimensions: dimensions, floats: floats, integers: integers)
    }

    /// A float32 TensorProto of these values (the exporter's initializers).
    public var proto: Onnx_TensorProto {
        var proto = Onnx_TensorProto()
        proto.name = name
        proto.dims = dimensions.map { Int64($0) }
        if let integers {
            proto.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
            proto.int64Data = integers.map { Int64($0) }
        } else {
            proto.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
            proto.rawData = floats.withUnsafeBufferPointer { Data(buffer: $0) }
        }
        return proto
    }

    /// The ONNX name of a data type number, for messages.
    static func typeName(_ type: Int32) -> String {
        Onnx_TensorProto.DataType(rawValue: Int(type)).map { "\($0)".uppercased() } ?? "\(type)"
    }
}
