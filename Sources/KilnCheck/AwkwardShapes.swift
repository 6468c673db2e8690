// AwkwardShapes: the sizes the catalog draws its shapes from: 1, primes, and one below / at / above the
// work-group and tile sizes the kernels use, and shapes that broadcast against them.
import KilnCore

/// Awkward sizes and seeded shapes built from them.
public enum AwkwardShapes {
    /// Sizes for each axis of a random shape.
    public static let sizes = [1, 2, 3, 7, 13, 31, 63, 64, 65, 127]
    /// Vector lengths around the work-group size the kernels use (64) and around 256.
    public static let vectorLengths = [1, 7, 13, 31, 127, 63, 64, 65, 255, 256, 257]

    /// `count` shapes: first every length in `vectorLengths` as a vector, then random shapes of rank 1 to
    /// `maximumRank` with at most `maximumCount` elements.
    public static func shapes(_ count: Int, using random: inout RandomSource, maximumRank: Int = 4, maximumCount: Int = 20_000) -> [Shape] {
        var shapes = vectorLengths.prefix(count).map { Shape([$0]) }
        while shapes.count < count {
            shapes.append(randomShape(using: &random, rank: Int.random(in: 1...maximumRank, using: &random), maximumCount: maximumCount))
        }
        return shapes
    }

    /// A random shape of `rank` with axis sizes from `sizes` and at most `maximumCount` elements.
    public static func randomShape(using random: inout RandomSource, rank: Int, maximumCount: Int = 20_000) -> Shape {
        var dimensions: [Int] = []
        for _ in 0..<rank {
            var size = random.pick(sizes)
            // Shrink this axis until the shape fits; size 1 always does.
            while dimensions.reduce(size, *) > maximumCount { size = Swift.max(1, size / 2) }
            dimensions.append(size)
        }
        return Shape(dimensions)
    }

    /// A shape that broadcasts to `shape`: some leading axes dropped (all of them gives a scalar) and some of the
    /// rest set to 1.
    public static func broadcastOperand(of shape: Shape, using random: inout RandomSource) -> Shape {
        let dropped = Int.random(in: 0...shape.rank, using: &random)
        return Shape(shape.dimensions.dropFirst(dropped).map { Int.random(in: 0..<3, using: &random) == 0 ? 1 : $0 })
    }
}
