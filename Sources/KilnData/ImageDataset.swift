// ImageDataset: what a classifier trains and evaluates on, whatever the file format. A set of labelled
// images of one shape (`LabeledImageSet`, which an IDX pair, an image folder or NumPy arrays can each
// provide, in memory or read on demand), and a data set of training, optional validation and test sets
// with the class count and, when known, the class names.
import Foundation

/// Labelled images of one shape `[channels, height, width]`.
public protocol LabeledImageSet {
    /// Images in the set.
    var count: Int { get }
    /// `[channels, height, width]` of every image.
    var imageShape: [Int] { get }
    /// The class of image `index` (`0 ..< count`).
    func label(at index: Int) -> Int
    /// Writes the images at `indices`, one after another, into `destination` (`indices.count · C·H·W`
    /// values, each image channel-major): every pixel scaled to [0, 1], then through `normalization`. A set
    /// that reads its images on demand throws, naming the file, when one cannot be read.
    func writeImages(_ indices: ArraySlice<Int>, normalizedBy normalization: PixelNormalization, into destination: inout [Float]) throws
    /// Zero mean and unit variance over every pixel of the set (what `PixelNormalization` standardises with).
    func standardizingNormalization() throws -> PixelNormalization
    /// The file image `index`'s label comes from, for messages (a label file, or the image's own file); nil
    /// when the set was not read from files.
    func labelSource(at index: Int) -> String?
}

extension LabeledImageSet {
    /// Values per image, `C·H·W`.
    public var valuesPerImage: Int { imageShape.reduce(1, *) }

    /// Standardises by streaming every image through `.unit` and summing in `Double` (two passes); a set in
    /// memory as bytes does it from a histogram instead.
    public func standardizingNormalization() throws -> PixelNormalization {
        let chunk = 256
        var sum = 0.0
        var values: [Float] = []
        for start in stride(from: 0, to: count, by: chunk) {
            try writeImages(Array(start..<min(start + chunk, count))[...], normalizedBy: .unit, into: &values)
            sum += values.reduce(0) { $0 + Double($1) }
        }
        let total = Double(max(count * valuesPerImage, 1))
        let mean = sum / total
        var squares = 0.0
        for start in stride(from: 0, to: count, by: chunk) {
            try writeImages(Array(start..<min(start + chunk, count))[...], normalizedBy: .unit, into: &values)
            squares += values.reduce(0) { $0 + (Double($1) - mean) * (Double($1) - mean) }
        }
        let deviation = (squares / total).squareRoot()
        return PixelNormalization(mean: mean, standardDeviation: deviation > 0 ? deviation : 1)
    }

    public func labelSource(at index: Int) -> String? { nil }
}

extension LabeledImageSet {
    /// Throws `DatasetError.labelOutOfRange` for the first image whose label is outside `0 ..< classes`,
    /// naming `dataset`, `split` and the image.
    public func checkLabels(classes: Int, dataset: String, split: String) throws {
        for index in 0..<count {
            let label = label(at: index)
            guard (0..<classes).contains(label) else {
                throw DatasetError.labelOutOfRange(
                    dataset: dataset, split: split, index: index, label: label, classes: classes, file: labelSource(at: index))
            }
        }
    }
}

extension LabeledImages: LabeledImageSet {
    public var imageShape: [Int] { [1, rows, columns] }

    public func label(at index: Int) -> Int { Int(labels[index]) }

    public func writeImages(_ indices: ArraySlice<Int>, normalizedBy normalization: PixelNormalization, into destination: inout [Float]) {
        let table = normalization.table
        let pixelsPerImage = rows * columns
        destination = [Float](repeating: 0, count: indices.count * pixelsPerImage)
        for (row, example) in indices.enumerated() {
            let source = example * pixelsPerImage
            for pixel in 0..<pixelsPerImage { destination[row * pixelsPerImage + pixel] = table[Int(pixels[source + pixel])] }
        }
    }

    public func standardizingNormalization() -> PixelNormalization { PixelNormalization.standardizing(self) }

