// Every op's gradient rule, through autodiff, against central finite differences in Double.
import KilnCore
import KilnTestSupport
import XCTest

final class OpGradientTests: XCTestCase {
    var generator = SeededGenerator(seed: 7)

    func random(_ shape: Shape, in range: ClosedRange<Double> = -1...1) -> HostTensor {
        HostTensor(generator.values(shape.count, in: range), shape)
    }

    /// Values whose magnitude stays above 0.1, away from the kinks of relu, abs and leaky ReLU.
    func awayFromZero(_ shape: Shape) -> HostTensor {
        HostTensor(generator.values(shape.count, in: 0.1...1).map { Bool.random(using: &generator) ? $0 : -$0 }, shape)
    }

    func testUnaryFunctions() throws {
        let shape: Shape = [3, 5]
        try GradientCheck.check("negate", [random(shape)]) { try -$0[0] }
        try GradientCheck.check("exp", [random(shape)]) { try $0[0].exp() }
        try GradientCheck.check("log", [random(shape, in: 0.1...2)]) { try $0[0].log() }
        try GradientCheck.check("sqrt", [random(shape, in: 0.1...2)]) { try $0[0].sqrt() }
        try GradientCheck.check("abs", [awayFromZero(shape)]) { try $0[0].abs() }
        try GradientCheck.check("relu", [awayFromZero(shape)]) { try $0[0].relu() }
        try GradientCheck.check("leaky relu", [awayFromZero(shape)]) { try $0[0].leakyRelu(slope: 0.2) }
        try GradientCheck.check("sigmoid", [random(shape, in: -4...4)]) { try $0[0].sigmoid() }
        try GradientCheck.check("tanh", [random(shape, in: -3...3)]) { try $0[0].tanh() }
        try GradientCheck.check("softplus", [random(shape, in: -5...5)]) { try $0[0].softplus() }
    }

    /// Every function the engine defines, so a new one is checked without a line here: inputs of magnitude 0.1 to 4 of
    /// either sign (away from the kinks of relu, abs and leaky ReLU), positive for log and sqrt.
    func testEveryUnaryFunction() throws {
        for function in UnaryFunction.all {
            let positive = ["log", "sqrt"].contains(function.identifier)
            let x = HostTensor(generator.values(15, in: 0.1...4).map { positive || Bool.random(using: &generator) ? $0 : -$0 }, [3, 5])
            try GradientCheck.check("\(function)", [x]) { try Tensor.apply(.unary(function), $0) }
        }
    }

    func testBinaryFunctionsWithBroadcasting() throws {
        let pairs: [(Shape, Shape)] = [([3, 4], [3, 4]), ([2, 3, 4], [4]), ([3, 1], [1, 5]), ([4], [])]
        for (a, b) in pairs {
            try GradientCheck.check("add \(a) \(b)", [random(a), random(b)]) { try $0[0] + $0[1] }
            try GradientCheck.check("subtract \(a) \(b)", [random(a), random(b)]) { try $0[0] - $0[1] }
            try GradientCheck.check("multiply \(a) \(b)", [random(a), random(b)]) { try $0[0] * $0[1] }
            try GradientCheck.check("divide \(a) \(b)", [random(a), random(b, in: 0.5...2)]) { try $0[0] / $0[1] }
            try GradientCheck.check("power \(a) \(b)", [random(a, in: 0.5...2), random(b)]) { try $0[0].pow($0[1]) }
        }
        // Maximum and minimum away from ties: a in [0.5, 1], b in [-1, 0] or the reverse.
        try GradientCheck.check("maximum", [random([4, 3], in: 0.5...1), random([3], in: -1...0)]) { try $0[0].maximum($0[1]) }
        try GradientCheck.check("minimum", [random([4, 3], in: 0.5...1), random([3], in: -1...0)]) { try $0[0].minimum($0[1]) }
        try GradientCheck.check("scalar operands", [random([5])]) { try 2 * $0[0] - 3 / ($0[0] + 4) }
    }

    func testStructure() throws {
        try GradientCheck.check("reshape", [random([2, 6])]) { try $0[0].reshaped([3, 4]).exp() }
        try GradientCheck.check("broadcast", [random([3, 1])]) { try $0[0].broadcast(to: [2, 3, 4]).exp() }
        try GradientCheck.check("transpose", [random([2, 3, 4])]) { try $0[0].transposed([2, 0, 1]).exp() }
        try GradientCheck.check("slice", [random([4, 5])]) { try $0[0].slice(axis: 1, start: 1, length: 3).exp() }
        try GradientCheck.check("pad", [random([4, 2])]) { try $0[0].padded(axis: 0, before: 1, after: 2).exp() }
        try GradientCheck.check("concatenate", [random([2, 3]), random([2, 1]), random([2, 2])]) {
            try Tensor.concatenate($0, axis: 1).exp()
        }
    }

