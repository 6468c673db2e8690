// Tensors made from, and read into, the caller's float buffers on every device: the values round-trip exactly
// (sizes 1, a prime, and one past a vector width), through an op too, and a buffer of the wrong size is an error.
import Kiln
import KilnTestSupport
import XCTest

final class TensorBufferTests: XCTestCase {
    func testValuesRoundTripThroughBuffersOnEveryDevice() throws {
        for device in try availableDevices() {
            for shape: Shape in [[1], [7, 13], [3, 3]] {
                let values = (0..<shape.count).map { Float($0) * 0.37 - 2 }
                let tensor = try values.withUnsafeBufferPointer { try Tensor($0, shape: shape, on: device) }
                var read = [Float](repeating: .nan, count: shape.count)
                try read.withUnsafeMutableBufferPointer { try tensor.read(into: $0) }
                XCTAssertEqual(read, values, "\(device) \(shape)")
                // A computed tensor is evaluated before it is read.
                var doubled = [Float](repeating: .nan, count: shape.count)
                try doubled.withUnsafeMutableBufferPointer { try (tensor * 2).read(into: $0) }
                XCTAssertEqual(doubled, values.map { $0 * 2 }, "\(device) \(shape), doubled")
            }
        }
    }

    func testBuffersOfTheWrongSizeAreErrors() throws {
        for device in try availableDevices() {
            let values: [Float] = [1, 2, 3, 4, 5]
            XCTAssertThrowsError(try values.withUnsafeBufferPointer { try Tensor($0, shape: [2, 3], on: device) }) {
                XCTAssertEqual("\($0)", "[tensor] shape [2, 3] needs 6 values, got 5")
            }
            let tensor = try Tensor(values, shape: [5], on: device)
            var short = [Float](repeating: 0, count: 4)
            XCTAssertThrowsError(try short.withUnsafeMutableBufferPointer { try tensor.read(into: $0) }) {
                XCTAssertEqual("\($0)", "[tensor] reading shape [5] needs a destination of 5 floats, got 4")
            }
            XCTAssertEqual(short, [0, 0, 0, 0], "nothing is written on a mismatch")
        }
    }
}
