// TuningTable: the tunable values measured fastest on one device, by kernel file, kept next to the
// program cache so every later process on that device builds its kernels with them.
import Foundation

/// Measured-best `-D` tunable values for one device. Written by `kiln tune`, read when a backend opens
/// the device; a missing or unreadable table means the kernels' defaults.
public struct TuningTable: Codable, Equatable, Sendable {
    /// The device the values were measured on (platform, name, driver and device version).
    public var device: String
    /// Kernel file → tunable name → value.
    public var kernels: [String: [String: Int]]

    public init(device: String, kernels: [String: [String: Int]] = [:]) {
        self.device = device
        self.kernels = kernels
    }

    /// The identity a table is stored and checked under: what decides how the device's compiler and
    /// hardware behave.
    public static func deviceIdentity(_ info: OpenCLDeviceInfo) -> String {
        [info.platformName, info.name, info.driverVersion, info.deviceVersion].joined(separator: " | ")
    }

    /// Where the table for `identity` lives inside the program cache folder.
    public static func file(for identity: String, in directory: URL) -> URL {
        directory.appendingPathComponent("tuning-" + SHA256.hexDigest(identity.utf8).prefix(16) + ".json")
    }

    /// The table stored for `identity` in `directory`, or nil when there is none, it cannot be decoded,
    /// or it belongs to another device.
    public static func load(identity: String, directory: URL?) -> TuningTable? {
        guard let directory, let data = try? Data(contentsOf: file(for: identity, in: directory)),
            let table = try? JSONDecoder().decode(TuningTable.self, from: data), table.device == identity
        else { return nil }
        return table
    }

    /// Writes the table atomically into `directory`; returns the file.
    @discardableResult
    public func save(in directory: URL) throws -> URL {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let url = Self.file(for: device, in: directory)
        ProgramCache.writeAtomically(try encoder.encode(self), to: url)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw OpenCLError.invalidLaunch(kernel: "tuning", reason: "could not write \(url.path)")
        }
        return url
    }
}
