// IDX: the file format of MNIST and Fashion-MNIST (a magic number, big-endian dimensions, then bytes),
// gzipped or not.
import Foundation
import KilnFiles

/// The unsigned-byte content of one IDX file.
public struct IDXFile {
    public let dimensions: [Int]
    public let bytes: [UInt8]

    /// Reads `url`, decompressing gzip when the file starts with its magic bytes, within `limits`.
    /// - Parameter rank: the number of dimensions expected (3 for images, 1 for labels).
    public init(contentsOf url: URL, rank: Int, limits: DecompressionLimits = .init()) throws {
        try self.init(fileBytes: try FileContents.read(url), file: url.path, rank: rank, limits: limits)
    }

    /// Parses the bytes of an IDX file as stored, gzipped or not; `file` names it in errors.
    public init(fileBytes raw: Data, file: String, rank: Int, limits: DecompressionLimits = .init()) throws {
        let data = Gzip.isCompressed(raw) ? try Gzip.decompress(raw, file: file, limit: limits.inflatedBytes(compressed: raw.count)) : raw
        try self.init(data: data, file: file, rank: rank)
    }

    /// Parses IDX bytes; `file` names the source in errors. The dimensions' product is checked against the
    /// bytes there are before anything is allocated, so a header cannot ask for more than the file holds.
    public init(data: Data, file: String, rank: Int) throws {
        let data = data.startIndex == 0 ? data : Data(data)
        func bigEndian(at offset: Int) -> UInt32 {
            data[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }
        let kind = rank == 1 ? "an IDX label file" : "an IDX image file"
        guard data.count >= 4 else { throw DataError.truncated(file: file, expectedBytes: 4, actualBytes: data.count) }
        // Magic: two zero bytes, the type code 0x08 (unsigned byte), then the number of dimensions.
        let magic = bigEndian(at: 0)
        guard magic == 0x0000_0800 | UInt32(rank) else { throw DataError.badMagic(file: file, found: magic, expected: kind) }
        let headerSize = 4 + 4 * rank
        guard data.count >= headerSize else {
            throw DataError.truncated(file: file, expectedBytes: headerSize, actualBytes: data.count)
        }
        let dimensions = (0..<rank).map { Int(bigEndian(at: 4 + 4 * $0)) }
        let payload = dimensions.reduce(Optional(1)) { product, dimension in
            product.flatMap { value in
                let (result, overflow) = value.multipliedReportingOverflow(by: dimension)
                return overflow ? nil : result
            }
        }
        guard let payload, !headerSize.addingReportingOverflow(payload).overflow else {
            throw DataError.invalidHeader(
                file: file, reason: "dimensions \(dimensions) need more bytes than an integer holds; is this an IDX file?")
        }
        guard payload <= data.count - headerSize else {
            throw DataError.truncated(file: file, expectedBytes: headerSize + payload, actualBytes: data.count)
        }
        self.dimensions = dimensions
        self.bytes = [UInt8](data[headerSize..<headerSize + payload])
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

    /// Reads an image file and a label file and checks that they hold images and that their counts agree.
    public init(images: URL, labels: URL, limits: DecompressionLimits = .init()) throws {
        let imageFile = try IDXFile(contentsOf: images, rank: 3, limits: limits)
        let labelFile = try IDXFile(contentsOf: labels, rank: 1, limits: limits)
        guard imageFile.dimensions[0] == labelFile.dimensions[0] else {
            throw DataError.countMismatch(
                images: images.path, imageCount: imageFile.dimensions[0], labels: labels.path, labelCount: labelFile.dimensions[0])
        }
        guard imageFile.dimensions[0] > 0 else {
            throw DataError.invalidHeader(file: images.path, reason: "it holds no images (dimensions \(imageFile.dimensions))")
        }
        guard imageFile.dimensions[1] > 0, imageFile.dimensions[2] > 0 else {
            throw DataError.invalidHeader(file: images.path, reason: "its images have no pixels (dimensions \(imageFile.dimensions))")
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

    /// Reads the four files from `directory` (found under any of their published names: see `IDXFolder`);
    /// gzipped files inflate within `limits`. The test images must have the training images' size.
    public init(directory: URL, limits: DecompressionLimits = .init()) throws {
        let files = try IDXFolder(directory: directory)
        training = try LabeledImages(images: files.trainingImages, labels: files.trainingLabels, limits: limits)
        test = try LabeledImages(images: files.testImages, labels: files.testLabels, limits: limits)
        guard test.rows == training.rows, test.columns == training.columns else {
            throw DataError.invalidHeader(
                file: files.testImages.path,
                reason:
                    "its images are \(test.rows)×\(test.columns), the training images \(training.rows)×\(training.columns); they must match"
            )
        }
    }
}