    func testReductionsAndSoftmax() throws {
        let x = random([3, 4, 5])
        for axes in [[0], [1], [2], [0, 2], [0, 1, 2]] {
            try GradientCheck.check("sum \(axes)", [x]) { try $0[0].sum(axes: axes).exp() }
            try GradientCheck.check("mean \(axes)", [x]) { try $0[0].mean(axes: axes, keepDimensions: true).exp() }
            try GradientCheck.check("max \(axes)", [x]) { try $0[0].max(axes: axes).exp() }
        }
        for axis in 0..<3 {
            try GradientCheck.check("softmax \(axis)", [x]) { try $0[0].softmax(axis: axis) }
            try GradientCheck.check("log softmax \(axis)", [x]) { try $0[0].logSoftmax(axis: axis) }
        }
    }

    /// Batch norm's moments and normalisation, each on its own and chained as a layer in training uses them (the moments
    /// of the input being normalised, so x's gradient comes through both), over [N, C] and [N, C, H, W].
    func testBatchNorm() throws {
        for shape: Shape in [[6, 3], [2, 3, 2, 3]] {
            let channels = shape[1]
            let moments = HostTensor([0.3, -0.2, 0.1, 0.5, 1.2, 0.8], [2, channels])
            let (weight, bias) = (random([channels]), random([channels]))
            try GradientCheck.check("batch moments \(shape)", [random(shape)]) { try $0[0].batchMoments() }
            try GradientCheck.check("batch normalize \(shape)", [random(shape), moments, weight, bias]) {
                try $0[0].batchNormalized(moments: $0[1], weight: $0[2], bias: $0[3], epsilon: 1e-3)
            }
            try GradientCheck.check("batch norm in training \(shape)", [random(shape), weight, bias]) {
                try $0[0].batchNormalized(moments: $0[0].batchMoments(), weight: $0[1], bias: $0[2], epsilon: 1e-5)
            }
        }
    }

    func testMatmulAndBias() throws {
        for (transposeA, transposeB) in [(false, false), (false, true), (true, false), (true, true)] {
            let a: Shape = transposeA ? [5, 3] : [3, 5]
            let b: Shape = transposeB ? [4, 5] : [5, 4]
            try GradientCheck.check("matmul \(transposeA) \(transposeB)", [random(a), random(b)]) {
                try $0[0].matmul($0[1], transposeSelf: transposeA, transposeOther: transposeB)
            }
            let batchedA = Shape([2] + a.dimensions)
            let batchedB = Shape([2] + b.dimensions)
            try GradientCheck.check("batched matmul \(transposeA) \(transposeB)", [random(batchedA), random(batchedB)]) {
                try $0[0].matmul($0[1], transposeSelf: transposeA, transposeOther: transposeB)
            }
        }
        try GradientCheck.check("bias add", [random([2, 3, 4, 2]), random([3])]) { try $0[0].addingBias($0[1]) }
        try GradientCheck.check("linear", [random([4, 6]), random([3, 6]), random([3])]) {
            try $0[0].linear(weight: $0[1], bias: $0[2])
        }
    }

