// Batches: images scaled to [0, 1], seeded shuffling per epoch, fixed-size batches, and a prefetcher
// that prepares the next batch while the device works on the current one.
import Dispatch
import KilnCore

/// One batch ready for the device: images `[N, 1, rows, columns]` in [0, 1] and labels `[N]` as floats.
public struct Batch {
    public let inputs: [Float]
    public let labels: [Float]
    public let count: Int
}

/// Batches over a set of labelled images.
public struct ImageBatches {
    public let images: LabeledImages
    public let batchSize: Int
    /// Shuffle with this seed (mixed with the epoch); nil keeps file order.
    public let shuffleSeed: UInt64?
    /// Drop the last partial batch (training, like the peers' recipe); keep it for evaluation.
    public let dropLast: Bool

    public init(_ images: LabeledImages, batchSize: Int, shuffleSeed: UInt64?, dropLast: Bool) {
        self.images = images
        self.batchSize = max(batchSize, 1)
        self.shuffleSeed = shuffleSeed
        self.dropLast = dropLast
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

    /// Batch `index` of an epoch whose example order is `order`.
    public func batch(_ index: Int, order: [Int]) -> Batch {
        let start = index * batchSize
        let members = order[start..<min(start + batchSize, order.count)]
        let pixels = images.rows * images.columns
        var inputs = [Float](repeating: 0, count: members.count * pixels)
        var labels = [Float](repeating: 0, count: members.count)
        for (row, example) in members.enumerated() {
            let source = example * pixels
            for pixel in 0..<pixels { inputs[row * pixels + pixel] = Float(images.pixels[source + pixel]) / 255 }
            labels[row] = Float(images.labels[example])
        }
        return Batch(inputs: inputs, labels: labels, count: members.count)
    }

    /// The input shape of a batch of `count` images.
    public func shape(count: Int) -> Shape { [count, 1, images.rows, images.columns] }
}

/// Prepares item `i + 1` on a background queue while the caller works on item `i`.
public final class Prefetcher<Item> {
    private let make: (Int) -> Item
    private let range: Range<Int>
    private var nextIndex: Int
    private var pending: Item?
    private let ready = DispatchSemaphore(value: 0)
    private let queue = DispatchQueue(label: "kiln.prefetch")

    /// Items `make(i)` for `i` in `range`, in order.
    public init(_ range: Range<Int>, make: @escaping (Int) -> Item) {
        self.make = make
        self.range = range
        nextIndex = range.lowerBound
        schedule()
    }

    /// The next item, or nil after the last.
    public func next() -> Item? {
        guard nextIndex < range.upperBound else { return nil }
        ready.wait()
        let item = pending
        nextIndex += 1
        schedule()
        return item
    }

    private func schedule() {
        guard nextIndex < range.upperBound else { return }
        let index = nextIndex
        queue.async { [self] in
            pending = make(index)
            ready.signal()
        }
    }
}
