// Every op outside the minimal set against its decomposition: the op's reference loops on the Double reference
// backend, and the same op on a backend that implements only the minimal set (so the executor lowers it, recursively),
// over awkward geometries, ties, NaN and invalid labels. Also pins down which ops form the minimal set.

import KilnCore
import KilnReference
import KilnTestSupport
import XCTest

final class DecompositionTests: XCTestCase {
    static let tolerance = Tolerance(
        absolute: 1e-12, relative: 1e-10,
        reason: "Double on both sides in different orders (a product over columns instead of nested loops), a few thousand terms at most")

    var generator = SplitMix64(seed: 31)

    /// Runs `op` on `inputs` by its reference loops and through its decomposition on a minimal backend, compares the
    /// two, and checks that no op outside the minimal set reached the minimal backend.
    func check(_ op: Op, _ inputs: [HostTensor], file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertFalse(op.isMinimal, "\(op.name) has no decomposition", file: file, line: line)
        let expected = try evaluate(op, inputs)
        let minimal = MinimalBackend(ReferenceBackend<Double>())
        let device = Device(minimal)
        let tensors = try inputs.map { try Tensor($0.values, shape: $0.shape, on: device) }
        let actual = try Tensor.apply(op, tensors).doubles()
        let label = "\(op.name) \(inputs.map(\.shape.description).joined(separator: " "))"
        assertClose(actual, expected.values, Self.tolerance, label, file: file, line: line)
        XCTAssertNil(minimal.executedOps[op.name], "\(label) ran natively", file: file, line: line)
        XCTAssertFalse(minimal.executedOps.isEmpty, "\(label): nothing ran on the minimal backend", file: file, line: line)
    }

    func testMinimalSet() {
        let minimal: [Op] = [
            .fill(value: 1, shape: [2]), .dropoutMask(probability: 0.5, seed: 1, shape: [2]), .unary(.exp), .unary(.relu),
            .binary(.add), .binary(.greater), .reshape([2]), .broadcast([2]), .transpose(permutation: [0]),
            .slice(axis: 0, start: 0, length: 1), .pad(axis: 0, before: 1, after: 0), .concatenate(axis: 0),
            .reduce(.sum, axes: [0], keepDimensions: false), .reduce(.max, axes: [0], keepDimensions: true),
            .matmul(transposeA: true, transposeB: false),
        ]
        for op in minimal { XCTAssertTrue(op.isMinimal, op.name) }
        XCTAssertFalse(Op.update(.adamParameter(epsilon: 1e-8)).isMinimal)
        XCTAssertFalse(Op.unaryGradient(.relu).isMinimal)
    }

    /// Every function's derivative in ops; inputs in [−4, 4] (zero included, where the design fixes the kinks'
    /// derivatives), positive for log and sqrt.
    /// A backend that lacks a minimal op cannot run it, nor anything that decomposes into it: the error names the op
    /// and the backend, and nothing runs.
    func testAMissingMinimalOpIsAnError() throws {
        let backend = MinimalBackend(ReferenceBackend<Double>(), withholding: ["matmul"])
        let device = Device(backend)
        let a = try Tensor([1, 2, 3, 4] as [Double], shape: [2, 2], on: device)
        for tensor in [try a.matmul(a), try a.linear(weight: a, bias: Tensor([1, 1] as [Double], shape: [2], on: device)).relu()] {
            XCTAssertThrowsError(try tensor.doubles()) { error in
                XCTAssertEqual(error as? TensorError, .unsupported(op: "matmul", backend: "minimal(cpu-double)"))
                XCTAssertTrue("\(error)".hasPrefix("[matmul] minimal(cpu-double) does not implement"), "\(error)")
            }
        }
        XCTAssertTrue(backend.executedOps.isEmpty, "\(backend.executedOps)")
    }

    func testUnaryGradients() throws {
        for function in UnaryFunction.all {
            let range: ClosedRange<Double> = ["log", "sqrt"].contains(function.identifier) ? 0.1...3 : -4...4
            // Zero itself too, where the design fixes the kinks' derivatives.
            var x = generator.tensor([3, 7], in: range)
            if range.contains(0) { x.values[4] = 0 }
            try check(.unaryGradient(function), [x, generator.tensor([3, 7])])
        }
    }

    func testArgMaxWithTiesAndNaN() throws {
        for shape in [[1], [7], [3, 1], [2, 13, 3], [5, 4]] as [Shape] {
            for axis in -shape.rank..<shape.rank {
                // Few distinct values, so rows hold ties.
                var x = HostTensor((0..<shape.count).map { _ in Double(Int.random(in: 0..<3, using: &generator)) }, shape)
                try check(.argMax(axis: axis), [x])
                x.values[x.values.count / 2] = .nan
                try check(.argMax(axis: axis), [x])
            }
        }
        try check(.argMax(axis: 1), [HostTensor([-.infinity, -.infinity, .nan, .nan, 1, .infinity], [3, 2])])
    }

