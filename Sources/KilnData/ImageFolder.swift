// ImageFolder: a folder of class folders of PNG and JPEG files, as torchvision's `ImageFolder` reads one
// (classes are the sub-folder names sorted by code point, files found recursively in the same order),
// either at the top (`cats/`, `dogs/`) or inside split folders (`train/cats/`, `val/cats/`, `test/cats/`).
// Every file's header is read when the folder is opened, so the image size and channels are known and a
// file that is not an image is reported before training starts.
import Dispatch
import Foundation

/// The classes and labelled image files of a class-folder data set, split as the folder splits them.
public struct ImageFolder {
    /// How the folder's images become a model's input.
    public struct Options: Sendable {
        /// `(height, width)` to resize every image to; nil: the images' own size, which must then be one size.
        public var imageSize: (height: Int, width: Int)?
        /// 1 (grey) or 3 (RGB); nil: 3 when any image is in colour, else 1.
        public var channels: Int?
        public var limits: ImageLimits

        public init(imageSize: (height: Int, width: Int)? = nil, channels: Int? = nil, limits: ImageLimits = .standard) {
            self.imageSize = imageSize
            self.channels = channels
            self.limits = limits
        }
    }

    /// The class names, sorted as torchvision sorts them; label `i` is `classNames[i]`.
    public let classNames: [String]
    /// Images at the top (no split folders) or in `train/`.
    public let training: ImageFileSet
    /// Images in `val/` (or `valid/`, `validation/`), when there is one.
    public let validation: ImageFileSet?
    /// Images in `test/` (or `testing/`), when there is one.
    public let test: ImageFileSet?
    /// Files skipped because their names are not those of images (text files, hidden files such as `.DS_Store`).
    public let skippedFiles: Int

    /// The names split folders may have (compared without case).
    static let splitNames: [(split: String, names: Set<String>)] = [
        ("train", ["train", "training"]), ("val", ["val", "valid", "validation"]), ("test", ["test", "testing"]),
    ]
    /// Extensions of the images Kiln reads, and of those torchvision's `ImageFolder` also takes (reported
    /// as an error rather than skipped, so no image is silently left out).
    static let readable: Set<String> = ["png", "jpg", "jpeg"]
    static let unreadable: Set<String> = ["ppm", "bmp", "pgm", "tif", "tiff", "webp"]

    /// Whether `directory` looks like a class-folder data set: it has sub-folders that are not hidden.
    /// A folder whose listing fails (a name that is not UTF-8) counts, so that opening it reports why.
    public static func looksLikeImageFolder(_ directory: URL) -> Bool {
        do { return try !subfolders(of: directory).isEmpty } catch { return true }
    }

    /// Reads the folder's layout and every image's header.
    public init(directory: URL, options: Options = Options()) throws {
        let folders = try Self.subfolders(of: directory)
        var splits: [String: String] = [:]
        for name in folders {
            guard let split = Self.splitNames.first(where: { $0.names.contains(name.lowercased()) })?.split else { continue }
            if let other = splits[split] {
                throw DataError.unreadable(file: directory.path, reason: "has both \(other)/ and \(name)/; keep one folder per split")
            }
            splits[split] = name
        }
        var skipped = 0
        let classRoots: [String: URL]
        if splits.isEmpty {
            classRoots = ["train": directory]
        } else {
            guard let train = splits["train"] else {
                throw DataError.unreadable(
                    file: directory.path,
                    reason: "has \(splits.values.sorted().joined(separator: "/ and "))/ but no train/ folder of class folders")
            }
            let others = folders.filter { name in !splits.values.contains(name) }
            guard others.isEmpty else {
                throw DataError.unreadable(
                    file: directory.path,
                    reason:
                        "has split folders (\(train)/) and also \(others.map { $0 + "/" }.joined(separator: ", ")); put every class folder inside each split"
                )
            }
            classRoots = splits.mapValues { directory.appendingPathComponent($0) }
        }
        let trainingRoot = classRoots["train"] ?? directory
        let classNames = try Self.subfolders(of: trainingRoot)
        guard !classNames.isEmpty else {
            throw DataError.unreadable(file: trainingRoot.path, reason: "no class folders (one sub-folder of images per class)")
        }
        // Files of each split: the class folders' images, recursively, in torchvision's order.
        var files: [String: (urls: [URL], labels: [Int])] = [:]
        for (split, root) in classRoots {
            let present = try Self.subfolders(of: root)
            if let stray = present.first(where: { !classNames.contains($0) }) {
                throw DataError.unreadable(
                    file: root.appendingPathComponent(stray).path,
                    reason: "a class folder with no counterpart in \(trainingRoot.path); every class needs training images")
            }
            var urls: [URL] = []
            var labels: [Int] = []
            for (label, name) in classNames.enumerated() where present.contains(name) {
                let (found, skippedHere) = try Self.imageFiles(in: root.appendingPathComponent(name))
                if split == "train", found.isEmpty {
                    throw DataError.unreadable(
                        file: root.appendingPathComponent(name).path, reason: "a class folder with no PNG or JPEG files")
                }
                urls += found
                labels += [Int](repeating: label, count: found.count)
                skipped += skippedHere
            }
            files[split] = (urls, labels)
        }
        let headers = try Self.readHeaders(classRoots.keys.sorted().flatMap { files[$0]?.urls ?? [] }, limits: options.limits)
        let channels = options.channels ?? (headers.contains { $0.header.channels == 3 } ? 3 : 1)
        let size = try options.imageSize ?? Self.commonSize(headers, directory: directory)
        func set(_ split: String) -> ImageFileSet? {
            files[split].map {
                ImageFileSet(
                    files: $0.urls, labels: $0.labels, channels: channels, height: size.height, width: size.width, limits: options.limits)
            }
        }
        self.classNames = classNames
        training = set("train") ?? ImageFileSet(files: [], labels: [], channels: channels, height: size.height, width: size.width)
        validation = set("val")
        test = set("test")
        skippedFiles = skipped
    }

