// LabeledImageSubset: some of a set's images, chosen by index, and the stratified split that holds out a
// fraction of every class (a validation set from the training set, or a test set from a folder without one).
import KilnCore

/// The images of `base` at `indices`, in that order.
public struct LabeledImageSubset: LabeledImageSet {
    public let base: any LabeledImageSet
    public let indices: [Int]

    public init(_ base: any LabeledImageSet, indices: [Int]) {
        self.base = base
        self.indices = indices
    }

    public var count: Int { indices.count }
    public var imageShape: [Int] { base.imageShape }
    public func label(at index: Int) -> Int { base.label(at: indices[index]) }
    public func labelSource(at index: Int) -> String? { base.labelSource(at: indices[index]) }

    public func writeImages(_ members: ArraySlice<Int>, normalizedBy normalization: PixelNormalization, into destination: inout [Float])
        throws
    {
        try base.writeImages(members.map { indices[$0] }[...], normalizedBy: normalization, into: &destination)
    }
}

extension LabeledImageSet {
    /// Splits the set into the images kept and a held-out `fraction` of each class (rounded, at least one of
    /// every class with two or more images, never all of one), chosen by a shuffle seeded with `seed`, so the
    /// same set, fraction and seed always hold out the same images. Both parts keep the set's order.
    public func stratifiedSplit(holdingOut fraction: Double, seed: UInt64) -> (kept: LabeledImageSubset, heldOut: LabeledImageSubset) {
        var byClass: [Int: [Int]] = [:]
        for index in 0..<count { byClass[label(at: index), default: []].append(index) }
        var heldOut: Set<Int> = []
        for (label, members) in byClass.sorted(by: { $0.key < $1.key }) {
            guard members.count >= 2 else { continue }
            let share = min(max(Int((Double(members.count) * fraction).rounded()), 1), members.count - 1)
            var random = RandomSource(seed: seed &+ UInt64(truncatingIfNeeded: label) &* 0x9E37_79B9_7F4A_7C15)
            heldOut.formUnion(members.shuffled(using: &random).prefix(share))
        }
        let all = Array(0..<count)
        return (
            LabeledImageSubset(self, indices: all.filter { !heldOut.contains($0) }),
            LabeledImageSubset(self, indices: all.filter(heldOut.contains))
        )
    }
}
