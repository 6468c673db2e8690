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
    public init(images imagesURL: URL, labels labelsURL: URL) throws {
        images = try NPYArray(contentsOf: imagesURL)
        self.labelsURL = labelsURL
        let labelArray = try NPYArray(contentsOf: labelsURL)
        let path = imagesURL.path
        let shape = images.header.shape
        switch shape.count {
        case 3:
            imageShape = [1, shape[1], shape[2]]
            channelsLast = false
        case 4:
            // [N, C, H, W], unless the last axis looks like channels (1 or 3) and the second does not.
            channelsLast = [1, 3].contains(shape[3]) && ![1, 3].contains(shape[1])
            imageShape = channelsLast ? [shape[3], shape[1], shape[2]] : [shape[1], shape[2], shape[3]]
        default:
            throw DataError.invalidHeader(
                file: path, reason: "images of shape \(shape); Kiln reads [N, H, W], [N, C, H, W] or [N, H, W, C] (C 1 or 3)")
        }
        guard imageShape.allSatisfy({ $0 > 0 }) else {
            throw DataError.invalidHeader(file: path, reason: "images of shape \(shape): every image needs at least one value")
        }
        guard [.uint8, .float32, .float64].contains(images.header.elementType) else {
            throw DataError.invalidHeader(
                file: path,
                reason: "images of dtype \(images.header.elementType.rawValue); Kiln reads uint8 (0 to 255) or float32/float64 (0 to 1)")
        }
        let labelShape = labelArray.header.shape
        guard labelShape.count == 1 || (labelShape.count == 2 && labelShape[1] == 1) else {
            throw DataError.invalidHeader(
                file: labelsURL.path, reason: "labels of shape \(labelShape); Kiln reads one label per image, [N]")
        }
        // Checked before they are stored: an error thrown once every property is set leaked them (LeakSanitizer).
        let values = try labelArray.integers()
        guard values.count == shape[0] else {
            throw DataError.countMismatch(images: path, imageCount: shape[0], labels: labelsURL.path, labelCount: values.count)
        }
        if let index = values.firstIndex(where: { $0 < 0 }) {
            throw DataError.invalidValue(
                file: labelsURL.path, reason: "label \(values[index]) at index \(index) is negative; classes count from 0")
        }
        labels = values
        if images.header.elementType != .uint8 { try checkFinite() }
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

    /// Reads every float image value once, in slices of about 1 MiB, and throws for the first NaN or infinity.
    private func checkFinite() throws {
        let total = images.header.elementCount
        let slice = 1 << 18
        var buffer = [Float](repeating: 0, count: slice)
        for start in stride(from: 0, to: total, by: slice) {
            let range = start..<min(start + slice, total)
            try buffer.withUnsafeMutableBufferPointer { try images.readFloats(range, into: $0) { $0 } }
            if let offset = buffer[0..<range.count].firstIndex(where: { !$0.isFinite }) {
                let values = imageShape.reduce(1, *)
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
