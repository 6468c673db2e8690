// ImageFile: reads a PNG or JPEG file, told apart by its first bytes (not its name), and reads an image's
// size and channels from its header alone.
import Foundation
import KilnFiles

public enum ImageFile {
    /// The file formats Kiln reads images from.
    public enum Format: String, Sendable {
        case png = "PNG"
        case jpeg = "JPEG"

        /// The format whose signature `prefix` starts with, or nil.
        init?(signature prefix: some Collection<UInt8>) {
            if prefix.starts(with: PNG.signature) {
                self = .png
            } else if prefix.starts(with: [0xFF, 0xD8, 0xFF]) {
                self = .jpeg
            } else {
                return nil
            }
        }
    }

    /// An image's size and channel count (1 grey, 3 colour), read from its header.
    public struct Header: Equatable, Sendable {
        public let format: Format
        public let width: Int
        public let height: Int
        public let channels: Int
    }

    /// Decodes the PNG or JPEG file at `url`.
    public static func decode(contentsOf url: URL, limits: ImageLimits = .standard) throws -> RasterImage {
        let data = try read(url)
        switch Format(signature: data.prefix(8)) {
        case .png: return try PNG.decode(data, file: url.path, limits: limits)
        case .jpeg: return try JPEG.decode(data, file: url.path, limits: limits)
        case nil: throw notAnImage(url.path, prefix: data.prefix(8))
        }
    }

    /// The size and channels of the PNG or JPEG file at `url`, reading only as much of it as the header needs
    /// (33 bytes of a PNG; a JPEG's markers up to its first scan, usually within its first 64 KiB).
    public static func header(contentsOf url: URL, limits: ImageLimits = .standard) throws -> Header {
        // Opened without blocking and refused unless a regular file: a pipe named like an image would wait for ever.
        let file = try RandomAccessFile(url)
        let prefix = try file.bytes(at: 0, count: min(file.size, 65536))
        let found: (width: Int, height: Int, channels: Int)?
        let format = Format(signature: prefix.prefix(8))
        switch format {
        case .png: found = PNG.header(prefix)
        case .jpeg: found = try JPEG.header(prefix) ?? (prefix.count < 65536 ? nil : JPEG.header([UInt8](read(url))))
        case nil: throw notAnImage(url.path, prefix: prefix.prefix(8))
        }
        guard let format, let found else {
            throw DataError.invalidHeader(file: url.path, reason: "a \(format?.rawValue ?? "") file whose header cannot be read")
        }
        try limits.check(width: found.width, height: found.height, file: url.path)
        return Header(format: format, width: found.width, height: found.height, channels: found.channels)
    }

    /// The whole file, through the one bounded reader: a folder, pipe or device is an error saying so, never a
    /// read that blocks or does not end.
    private static func read(_ url: URL) throws -> Data { try FileContents.read(url) }

    private static func notAnImage(_ file: String, prefix: some Collection<UInt8>) -> DataError {
        let bytes = prefix.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")
        return DataError.unreadable(
            file: file,
            reason:
                "not a PNG or JPEG file (it starts with \(bytes.isEmpty ? "nothing: it is empty" : bytes)); Kiln reads PNG and JPEG images")
    }
}
