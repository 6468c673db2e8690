// IDXFolder: finds the four files of an MNIST-layout folder under any of the names they are published with:
// `train-images-idx3-ubyte` (LeCun's, Fashion-MNIST's), `train-images.idx3-ubyte` (Kaggle's), with a prefix
// (`emnist-letters-train-images-idx3-ubyte`), `t10k` or `test` for the test set, each gzipped or not.
import Foundation

/// The image and label files of the training and test sets in one folder.
public struct IDXFolder: Sendable {
    public let trainingImages: URL
    public let trainingLabels: URL
    public let testImages: URL
    public let testLabels: URL

    /// Whether `directory` holds at least one file named like an IDX image or label file.
    public static func containsIDXFiles(_ directory: URL) -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.contains { role(of: $0) != nil }
    }

    /// Finds the four files in `directory`. Throws, naming the folder, when one is missing or when the folder
    /// holds several sets (EMNIST's splits side by side); with a file both gzipped and not, the gzipped one is used.
    public init(directory: URL) throws {
        let fashion = directory.standardizedFileURL.path == IDXDataset.fashionMNISTDirectory.path
        let hint =
            fashion
            ? "install Debian's dataset-fashion-mnist"
            : "an IDX folder needs train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (or Kaggle's train-images.idx3-ubyte names, or test- for t10k-), each gzipped or not; a folder of class folders or of .npy files also works"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.unreadable(file: directory.path, reason: "no such folder; \(hint)")
        }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() } catch {
            throw DataError.unreadable(file: directory.path, reason: (error as NSError).localizedDescription)
        }
        var sets: [String: [Role: String]] = [:]
        for name in names {
            guard let (prefix, role) = Self.role(of: name) else { continue }
            // Prefer the gzipped file, as the four MNIST names always have.
            if let existing = sets[prefix]?[role], existing.hasSuffix(".gz") { continue }
            sets[prefix, default: [:]][role] = name
        }
        guard sets.count <= 1 else {
            let prefixes = sets.keys.sorted().map { $0.isEmpty ? "(no prefix)" : "\($0)-" }
            throw DataError.unreadable(
                file: directory.path,
                reason:
                    "holds several IDX data sets (\(prefixes.joined(separator: ", "))); move one set's four files to a folder of its own")
        }
        let found = sets.values.first ?? [:]
        let missing = Role.allCases.filter { found[$0] == nil }
        guard missing.isEmpty else {
            throw DataError.unreadable(
                file: directory.path, reason: "no \(missing.map(\.description).joined(separator: ", ")) file; \(hint)")
        }
        func url(_ role: Role) -> URL { directory.appendingPathComponent(found[role] ?? "") }
        trainingImages = url(.trainingImages)
        trainingLabels = url(.trainingLabels)
        testImages = url(.testImages)
        testLabels = url(.testLabels)
    }

    /// What an IDX file holds.
    enum Role: CaseIterable, CustomStringConvertible {
        case trainingImages, trainingLabels, testImages, testLabels

        var description: String {
            switch self {
            case .trainingImages: "training images (train-images-idx3-ubyte)"
            case .trainingLabels: "training labels (train-labels-idx1-ubyte)"
            case .testImages: "test images (t10k-images-idx3-ubyte)"
            case .testLabels: "test labels (t10k-labels-idx1-ubyte)"
            }
        }
    }

    /// The set prefix and role of a file named `[prefix-]{train|t10k|test}-{images|labels}{-|.}idx{3|1}-ubyte[.gz]`
    /// (any case), or nil.
    static func role(of name: String) -> (prefix: String, role: Role)? {
        var stem = name.lowercased()
        if stem.hasSuffix(".gz") { stem.removeLast(3) }
        let parts = stem.replacingOccurrences(of: ".", with: "-").split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 4, parts[parts.count - 1] == "ubyte" else { return nil }
        let (split, kind, format) = (parts[parts.count - 4], parts[parts.count - 3], parts[parts.count - 2])
        let training: Bool
        switch split {
        case "train": training = true
        case "t10k", "test": training = false
        default: return nil
        }
        let role: Role
        switch (kind, format) {
        case ("images", "idx3"): role = training ? .trainingImages : .testImages
        case ("labels", "idx1"): role = training ? .trainingLabels : .testLabels
        default: return nil
        }
        return (parts.dropLast(4).joined(separator: "-"), role)
    }
}
