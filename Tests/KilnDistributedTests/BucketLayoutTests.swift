// Bucket layouts: gradients in the order they finish, split at the bucket capacities, every gradient in
// exactly one bucket at its own offset, the extras after the first bucket's gradients.
import KilnDistributed
import XCTest

final class BucketLayoutTests: XCTestCase {
    /// Every gradient appears once, in order, at consecutive offsets that its place repeats, and the counts add up.
    private func assertConsistent(_ layout: BucketLayout, _ counts: [Int], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(layout.buckets.flatMap { $0.map(\.gradient) }, Array(counts.indices), file: file, line: line)
        for (index, bucket) in layout.buckets.enumerated() {
            var offset = 0
            for slot in bucket {
                XCTAssertEqual(slot.offset, offset, "bucket \(index), gradient \(slot.gradient)", file: file, line: line)
                XCTAssertEqual(layout.places[slot.gradient].bucket, index, "gradient \(slot.gradient)'s place", file: file, line: line)
                XCTAssertEqual(layout.places[slot.gradient].offset, offset, "gradient \(slot.gradient)'s place", file: file, line: line)
                offset += counts[slot.gradient]
            }
            XCTAssertEqual(layout.counts[index], offset + (index == 0 ? layout.extraCount : 0), "bucket \(index)", file: file, line: line)
        }
    }

    func testFirstBucketIsSmallAndTheOthersLarge() {
        // Capacities of 40 bytes (10 floats) first, then 100 bytes (25 floats).
        let counts = [4, 5, 3, 20, 6, 1, 30, 2]
        let layout = BucketLayout(gradientCounts: counts, firstBytes: 40, bytes: 100, extraCount: 2)
        XCTAssertEqual(layout.buckets.map { $0.map(\.gradient) }, [[0, 1], [2, 3], [4, 5], [6], [7]])
        XCTAssertEqual(layout.counts, [11, 23, 7, 30, 2])
        assertConsistent(layout, counts)
    }

    func testOneBucketWhenEverythingFits() {
        let counts = [200_960, 256, 32_768, 128, 1_280, 10].reversed().map { $0 }
        let layout = BucketLayout(gradientCounts: counts, extraCount: 2)
        XCTAssertEqual(layout.buckets.count, 1)
        XCTAssertEqual(layout.counts, [counts.reduce(0, +) + 2])
        assertConsistent(layout, counts)
    }

    func testAwkwardSizes() {
        for counts in [[1], [7, 1, 13], [1, 1, 1, 1, 1], [97, 3, 101, 2, 89]] {
            for (first, rest) in [(4, 4), (8, 12), (28, 400), (1 << 20, 25 << 20)] {
                let layout = BucketLayout(gradientCounts: counts, firstBytes: first, bytes: rest, extraCount: 2)
                assertConsistent(layout, counts)
                for (index, bucket) in layout.buckets.enumerated() where bucket.count > 1 {
                    let floats = bucket.reduce(0) { $0 + counts[$1.gradient] }
                    XCTAssertLessThanOrEqual(
                        floats * 4, index == 0 ? first : rest, "\(counts) \(first) \(rest): bucket \(index) over capacity")
                }
            }
        }
    }

    func testNoGradientsStillCarryTheExtras() {
        let layout = BucketLayout(gradientCounts: [], extraCount: 2)
        XCTAssertEqual(layout.counts, [2])
        XCTAssertEqual(layout.buckets.count, 1)
    }
}