    /// The sub-folders of `directory` (following links), hidden ones left out, sorted by code point as
    /// Python sorts them.
    static func subfolders(of directory: URL) throws -> [String] {
        try entries(of: directory).filter { isDirectory(directory.appendingPathComponent($0)) }
    }

    /// The image files under `folder`, recursively, in torchvision's order (folders sorted by path, then files
    /// by name), and the count of files skipped (names that are not images', hidden files). Throws for a file
    /// whose name is an image format Kiln does not read.
    static func imageFiles(in folder: URL) throws -> (files: [URL], skipped: Int) {
        var directories: [(path: String, url: URL)] = []
        var visited: Set<String> = []
        func walk(_ url: URL, path: String) throws {
            // A link back up the tree would loop: each real folder is walked once.
            guard visited.insert(url.resolvingSymlinksInPath().path).inserted else { return }
            directories.append((path, url))
            for name in try entries(of: url) where isDirectory(url.appendingPathComponent(name)) {
                try walk(url.appendingPathComponent(name), path: path + "/" + name)
            }
        }
        try walk(folder, path: folder.lastPathComponent)
        var files: [URL] = []
        var skipped = 0
        for (_, directory) in directories.sorted(by: { codePointOrder($0.path, $1.path) }) {
            for name in try entries(of: directory, includingHidden: true) where !isDirectory(directory.appendingPathComponent(name)) {
                let url = directory.appendingPathComponent(name)
                let suffix = url.pathExtension.lowercased()
                if name.hasPrefix(".") || !(readable.contains(suffix) || unreadable.contains(suffix)) {
                    skipped += 1
                } else if readable.contains(suffix) {
                    files.append(url)
                } else {
                    throw DataError.unreadable(
                        file: url.path,
                        reason:
                            "a \(suffix.uppercased()) image; Kiln reads PNG and JPEG: convert it (for example with ImageMagick's mogrify -format png)"
                    )
                }
            }
        }
        return (files, skipped)
    }

    /// The names in `directory`, sorted by code point; hidden ones left out unless asked for.
    private static func entries(of directory: URL, includingHidden: Bool = false) throws -> [String] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory.path) } catch {
            throw DataError.unreadable(file: directory.path, reason: (error as NSError).localizedDescription)
        }
        // A name that is not UTF-8 comes back with U+FFFD in place of its bad bytes and names nothing, so its
        // folder (a whole class) or image would silently drop out: refuse it instead.
        var status = stat()
        if let unnamed = names.first(where: { $0.contains("\u{FFFD}") && lstat(directory.appendingPathComponent($0).path, &status) != 0 }) {
            throw DataError.unreadable(
                file: directory.appendingPathComponent(unnamed).path,
                reason: "its name is not UTF-8 (shown here with � for the bytes that are not); rename it")
        }
        return names.filter { includingHidden || !$0.hasPrefix(".") }.sorted(by: codePointOrder)
    }

    private static func isDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Python's string order: by Unicode code point, not by Swift's canonical (normalised) order.
    static func codePointOrder(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
    }

    /// Every file's header, read in parallel.
    private static func readHeaders(_ files: [URL], limits: ImageLimits) throws -> [(url: URL, header: ImageFile.Header)] {
        var headers = [ImageFile.Header?](repeating: nil, count: files.count)
        let lock = NSLock()
        var failure: (index: Int, error: any Error)?
        headers.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            DispatchQueue.concurrentPerform(iterations: files.count) { index in
                do {
                    base[index] = try ImageFile.header(contentsOf: files[index], limits: limits)
                } catch {
                    lock.lock()
                    // Report the first file in order, whichever thread met its error first.
                    if failure.map({ index < $0.index }) ?? true { failure = (index, error) }
                    lock.unlock()
                }
            }
        }
        if let failure { throw failure.error }
        return zip(files, headers).compactMap { url, header in header.map { (url, $0) } }
    }

    /// The one size all images have; when they differ, an error that lists the most common sizes and says how
    /// to choose one.
    private static func commonSize(_ headers: [(url: URL, header: ImageFile.Header)], directory: URL) throws -> (height: Int, width: Int) {
        var sizes: [String: (count: Int, example: URL)] = [:]
        for (url, header) in headers {
            let key = "\(header.width)×\(header.height)"
            sizes[key] = ((sizes[key]?.count ?? 0) + 1, sizes[key]?.example ?? url)
        }
        guard sizes.count > 1 else {
            let header = headers.first?.header
            return (header?.height ?? 1, header?.width ?? 1)
        }
        let common = sizes.sorted { $0.value.count > $1.value.count }.prefix(3)
        let listed = common.map { "\($0.value.count) are \($0.key) (\($0.value.example.lastPathComponent))" }.joined(separator: ", ")
        throw DataError.unreadable(
            file: directory.path,
            reason:
                "the images differ in size (\(sizes.count) sizes: \(listed)); pass --image-size 28 or 64x48 (height x width) to resize them all"
        )
    }
}
