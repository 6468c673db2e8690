// Gzip: decompresses a gzip (or zlib) stream with the system zlib, never past a limit, so a small file
// that inflates to gigabytes (a "zip bomb") is an error rather than an exhausted memory.
import CZlib
import Foundation

/// How far a compressed file may inflate: by default 100 times its own size and at most 4 GiB (real data
/// sets compress 2–5 times); `maximumBytes` replaces both when a genuine file needs more.
public struct DecompressionLimits: Sendable, Equatable {
    /// The most a compressed file may inflate to, in bytes; nil: the default rule.
    public var maximumBytes: Int?

    /// The default: 100 times the compressed size.
    public static let defaultRatio = 100
    /// The default's ceiling: 4 GiB.
    public static let defaultCeiling = 4 << 30

    public init(maximumBytes: Int? = nil) { self.maximumBytes = maximumBytes }

    /// The limit for a file of `compressed` bytes.
    public func inflatedBytes(compressed: Int) -> Int {
        if let maximumBytes { return maximumBytes }
        let (scaled, overflow) = compressed.multipliedReportingOverflow(by: Self.defaultRatio)
        return overflow ? Self.defaultCeiling : min(scaled, Self.defaultCeiling)
    }
}

enum Gzip {
    /// Whether `data` starts with the gzip magic bytes.
    static func isCompressed(_ data: Data) -> Bool { data.count >= 2 && data[data.startIndex] == 0x1F && data[data.startIndex + 1] == 0x8B }

    /// The decompressed bytes of `data`, at most `limit` of them; `file` names it in errors.
    static func decompress(_ data: Data, file: String, limit: Int) throws -> Data {
        var stream = z_stream()
        // 15 + 32: the largest window, and detect a gzip or zlib header automatically.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError.unreadable(file: file, reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        // 64 KiB at a time: zeroing a larger chunk dominated small files (the fuzzer ran 136 inputs a second with 1 MiB).
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var status: Int32 = Z_OK
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            guard let base = input.bindMemory(to: Bytef.self).baseAddress else {
                throw DataError.unreadable(file: file, reason: "the gzip stream ends early (truncated file)")
            }
            var consumed = 0
            repeat {
                // zlib counts input in 32-bit units: feed it in slices.
                if stream.avail_in == 0, consumed < input.count {
                    let slice = min(input.count - consumed, Int(UInt32.max))
                    stream.next_in = UnsafeMutablePointer(mutating: base + consumed)
                    stream.avail_in = uInt(slice)
                    consumed += slice
                }
                let produced = chunk.withUnsafeMutableBufferPointer { buffer -> Int in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(buffer.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return buffer.count - Int(stream.avail_out)
                }
                guard status == Z_OK || status == Z_STREAM_END else {
                    let detail = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                    let reason = status == Z_BUF_ERROR ? "the gzip stream ends early (truncated file)" : "corrupt gzip data (\(detail))"
                    throw DataError.unreadable(file: file, reason: reason)
                }
                guard produced <= limit - output.count else {
                    throw DataError.inflatesTooFar(file: file, compressedBytes: data.count, limit: limit)
                }
                output.append(contentsOf: chunk[0..<produced])
            } while status != Z_STREAM_END
        }
        return output
    }
}
