// SampleScore: what a trained classifier says about generated images. Confident predictions (a high mean
// top-class probability) mean the images look like some class; a predicted-class histogram with high
// entropy means they cover many classes. Mode collapse shows as low entropy.
import Foundation
import Kiln

/// A classifier's verdict on a set of generated images.
public struct SampleScore: Codable, Sendable, Equatable {
    /// Images scored.
    public var samples: Int
    /// Mean over images of the classifier's largest softmax probability.
    public var meanTopProbability: Double
    /// How many images the classifier assigned to each class.
    public var histogram: [Int]
    /// Entropy of the predicted-class histogram, in bits.
    public var entropyBits: Double
    /// The largest possible entropy, log₂(classes) (3.32 bits for 10 classes).
    public var maximumEntropyBits: Double

    /// The score of softmax `probabilities` (`count` rows of `classes`, row-major).
    public init(probabilities: [Double], classes: Int) {
        let rows = classes > 0 ? probabilities.count / classes : 0
        var histogram = [Int](repeating: 0, count: max(classes, 0))
        var topSum = 0.0
        for row in 0..<rows {
            let scores = probabilities[row * classes..<(row + 1) * classes]
            guard let top = scores.indices.max(by: { scores[$0] < scores[$1] }) else { continue }
            histogram[top - row * classes] += 1
            topSum += scores[top]
        }
        samples = rows
        meanTopProbability = rows > 0 ? topSum / Double(rows) : 0
        self.histogram = histogram
        entropyBits = Self.entropyBits(histogram)
        maximumEntropyBits = classes > 0 ? log2(Double(classes)) : 0
    }

    /// The entropy of the distribution `counts / sum(counts)` in bits (empty classes contribute nothing).
    public static func entropyBits(_ counts: [Int]) -> Double {
        let total = Double(counts.reduce(0, +))
        guard total > 0 else { return 0 }
        return counts.filter { $0 > 0 }.reduce(0) { entropy, count in
            let p = Double(count) / total
            return entropy - p * log2(p)
        }
    }

    /// Row-wise softmax of `logits` (`classes` per row), in Double.
    public static func softmax(_ logits: [Float], classes: Int) -> [Double] {
        stride(from: 0, to: logits.count, by: classes).flatMap { start -> [Double] in
            let row = logits[start..<start + classes].map(Double.init)
            let top = row.max() ?? 0
            let exponentials = row.map { exp($0 - top) }
            let sum = exponentials.reduce(0, +)
            return exponentials.map { $0 / sum }
        }
    }

    /// Scores `count` images from `step`'s generator (fresh noise from `seed`, in batches of `batchSize`) with
    /// `classifier`: samples are mapped from [-1, 1] to [0, 1] with `(x + 1) / 2`, then through `normalization`,
    /// the one the classifier was trained with.
    public static func measure(
        generatorOf step: AdversarialStep, classifier: Sequential, normalization: PixelNormalization, count: Int,
        batchSize: Int = 100, seed: UInt64
    ) throws -> SampleScore {
        guard count > 0, batchSize > 0 else { throw GANError("score at least one sample in batches of at least one") }
        var random = RandomSource(seed: seed)
        let evaluation = Evaluation(model: classifier)
        var probabilities: [Double] = []
        var classes = 0
        var remaining = count
        while remaining > 0 {
            let batch = min(batchSize, remaining)
            let noise = GANTrainer.noise(count: batch, length: step.architecture.noise, random: &random)
            let images = try step.samples(noise: noise, count: batch).map { normalization.apply(($0 + 1) / 2) }
            let logits = try evaluation(inputs: images, shape: step.imageShape(count: batch), on: step.device)
            classes = logits.count / batch
            probabilities += softmax(logits, classes: classes)
            remaining -= batch
        }
        return SampleScore(probabilities: probabilities, classes: classes)
    }

    /// One line for people: `mean top-class probability 0.812, class entropy 3.05 of 3.32 bits, histogram [...]`.
    public var summary: String {
        String(
            format: "mean top-class probability %.3f, predicted-class entropy %.2f of %.2f bits", meanTopProbability, entropyBits,
            maximumEntropyBits)
            + ", histogram \(histogram)"
    }
}