    func testSoftmaxAndBias() throws {
        for (shape, axis) in [([3, 7], 0), ([3, 7], 1), ([2, 1, 5], 1), ([1], 0)] as [(Shape, Int)] {
            let x = generator.tensor(shape, in: -30...30)
            try check(.softmax(axis: axis), [x])
            try check(.logSoftmax(axis: axis), [x])
        }
        try check(.biasAdd, [generator.tensor([5, 3]), generator.tensor([3])])
        try check(.biasAdd, [generator.tensor([2, 3, 4, 5]), generator.tensor([3])])
    }

    func testLinear() throws {
        for (transposeA, transposeB) in [(false, false), (false, true), (true, false), (true, true)] {
            for activation in [nil, .relu, .leakyRelu(slope: 0.1), .sigmoid, .tanh] as [UnaryFunction?] {
                let a: Shape = transposeA ? [7, 3] : [3, 7]
                let b: Shape = transposeB ? [5, 7] : [7, 5]
                try check(
                    .linear(transposeA: transposeA, transposeB: transposeB, activation: activation),
                    [generator.tensor(a), generator.tensor(b), generator.tensor([5])])
            }
        }
    }

    func testLinearGradient() throws {
        for (transposeA, transposeB) in [(false, false), (false, true), (true, false), (true, true)] {
            for activation in UnaryFunction.all.filter(\.isFusibleActivation) {
                let a: Shape = transposeA ? [7, 3] : [3, 7]
                let b: Shape = transposeB ? [5, 7] : [7, 5]
                try check(
                    .linearGradient(transposeA: transposeA, transposeB: transposeB, activation: activation),
                    [generator.tensor(a), generator.tensor(b), generator.tensor([3, 5])])
            }
        }
    }

    /// Geometries: plain, strided (2 and 3, so the strided runs need extra padding), asymmetric padding, dilation,
    /// groups, a 1×1 kernel, a kernel as large as the padded input, and the course CNN's second layer.
    static let convolutions: [(x: Shape, w: Shape, Convolution2D)] = [
        ([2, 3, 7, 6], [4, 3, 3, 3], Convolution2D()),
        ([1, 2, 9, 8], [3, 2, 3, 2], Convolution2D(stride: [2, 3], padding: [1, 0, 2, 1])),
        ([2, 4, 7, 7], [6, 2, 3, 3], Convolution2D(stride: [2, 2], padding: [1, 1, 1, 1], dilation: [2, 1], groups: 2)),
        ([3, 2, 5, 5], [3, 2, 1, 1], Convolution2D()),
        ([1, 1, 3, 2], [2, 1, 5, 4], Convolution2D(padding: [1, 1, 1, 1])),
        ([2, 6, 6, 6], [5, 6, 3, 3], Convolution2D(padding: [1, 1, 1, 1])),
    ]

    func testConvolutions() throws {
        for (xShape, wShape, attributes) in Self.convolutions {
            let x = generator.tensor(xShape)
            let w = generator.tensor(wShape)
            let bias = generator.tensor([wShape[0]])
            let y = try Op.conv2d(attributes).outputShape(for: [xShape, wShape])
            try check(.conv2d(attributes), [x, w])
            try check(.conv2d(attributes), [x, w, bias])
            try check(.fusedConv2d(attributes, activation: .relu), [x, w, bias])
            try check(.fusedConv2d(attributes, activation: .tanh), [x, w])
            try check(.conv2dBackwardInput(attributes, inputShape: xShape), [generator.tensor(y), w])
            try check(.conv2dBackwardWeight(attributes, weightShape: wShape), [x, generator.tensor(y)])
        }
    }

    func testPooling() throws {
        let poolings: [(Shape, Pooling2D)] = [
            ([2, 3, 6, 6], Pooling2D(kernel: [2, 2])),
            ([1, 2, 7, 5], Pooling2D(kernel: [3, 2], stride: [2, 1])),
            ([2, 2, 7, 7], Pooling2D(kernel: [3, 3], stride: [2, 2], padding: [1, 1, 1, 1])),
            ([1, 1, 8, 9], Pooling2D(kernel: [3, 3], stride: [3, 2], padding: [1, 0, 0, 1], dilation: [2, 2])),
            ([2, 1, 5, 5], Pooling2D(kernel: [3, 3], stride: [1, 1], padding: [1, 1, 1, 1], countIncludePadding: false)),
            ([1, 3, 1, 1], Pooling2D(kernel: [1, 1])),
        ]
        for (xShape, attributes) in poolings {
            // Few distinct values (some negative, so zero padding would win if it could), so windows hold ties.
            let x = HostTensor((0..<xShape.count).map { _ in Double(Int.random(in: -3..<2, using: &generator)) }, xShape)
            let y = try Op.maxPool2d(attributes).outputShape(for: [xShape])
            try check(.maxPool2d(attributes), [x])
            try check(.maxPool2dBackward(attributes), [x, generator.tensor(y)])
            try check(.avgPool2d(attributes), [generator.tensor(xShape)])
            try check(.avgPool2dBackward(attributes, inputShape: xShape), [generator.tensor(y)])
        }
    }