    func testConvolutions() throws {
        let cases: [(x: Shape, w: Shape, stride: [Int], padding: [Int], dilation: [Int], groups: Int)] = [
            ([2, 3, 7, 6], [4, 3, 3, 2], [1, 1], [0, 0, 0, 0], [1, 1], 1),
            ([1, 4, 9, 8], [6, 2, 3, 3], [2, 1], [1, 0, 2, 1], [1, 2], 2),
            ([2, 3, 6, 7], [3, 1, 3, 3], [1, 2], [1, 1, 1, 1], [2, 1], 3),
            ([1, 1, 5, 5], [2, 1, 1, 1], [3, 3], [0, 0, 0, 0], [1, 1], 1),
        ]
        for c in cases {
            try GradientCheck.check("conv2d \(c)", [random(c.x), random(c.w), random([c.w[0]])]) {
                try $0[0].conv2d(weight: $0[1], bias: $0[2], stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
            }
        }
        try GradientCheck.check("conv transpose 2d", [random([2, 4, 3, 4]), random([4, 3, 3, 3]), random([6])]) {
            try $0[0].convTranspose2d(
                weight: $0[1], bias: $0[2], stride: [2, 2], padding: [1, 1, 1, 1], outputPadding: [1, 0], groups: 2)
        }
    }

    func testPooling() throws {
        // Distinct values so no window has a tie (the max gradient is then differentiable).
        var values = (0..<(2 * 3 * 7 * 6)).map { Double($0) / 50 }
        values.shuffle(using: &generator)
        let x = HostTensor(values, [2, 3, 7, 6])
        try GradientCheck.check("max pool", [x]) {
            try $0[0].maxPool2d(kernel: [3, 2], stride: [2, 1], padding: [1, 0, 1, 1], dilation: [1, 2])
        }
        try GradientCheck.check("max pool course", [x]) { try $0[0].maxPool2d(kernel: [2, 2]) }
        for countPadding in [true, false] {
            try GradientCheck.check("avg pool \(countPadding)", [x]) {
                try $0[0].avgPool2d(kernel: [3, 3], stride: [2, 2], padding: [1, 1, 0, 1], countIncludePadding: countPadding)
            }
        }
        try GradientCheck.check("global avg pool", [x]) { try $0[0].globalAvgPool2d() }
    }

    /// ONNX/PyTorch pooling: padding beyond half the window, ceil mode (7 rows at stride 2 round up to a window
    /// reaching past the padding), dilation in average pooling, both count modes.
    func testPoolingWithCeilModeWidePaddingAndDilation() throws {
        var values = (0..<(2 * 3 * 7 * 6)).map { Double($0) / 50 }
        values.shuffle(using: &generator)
        let x = HostTensor(values, [2, 3, 7, 6])
        try GradientCheck.check("max pool ceil, wide padding", [x]) {
            try $0[0].maxPool2d(kernel: [3, 2], stride: [2, 3], padding: [2, 1, 0, 1], dilation: [1, 2], ceilMode: true)
        }
        for countPadding in [true, false] {
            try GradientCheck.check("avg pool ceil, dilation, wide padding \(countPadding)", [x]) {
                try $0[0].avgPool2d(
                    kernel: [3, 2], stride: [2, 2], padding: [2, 0, 1, 2], dilation: [2, 3], countIncludePadding: countPadding,
                    ceilMode: true)
            }
        }
    }

    func testRecurrentCells() throws {
        let (n, input, hidden) = (3, 4, 5)
        try GradientCheck.check("lstm cell", [random([n, 4 * hidden], in: -2...2), random([n, hidden])]) {
            let (h, c) = try Tensor.lstmCell(z: $0[0], cPrev: $0[1])
            return try Tensor.concatenate([h, c * 0.5], axis: 1)
        }
        let weights = [random([4 * hidden, input]), random([4 * hidden, hidden]), random([4 * hidden]), random([4 * hidden])]
        try GradientCheck.check("lstm two steps", [random([n, input]), random([n, hidden]), random([n, hidden])] + weights) { t in
            let w = RecurrentWeights(weightIH: t[3], weightHH: t[4], biasIH: t[5], biasHH: t[6])
            let first = try Tensor.lstmStep(x: t[0], h: t[1], c: t[2], weights: w)
            let second = try Tensor.lstmStep(x: t[0] * 0.5, h: first.h, c: first.c, weights: w)
            return try second.h + second.c
        }
        let rnnWeights = [random([hidden, input]), random([hidden, hidden]), random([hidden]), random([hidden])]
        try GradientCheck.check("rnn two steps", [random([n, input]), random([n, hidden])] + rnnWeights) { t in
            let w = RecurrentWeights(weightIH: t[2], weightHH: t[3], biasIH: t[4], biasHH: t[5])
            return try Tensor.rnnStep(x: t[0], h: Tensor.rnnStep(x: t[0], h: t[1], weights: w), weights: w)
        }
    }

    func testLosses() throws {
        let labels = try Tensor([2, 0, 4, 1] as [Double], shape: [4], on: GradientCheck.device)
        for reduction in [LossReduction.mean, .sum] {
            try GradientCheck.check("cross entropy \(reduction)", [random([4, 5], in: -3...3)]) {
                try Tensor.softmaxCrossEntropy(logits: $0[0], labels: labels, reduction: reduction)
            }
            try GradientCheck.check("mse \(reduction)", [random([3, 4]), random([3, 4])]) {
                try Tensor.meanSquaredError($0[0], $0[1], reduction: reduction)
            }
            try GradientCheck.check("bce \(reduction)", [random([6], in: -6...6), random([6], in: 0...1)]) {
                try Tensor.binaryCrossEntropy(logits: $0[0], targets: $0[1], reduction: reduction)
            }
        }
        try GradientCheck.check("dropout", [random([4, 6])]) { try $0[0].dropout(probability: 0.3, seed: 11) }
    }

    /// PyTorch's cross-entropy: logits `[N, C, d1, d2]`, class weights (their gradient too: the weighted mean is a
    /// ratio of weighted sums), an ignored label inside the classes and one outside, every reduction.
    func testCrossEntropyWithWeightsIgnoredLabelsAndSpatialAxes() throws {
        let labels = try Tensor(
            labels: [2, 0, 4, 1, 3, 2, 1, 0, 4, 4, 3, 1] as [Int64], shape: [2, 3, 2], classes: 5, on: GradientCheck.device)
        for reduction in [LossReduction.mean, .sum, .none] {
            for ignoreIndex in [nil, 4, -100] {
                try GradientCheck.check(
                    "cross entropy \(reduction), ignoring \(ignoreIndex.map(String.init) ?? "none")",
                    [
                        random([2, 5, 3, 2], in: -3...3), random([5], in: 0.2...2),
                    ]
                ) {
                    try Tensor.softmaxCrossEntropy(
                        logits: $0[0], labels: labels, weights: $0[1], ignoreIndex: ignoreIndex, reduction: reduction)
                }
            }
            try GradientCheck.check("cross entropy \(reduction), spatial, unweighted", [random([2, 5, 3, 2], in: -3...3)]) {
                try Tensor.softmaxCrossEntropy(logits: $0[0], labels: labels, reduction: reduction)
            }
        }
    }
}
