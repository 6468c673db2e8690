// Batches: images scaled to [0, 1] and normalised, seeded shuffling per epoch, fixed-size batches, and a
// prefetcher that prepares the next batch while the device works on the current one.
import Dispatch
import Foundation
import KilnCore

/// How pixel bytes become inputs: scaled to [0, 1] (byte / 255), then `(value - mean) / standardDeviation`.
public struct PixelNormalization: Codable, Equatable, Sendable {
    public var mean: Double
    public var standardDeviation: Double

    public init(mean: Double, standardDeviation: Double) {
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// "inputs in [0, 1]" or "inputs standardised (mean 0.2860, sd 0.3530)", for logs.
    public var summary: String {
        self == .unit ? "inputs in [0, 1]" : String(format: "inputs standardised (mean %.4f, sd %.4f)", mean, standardDeviation)
    }

    /// Inputs in [0, 1]: byte / 255.
    public static let unit = PixelNormalization(mean: 0, standardDeviation: 1)

    /// Zero mean and unit variance over every pixel of `images` (what torchvision's `Normalize` is given
    /// for MNIST-style data; Fashion-MNIST's training set: mean 0.2860, standard deviation 0.3530).
    public static func standardizing(_ images: LabeledImages) -> PixelNormalization {
        var counts = [Int](repeating: 0, count: 256)
        for pixel in images.pixels { counts[Int(pixel)] += 1 }
        return standardizing(byteCounts: counts)
    }

    /// Zero mean and unit variance over pixels given as a histogram: `counts[b]` pixels of byte value `b`
    /// (the moments over the 256 values, from exact counts).
    public static func standardizing(byteCounts counts: [Int]) -> PixelNormalization {
        let total = Double(max(counts.reduce(0, +), 1))
        let mean = counts.indices.reduce(0.0) { $0 + Double(counts[$1]) * (Double($1) / 255) } / total
        let variance =
            counts.indices.reduce(0.0) { sum, byte in
                let deviation = Double(byte) / 255 - mean
                return sum + Double(counts[byte]) * deviation * deviation
            } / total
        let deviation = variance.squareRoot()
        return PixelNormalization(mean: mean, standardDeviation: deviation > 0 ? deviation : 1)
    }

    /// The input for `value`, a pixel already in [0, 1], in float32 arithmetic as NumPy and PyTorch compute it.
    public func apply(_ value: Float) -> Float { (value - Float(mean)) / Float(standardDeviation) }

    /// The input value of every possible pixel byte (`.unit` gives exactly byte / 255).
    var table: [Float] { (0...255).map { apply(Float($0) / 255) } }
}

/// One batch ready for the device: images `[N, C, H, W]` normalised and labels `[N]` as floats.
public struct Batch {
    public let inputs: [Float]
    public let labels: [Float]
    public let count: Int
}

/// Batches over a set of labelled images.
public struct ImageBatches {
    public let images: any LabeledImageSet
    public let batchSize: Int
    /// Shuffle with this seed (mixed with the epoch); nil keeps file order.
    public let shuffleSeed: UInt64?
    /// Drop the last partial batch (training, like the peers' recipe); keep it for evaluation.
    public let dropLast: Bool
    /// How pixels become inputs.
    public let normalization: PixelNormalization

    public init(
        _ images: any LabeledImageSet, batchSize: Int, shuffleSeed: UInt64?, dropLast: Bool, normalization: PixelNormalization = .unit
    ) {
        self.images = images
        self.batchSize = max(batchSize, 1)
        self.shuffleSeed = shuffleSeed
        self.dropLast = dropLast
        self.normalization = normalization
    }

    /// Batches per epoch.
    public var count: Int { dropLast ? images.count / batchSize : (images.count + batchSize - 1) / batchSize }

    /// The order of the examples in `epoch`: a Fisher–Yates shuffle seeded by the seed and the epoch.
    public func order(epoch: Int) -> [Int] {
        var order = Array(0..<images.count)
        if let shuffleSeed {
            var random = RandomSource(seed: shuffleSeed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)
            order.shuffle(using: &random)
        }
        return order
    }

    /// Batch `index` of an epoch whose example order is `order`. Throws when a set that reads its images on
    /// demand cannot read one (a file changed or damaged since the set was opened), naming the file.
    public func batch(_ index: Int, order: [Int]) throws -> Batch {
        let start = index * batchSize
        let members = order[start..<min(start + batchSize, order.count)]
        var inputs: [Float] = []
        try images.writeImages(members, normalizedBy: normalization, into: &inputs)
        return Batch(inputs: inputs, labels: members.map { Float(images.label(at: $0)) }, count: members.count)
    }

    /// The input shape of a batch of `count` images.
    public func shape(count: Int) -> Shape { Shape([count] + images.imageShape) }
}

/// Prepares item `i + 1` on a background queue while the caller works on item `i`; at most one item is
/// prepared ahead, so memory stays bounded whatever the number of items.
public final class Prefetcher<Item> {
    private let make: (Int) throws -> Item
    private let range: Range<Int>
    private var nextIndex: Int
    private var pending: Result<Item, any Error>?
    private let ready = DispatchSemaphore(value: 0)
    private let queue = DispatchQueue(label: "kiln.prefetch")

    /// Items `make(i)` for `i` in `range`, in order.
    public init(_ range: Range<Int>, make: @escaping (Int) throws -> Item) {
        self.make = make
        self.range = range
        nextIndex = range.lowerBound
        schedule()
    }

    /// The next item, or nil after the last; rethrows what `make` threw for it.
    public func next() throws -> Item? {
        guard nextIndex < range.upperBound else { return nil }
        ready.wait()
        let item = pending
        nextIndex += 1
        schedule()
        return try item?.get()
    }

    private func schedule() {
        guard nextIndex < range.upperBound else { return }
        let index = nextIndex
        queue.async { [self] in
            pending = Result { try make(index) }
            ready.signal()
        }
    }
}
