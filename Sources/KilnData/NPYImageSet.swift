// NPYImageSet: labelled images from two NumPy files, images (uint8, or float32/float64 already in [0, 1])
// as [N, H, W], [N, C, H, W] or Keras' [N, H, W, C], and integer labels [N]; the images are read from the
// file batch by batch, so a set larger than memory trains in bounded memory.
import Foundation

/// Images and labels from a pair of `.npy` files.
public final class NPYImageSet: @unchecked Sendable {
    public let images: NPYArray
    public let labelsURL: URL
    public let labels: [Int]
    /// `[channels, height, width]` of every image.
    public let imageShape: [Int]
    /// Whether the file holds `[N, H, W, C]` (Keras' layout) rather than `[N, C, H, W]`.
    public let channelsLast: Bool

    public var count: Int { labels.count }

    /// Reads both headers and the labels, and checks them: images of a supported type and shape, integer
    /// labels, as many labels as images, none negative, and (for float images) no NaN or infinity.
    public convenience init(images imagesURL: URL, labels labelsURL: URL) throws {
        // Everything is checked before the object exists, so no error leaves a half-initialized object behind.
        let images = try NPYArray(contentsOf: imagesURL)
        let (imageShape, channelsLast) = try Self.imageLayout(of: images)
        let labels = try Self.labels(in: labelsURL, count: images.header.shape[0], imagesPath: imagesURL.path)
        if images.header.elementType != .uint8 { try Self.checkFinite(images, valuesPerImage: imageShape.reduce(1, *)) }
        self.init(images: images, labelsURL: labelsURL, labels: labels, imageShape: imageShape, channelsLast: channelsLast)
    }

    private init(images: NPYArray, labelsURL: URL, labels: [Int], imageShape: [Int], channelsLast: Bool) {
        self.images = images
        self.labelsURL = labelsURL
        self.labels = labels
        self.imageShape = imageShape
        self.channelsLast = channelsLast
    }

    /// `[C, H, W]` of the images in `images`, and whether the file stores them channels last.
    private static func imageLayout(of images: NPYArray) throws -> (shape: [Int], channelsLast: Bool) {
        let path = images.url.path
        let shape = images.header.shape
        let layout: (shape: [Int], channelsLast: Bool)
        switch shape.count {
        case 3:
            layout = ([1, shape[1], shape[2]], false)
        case 4:
            // [N, C, H, W], unless the last axis looks like channels (1 or 3) and the second does not.
            let channelsLast = [1, 3].contains(shape[3]) && ![1, 3].contains(shape[1])
            layout = (channelsLast ? [shape[3], shape[1], shape[2]] : [shape[1], shape[2], shape[3]], channelsLast)
        default:
            throw DataError.invalidHeader(
                file: path, reason: "images of shape \(shape); Kiln reads [N, H, W], [N, C, H, W] or [N, H, W, C] (C 1 or 3)")
        }
        guard layout.shape.allSatisfy({ $0 > 0 }) else {
            throw DataError.invalidHeader(file: path, reason: "images of shape \(shape): every image needs at least one value")
        }
        guard [.uint8, .float32, .float64].contains(images.header.elementType) else {
            throw DataError.invalidHeader(
                file: path,
                reason: "images of dtype \(images.header.elementType.rawValue); Kiln reads uint8 (0 to 255) or float32/float64 (0 to 1)")
        }
        return layout
    }

    /// The labels in `url`: one integer per image, `count` of them, none negative.
    private static func labels(in url: URL, count: Int, imagesPath: String) throws -> [Int] {
        let labelArray = try NPYArray(contentsOf: url)
        let labelShape = labelArray.header.shape
        guard labelShape.count == 1 || (labelShape.count == 2 && labelShape[1] == 1) else {
            throw DataError.invalidHeader(file: url.path, reason: "labels of shape \(labelShape); Kiln reads one label per image, [N]")
        }
        let values = try labelArray.integers()
        guard values.count == count else {
            throw DataError.countMismatch(images: imagesPath, imageCount: count, labels: url.path, labelCount: values.count)
        }
        if let index = values.firstIndex(where: { $0 < 0 }) {
            throw DataError.invalidValue(
                file: url.path, reason: "label \(values[index]) at index \(index) is negative; classes count from 0")
        }
        return values
    }

    /// The class of image `index`.
    public func label(at index: Int) -> Int { labels[index] }

    /// Writes the images at `indices` one after another into `destination`, `[C, H, W]` each: uint8 values
    /// scaled by 1/255, float values as they are, then through `normalization`.
    public func writeImages(_ indices: ArraySlice<Int>, normalizedBy normalization: PixelNormalization, into destination: inout [Float])
        throws
    {
        let values = imageShape.reduce(1, *)
        let isBytes = images.header.elementType == .uint8
        let table = normalization.table
        destination = [Float](repeating: 0, count: indices.count * values)
        var image = [Float](repeating: 0, count: values)
        for (row, example) in indices.enumerated() {
            try image.withUnsafeMutableBufferPointer { buffer in
                try images.readFloats(example * values..<(example + 1) * values, into: buffer) { value in
                    isBytes ? table[Int(value)] : normalization.apply(value)
                }
            }
            let (channels, pixels) = (imageShape[0], imageShape[1] * imageShape[2])
            for channel in 0..<channels {
                for pixel in 0..<pixels {
                    // [H, W, C] in the file when channels come last, [C, H, W] otherwise.
                    let source = channelsLast ? pixel * channels + channel : channel * pixels + pixel
                    destination[row * values + channel * pixels + pixel] = image[source]
                }
            }
        }
    }

    /// Reads every float image value of `images` once, in slices of about 1 MiB, and throws for the first NaN
    /// or infinity.
    private static func checkFinite(_ images: NPYArray, valuesPerImage values: Int) throws {
        let total = images.header.elementCount
        let slice = 1 << 18
        var buffer = [Float](repeating: 0, count: slice)
        for start in stride(from: 0, to: total, by: slice) {
            let range = start..<min(start + slice, total)
            try buffer.withUnsafeMutableBufferPointer { try images.readFloats(range, into: $0) { $0 } }
            if let offset = buffer[0..<range.count].firstIndex(where: { !$0.isFinite }) {
                throw DataError.invalidHeader(
                    file: images.url.path,
                    reason:
                        "image \((start + offset) / values) holds \(buffer[offset]) at element \((start + offset) % values); every value must be finite"
                )
            }
        }
    }
}

extension NPYImageSet: LabeledImageSet {
    public func labelSource(at index: Int) -> String? { labelsURL.path }
}
