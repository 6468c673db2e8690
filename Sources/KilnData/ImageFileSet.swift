// ImageFileSet: labelled PNG and JPEG files read on demand, each decoded, converted to the set's channels
// and resized to its size when a batch needs it, so a folder larger than memory trains in bounded memory
// (a batch and the prefetched next one are all that is held). A batch's files are decoded in parallel.
import Dispatch
import Foundation

/// Image files with a class label each, read when a batch needs them.
public final class ImageFileSet: LabeledImageSet, @unchecked Sendable {
    /// The files, in the set's order.
    public let files: [URL]
    public let labels: [Int]
    /// `[channels, height, width]` every image is converted and resized to.
    public let imageShape: [Int]
    public let limits: ImageLimits

    /// Files and labels of equal count; images become `[channels, height, width]` (channels 1 or 3).
    public init(files: [URL], labels: [Int], channels: Int, height: Int, width: Int, limits: ImageLimits = .standard) {
        precondition(files.count == labels.count && (channels == 1 || channels == 3) && height > 0 && width > 0, "ImageFileSet")
        self.files = files
        self.labels = labels
        imageShape = [channels, height, width]
        self.limits = limits
    }

    public var count: Int { files.count }
    public func label(at index: Int) -> Int { labels[index] }
    public func labelSource(at index: Int) -> String? { files[index].path }

    /// The image at `index`, converted and resized to the set's shape (see `RasterImage.fitted`).
    public func image(at index: Int) throws -> RasterImage {
        try ImageFile.decode(contentsOf: files[index], limits: limits).fitted(
            channels: imageShape[0], height: imageShape[1], width: imageShape[2])
    }

    public func writeImages(_ indices: ArraySlice<Int>, normalizedBy normalization: PixelNormalization, into destination: inout [Float])
        throws
    {
        let values = imageShape.reduce(1, *)
        let table = normalization.table
        let members = Array(indices)
        var output = [Float](repeating: 0, count: members.count * values)
        let failure = FirstError()
        output.withUnsafeMutableBufferPointer { buffer in
            // Each image writes its own slice of the buffer.
            guard let base = buffer.baseAddress else { return }
            DispatchQueue.concurrentPerform(iterations: members.count) { row in
                do {
                    let pixels = try image(at: members[row]).planarPixels
                    for value in 0..<values { base[row * values + value] = table[Int(pixels[value])] }
                } catch {
                    failure.record(error)
                }
            }
        }
        if let error = failure.error { throw error }
        destination = output
    }

    /// Standardises from a histogram of every pixel byte (each image decoded once, in parallel), exactly as an
    /// IDX set in memory does, so a folder copy of an IDX set gets the same numbers.
    public func standardizingNormalization() throws -> PixelNormalization {
        let chunks = stride(from: 0, to: count, by: 256).map { $0..<min($0 + 256, count) }
        var histograms = [[Int]](repeating: [Int](repeating: 0, count: 256), count: chunks.count)
        let failure = FirstError()
        histograms.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            DispatchQueue.concurrentPerform(iterations: chunks.count) { chunk in
                var counts = [Int](repeating: 0, count: 256)
                do {
                    for index in chunks[chunk] {
                        for pixel in try image(at: index).pixels { counts[Int(pixel)] += 1 }
                    }
                } catch {
                    failure.record(error)
                }
                base[chunk] = counts
            }
        }
        if let error = failure.error { throw error }
        let counts = histograms.reduce(into: [Int](repeating: 0, count: 256)) { total, counts in
            for byte in 0..<256 { total[byte] += counts[byte] }
        }
        return .standardizing(byteCounts: counts)
    }
}

/// The first error of several threads' work.
private final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var first: (any Error)?

    func record(_ error: any Error) {
        lock.lock()
        if first == nil { first = error }
        lock.unlock()
    }

    var error: (any Error)? {
        lock.lock()
        defer { lock.unlock() }
        return first
    }
}
