// SymbolRecallTask: a sequence whose answer depends only on its first step. Step 0 shows one of K
// symbols with a "remember this" marker; the next T − 1 steps show random distractor symbols; the model
// must name the first symbol after the last step. Chance is 1/K, so accuracy says at once whether
// anything crossed the T steps.
import Kiln

/// The recall task at one length, generating batches from a seeded source.
public struct SymbolRecallTask: Sendable {
    /// K, the number of symbols (the classes).
    public let symbols: Int
    /// T, the steps from the symbol to the question.
    public let length: Int

    public init(symbols: Int, length: Int) throws {
        try requireSetting(symbols >= 2, "symbols", "must be at least 2, got \(symbols)")
        try requireSetting(length >= 2, "sequence length", "must be at least 2, got \(length)")
        self.symbols = symbols
        self.length = length
    }

    /// Channels per step: one per symbol, and the marker.
    public var inputSize: Int { symbols + 1 }

    /// The input shape `[T, N, K + 1]` of a batch of `count` sequences.
    public func shape(count: Int) -> Shape { [length, count, inputSize] }

    /// `count` sequences: one-hot inputs `[T, N, K + 1]` (row-major) and the symbol to recall for each.
    public func batch(count: Int, random: inout RandomSource) -> (inputs: [Float], labels: [Float]) {
        var inputs = [Float](repeating: 0, count: length * count * inputSize)
        var labels = [Float](repeating: 0, count: count)
        // Element (t, n, i) of [T, N, I] sits at (t·N + n)·I + i.
        func set(_ t: Int, _ n: Int, _ i: Int) { inputs[(t * count + n) * inputSize + i] = 1 }
        for n in 0..<count {
            let symbol = Int(random.next() % UInt64(symbols))
            labels[n] = Float(symbol)
            set(0, n, symbol)
            set(0, n, symbols)
            for t in 1..<length { set(t, n, Int(random.next() % UInt64(symbols))) }
        }
        return (inputs, labels)
    }
}
