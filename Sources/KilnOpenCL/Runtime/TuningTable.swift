// TuningTable: the tunable values measured fastest on one device, by kernel file, kept next to the
// program cache so every later process on that device builds its kernels with them.
import Foundation
import KilnFiles

/// Measured-best `-D` tunable values for one device. Written by `kiln tune`, read when a backend opens
/// the device; a missing or unreadable table means the kernels' defaults.
public struct TuningTable: Codable, Equatable, Sendable {
    /// The device the values were measured on (platform, name, driver and device version).
    public var device: String
    /// Kernel file → tunable name → value.
    public var kernels: [String: [String: Int]]
    /// Kernel family → the variant measured fastest (`gemm` → `tiled`); tables written before variants existed have none.
    public var variants: [String: String]

    /// The family name the GEMM variant is stored under.
    public static let gemmFamily = "gemm"

    public init(device: String, kernels: [String: [String: Int]] = [:], variants: [String: String] = [:]) {
        self.device = device
        self.kernels = kernels
        self.variants = variants
    }

    private enum CodingKeys: String, CodingKey { case device, kernels, variants }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        device = try container.decode(String.self, forKey: .device)
        kernels = try container.decode([String: [String: Int]].self, forKey: .kernels)
        variants = try container.decodeIfPresent([String: String].self, forKey: .variants) ?? [:]
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

    /// The table stored for `identity` in `directory`, or nil when there is none. A table that cannot be
    /// used (not this user's, not JSON, another device's, unknown kernel files or tunables, values a kernel's
    /// guards reject) is reported through `warn`, naming the file and what is wrong; the kernels then use
    /// their defaults, as they do for any kernel file the table leaves out.
    public static func load(
        identity: String, directory: URL?, warn: (String) -> Void = { fputs("kiln: warning: \($0)\n", stderr) }
    ) -> TuningTable? {
        guard let directory else { return nil }
        let url = file(for: identity, in: directory)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let ignored = "tuning table \(url.path) ignored (the kernels use their defaults; run kiln tune again or delete it)"
        let table: TuningTable
        do {
            table = try JSONDecoder().decode(TuningTable.self, from: FileContents.read(url, limit: 1 << 20, trust: .thisUserOnly))
        } catch let error as FileError {
            warn("\(ignored): \(error)")
            return nil
        } catch {
            warn("\(ignored): it is not a tuning table (\(Self.reason(error)))")
            return nil
        }
        guard table.device == identity else {
            warn("\(ignored): it was measured on '\(table.device)', not on this device ('\(identity)')")
            return nil
        }
        var usable = table
        for (kernelFile, values) in table.kernels {
            if let problem = problem(kernelFile: kernelFile, values: values) {
                warn("tuning table \(url.path): \(kernelFile) ignored (it uses its defaults): \(problem)")
                usable.kernels[kernelFile] = nil
            }
        }
        for (family, variant) in table.variants where family != gemmFamily || GemmVariant(rawValue: variant) == nil {
            warn("tuning table \(url.path): variant '\(variant)' for '\(family)' ignored (not a known family and variant)")
            usable.variants[family] = nil
        }
        return usable
    }

    /// What is wrong with tuned `values` for `kernelFile`, checked against its description; nil when they are usable.
    static func problem(kernelFile: String, values: [String: Int]) -> String? {
        guard let description = KernelDescription.all.first(where: { $0.file == kernelFile }) else { return "no such kernel file" }
        let names = Set(description.tunables.map(\.name))
        if let unknown = values.keys.sorted().first(where: { !names.contains($0) }) {
            return "\(unknown) is not one of its tunables (\(description.tunables.map(\.name).joined(separator: ", ")))"
        }
        guard description.isValid(description.defaults.merging(values) { _, tuned in tuned }) else {
            let listed = values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            return "\(listed) is not a setting the kernel accepts"
        }
        return nil
    }

    /// A decoding error in a few words: what was missing or of the wrong type, and where.
    private static func reason(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .dataCorrupted(let context): return context.codingPath.isEmpty ? "not JSON" : "bad value at \(path(context))"
        case .keyNotFound(let key, let context): return "no '\(key.stringValue)' at \(path(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "wrong type at \(path(context))"
        @unknown default: return "\(error)"
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        context.codingPath.isEmpty ? "the top" : context.codingPath.map(\.stringValue).joined(separator: ".")
    }

    /// Writes the table atomically into `directory`; returns the file.
    @discardableResult
    public func save(in directory: URL) throws -> URL {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let url = Self.file(for: device, in: directory)
        try AtomicFile.write(try encoder.encode(self), to: url, permissions: 0o600)
        return url
    }
}
