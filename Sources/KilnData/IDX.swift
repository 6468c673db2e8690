// IDX: the file format of MNIST and Fashion-MNIST (a magic number, big-endian dimensions, then bytes),
// gzipped or not.
import Foundation

/// The unsigned-byte content of one IDX file.
public struct IDXFile {
    public let dimensions: [Int]
    public let bytes: [UInt8]

    /// Reads `url`, decompressing gzip when the file starts with its magic bytes.
    /// - Parameter rank: the number of dimensions expected (3 for images, 1 for labels).
    public init(contentsOf url: URL, rank: Int) throws {
        let file = url.path
        let raw: Data
        do { raw = try Data(contentsOf: url) } catch {
            throw DataError.unreadable(file: file, reason: (error as NSError).localizedDescription)
        }
        let data = Gzip.isCompressed(raw) ? try Gzip.decompress(raw, file: file) : raw
        try self.init(data: data, file: file, rank: rank)
    }

    /// Parses IDX bytes; `file` names the source in errors.
    public init(data: Data, file: String, rank: Int) throws {
        let bytes = [UInt8](data)
        func bigEndian(at offset: Int) -> UInt32 {
            bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }
        let kind = rank == 1 ? "an IDX label file" : "an IDX image file"
        guard bytes.count >= 4 else { throw DataError.truncated(file: file, expectedBytes: 4, actualBytes: bytes.count) }
        // Magic: two zero bytes, the type code 0x08 (unsigned byte), then the number of dimensions.
        let magic = bigEndian(at: 0)
        guard magic == 0x0000_0800 | UInt32(rank) else { throw DataError.badMagic(file: file, found: magic, expected: kind) }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw DataError.truncated(file: file, expectedBytes: headerSize, actualBytes: bytes.count)
        }
        let dimensions = (0..<rank).map { Int(bigEndian(at: 4 + 4 * $0)) }
        let payload = dimensions.reduce(1, *)
        guard bytes.count >= headerSize + payload else {
            throw DataError.truncated(file: file, expectedBytes: headerSize + payload, actualBytes: bytes.count)
        }
        self.dimensions = dimensions
        self.bytes = Array(bytes[headerSize..<headerSize + payload])
    }
}

/// Images with a class label each, as read from an IDX image file and an IDX label file.
public struct LabeledImages {
    /// Pixels in `[0, 255]`, image after image, each `rows × columns`.
    public let pixels: [UInt8]
    public let labels: [UInt8]
    public let rows: Int
    public let columns: Int
    /// The label file they were read from, for messages; nil when made in memory.
    public var labelsFile: URL?

    public var count: Int { labels.count }

    public init(pixels: [UInt8], labels: [UInt8], rows: Int, columns: Int) {
        self.pixels = pixels
        self.labels = labels
        self.rows = rows
        self.columns = columns
    }

    /// Reads an image file and a label file and checks that their counts agree.
    public init(images: URL, labels: URL) throws {
        let imageFile = try IDXFile(contentsOf: images, rank: 3)
        let labelFile = try IDXFile(contentsOf: labels, rank: 1)
        guard imageFile.dimensions[0] == labelFile.dimensions[0] else {
            throw DataError.countMismatch(
                images: images.path, imageCount: imageFile.dimensions[0], labels: labels.path, labelCount: labelFile.dimensions[0])
        }
        self.init(pixels: imageFile.bytes, labels: labelFile.bytes, rows: imageFile.dimensions[1], columns: imageFile.dimensions[2])
        labelsFile = labels
    }
}

/// MNIST-style data sets: a folder with `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
/// `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte` (or another of their published names), each
/// optionally ending in `.gz`.
public struct IDXDataset {
    public let training: LabeledImages
    public let test: LabeledImages

    /// Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST.
    public static let fashionMNISTDirectory = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

    public init(training: LabeledImages, test: LabeledImages) {
        self.training = training
        self.test = test
    }

    /// Reads the four files from `directory` (found under any of their published names: see `IDXFolder`).
    public init(directory: URL) throws {
        let files = try IDXFolder(directory: directory)
        training = try LabeledImages(images: files.trainingImages, labels: files.trainingLabels)
        test = try LabeledImages(images: files.testImages, labels: files.testLabels)
    }
}
