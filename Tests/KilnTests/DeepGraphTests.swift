// A lazy graph far deeper than the stack: building it, evaluating it and dropping it neither overflows the
// stack nor leaves nodes behind (found with an ONNX file of 100,000 Relu nodes, issue 15's fresh hostile
// inputs: releasing the chain recursed once per node and crashed with SIGSEGV).
import Kiln
import XCTest

final class DeepGraphTests: XCTestCase {
    func testAChainOfAHundredThousandNodesIsReleasedWithoutRecursing() throws {
        let device = try Device.named("cpu")
        weak var first: Node?
        do {
            let input = try Tensor([-1, 2] as [Float], shape: [2], on: device)
            first = input.node
            var x = input
            for _ in 0..<100_000 { x = try -x }
            XCTAssertEqual(try x.floats(), [-1, 2], "an even number of negations")
        }
        XCTAssertNil(first, "every node of the chain is freed")
    }
}