    func testRecurrentOps() throws {
        for (steps, batch, inputs, hidden) in [(1, 1, 1, 1), (3, 2, 4, 3), (2, 3, 2, 5)] {
            let z = generator.tensor([batch, 4 * hidden], in: -3...3)
            let cPrevious = generator.tensor([batch, hidden])
            let state = try evaluate(.lstmCell, [z, cPrevious])
            try check(.lstmCell, [z, cPrevious])
            try check(.lstmCellBackward, [z, cPrevious, state, generator.tensor(state.shape)])

            let sequenceInputs = [
                generator.tensor([steps, batch, inputs]), generator.tensor([batch, hidden]), generator.tensor([batch, hidden]),
                generator.tensor([4 * hidden, inputs]), generator.tensor([4 * hidden, hidden]), generator.tensor([4 * hidden]),
            ]
            let sequence = try evaluate(.lstmSequence, sequenceInputs)
            try check(.lstmSequence, sequenceInputs)
            try check(.lstmSequenceBackward, [sequenceInputs[4], sequence, generator.tensor(sequence.shape)])
        }
    }

    func testLabelsAndLoss() throws {
        // Valid labels, and each kind of invalid one: negative, fractional, too large, NaN.
        let labels = HostTensor([2, 0, -1, 1.5, 4, .nan, 3], [7])
        try check(.oneHot(classes: 4), [labels])
        try check(.oneHot(classes: 1), [HostTensor([0, 1, 0], [3])])
        let logits = generator.tensor([7, 4], in: -20...20)
        try check(.softmaxCrossEntropy, [logits, labels])
        try check(.softmaxCrossEntropyBackward, [logits, labels, generator.tensor([7])])
    }

    /// Batch norm's ops over [N, C] (one value per run), [N, C, L] and [N, C, H, W], with the input's own moments and with
    /// running statistics.
    func testBatchNorm() throws {
        for shape: Shape in [[5, 3], [1, 1], [2, 3, 7], [3, 2, 4, 5]] {
            let channels = shape[1]
            let x = generator.tensor(shape)
            let moments = try evaluate(.batchMoments, [x])
            let running = generator.tensor([2, channels], in: 0.1...2)
            try check(.batchMoments, [x])
            for statistics in [moments, running] {
                try check(.batchNormalize(epsilon: 1e-5), [x, statistics, generator.tensor([channels]), generator.tensor([channels])])
                try check(.batchNormSums(epsilon: 1e-3), [x, statistics, generator.tensor(shape)])
                try check(.batchMomentsBackward, [x, statistics, generator.tensor([2, channels])])
            }
        }
    }

    func testUpdateRules() throws {
        let shape: Shape = [3, 5]
        let scalars = HostTensor([0.1, 1.5, 1.2], [3])
        let rules: [UpdateRule] = [
            .momentumBuffer(momentum: 0.9, weightDecay: 0), .momentumBuffer(momentum: 0.5, weightDecay: 0.01),
            .sgdParameter(momentum: 0, nesterov: false, weightDecay: 0.1), .sgdParameter(momentum: 0.9, nesterov: false, weightDecay: 0),
            .sgdParameter(momentum: 0.9, nesterov: true, weightDecay: 0.01), .adamMoment(beta: 0.9, squared: false, weightDecay: 0),
            .adamMoment(beta: 0.999, squared: true, weightDecay: 0.01), .adamParameter(epsilon: 1e-8),
        ]
        for rule in rules {
            var inputs = (0..<(rule.takesScalars ? rule.arity - 1 : rule.arity)).map { _ in generator.tensor(shape) }
            if case .adamParameter = rule { inputs[2] = generator.tensor(shape, in: 0...1) }
            if rule.takesScalars { inputs.append(scalars) }
            try check(.update(rule), inputs)
        }
        // A scalar parameter keeps its rank through the scalars' slices.
        try check(
            .update(.sgdParameter(momentum: 0, nesterov: false, weightDecay: 0)), [HostTensor([1], []), HostTensor([2], []), scalars])
    }
}