    public func labelSource(at index: Int) -> String? { labelsFile?.path }
}

/// A label outside the data set's classes, or a data set that cannot be trained on.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    /// Image `index` of the `split` set of `dataset` has a label outside `0 ..< classes`; `file` is where the
    /// label comes from, when known.
    case labelOutOfRange(dataset: String, split: String, index: Int, label: Int, classes: Int, file: String?)
    /// The `split` set of `dataset` has no images.
    case empty(dataset: String, split: String)
    /// The splits' images differ in shape.
    case shapeMismatch(dataset: String, split: String, shape: [Int], expected: [Int])
    /// Fewer class names than classes, or more.
    case classNames(dataset: String, names: Int, classes: Int)

    public var description: String {
        switch self {
        case .labelOutOfRange(let dataset, let split, let index, let label, let classes, let file?):
            "\(file): label \(label) at index \(index) (\(split) image \(index) of \(dataset)) is outside the data set's \(classes) classes (0 to \(classes - 1))"
        case .labelOutOfRange(let dataset, let split, let index, let label, let classes, nil):
            "\(dataset): \(split) image \(index) has label \(label), outside the data set's \(classes) classes (0 to \(classes - 1))"
        case .empty(let dataset, let split): "\(dataset): the \(split) set has no images"
        case .shapeMismatch(let dataset, let split, let shape, let expected):
            "\(dataset): the \(split) images are \(shape) but the training images are \(expected); every split needs one image shape"
        case .classNames(let dataset, let names, let classes):
            "\(dataset): \(names) class names for \(classes) classes; give one name per class"
        }
    }
}

/// A classification data set: training images, optional validation images, test images, the class count
/// and, when known, the class names.
public struct ImageDataset {
    /// Names the data set in messages (its folder, or a name such as `fashion-mnist`).
    public var name: String
    public var training: any LabeledImageSet
    /// Held-out images measured during training; nil when the data set has none.
    public var validation: (any LabeledImageSet)?
    public var test: any LabeledImageSet
    /// Classes are `0 ..< classCount`.
    public var classCount: Int
    /// One name per class, when the data set has them.
    public var classNames: [String]?

    /// `[channels, height, width]` of every image.
    public var imageShape: [Int] { training.imageShape }

    /// A data set of the given splits. `classCount` nil takes the largest training label plus one (formats such
    /// as IDX store no class count). Throws `DatasetError` for an empty training set, splits whose images differ
    /// in shape, a label of any split outside the classes (naming the split and the image) or class names that
    /// do not match the count.
    public init(
        name: String, training: any LabeledImageSet, validation: (any LabeledImageSet)? = nil, test: any LabeledImageSet,
        classCount: Int? = nil, classNames: [String]? = nil
    ) throws {
        guard training.count > 0 else { throw DatasetError.empty(dataset: name, split: "training") }
        self.name = name
        self.training = training
        self.validation = validation
        self.test = test
        self.classCount = classCount ?? ((0..<training.count).map(training.label(at:)).max() ?? 0) + 1
        self.classNames = classNames
        if let classNames, classNames.count != self.classCount {
            throw DatasetError.classNames(dataset: name, names: classNames.count, classes: self.classCount)
        }
        for (split, set) in splits {
            guard set.imageShape == training.imageShape else {
                throw DatasetError.shapeMismatch(dataset: name, split: split, shape: set.imageShape, expected: training.imageShape)
            }
            try set.checkLabels(classes: self.classCount, dataset: name, split: split)
        }
    }

    /// The splits present, with their names: training, validation (when present), test.
    public var splits: [(name: String, set: any LabeledImageSet)] {
        [("training", training)] + (validation.map { [("validation", $0)] } ?? []) + [("test", test)]
    }
}

extension ImageDataset {
    /// An IDX data set (MNIST layout) under `name`; the class count is the largest training label plus one.
    public init(_ idx: IDXDataset, name: String, classNames: [String]? = nil) throws {
        try self.init(name: name, training: idx.training, test: idx.test, classNames: classNames)
    }
}
