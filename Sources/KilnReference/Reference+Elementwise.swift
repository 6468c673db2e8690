// Reference elementwise ops: fill, unary functions and their gradients, broadcasting binary functions,
// one-hot encoding and dropout masks.

import KilnCore

extension ReferenceBackend {
    func fill(_ value: Double, count: Int) -> [Scalar] {
        [Scalar](repeating: Scalar(value), count: count)
    }

    /// Element `i` is `0` when `DropoutHash.bits(seed:index: i)` is below the probability's threshold, else
    /// `1 / (1 - probability)`, so the kept elements keep their expected value.
    func dropoutMask(probability: Double, seed: UInt64, count: Int) -> [Scalar] {
        let kept = Scalar(1 / (1 - probability))
        let threshold = DropoutHash.threshold(probability: probability)
        return (0..<count).map { index in
            DropoutHash.bits(seed: seed, index: index) < threshold ? 0 : kept
        }
    }

    func unary(_ function: UnaryFunction, _ x: [Scalar]) -> [Scalar] {
        x.map { apply(function, $0) }
    }

    /// `dy * f'(x)`, element by element.
    func unaryGradient(_ function: UnaryFunction, x: [Scalar], dy: [Scalar]) -> [Scalar] {
        zip(x, dy).map { x, dy in dy * derivative(function, x) }
    }

    /// `f(a, b)` with `a` and `b` broadcast to `outputShape` (NumPy rules).
    func binary(
        _ function: BinaryFunction, _ a: [Scalar], _ aShape: Shape, _ b: [Scalar], _ bShape: Shape, outputShape: Shape
    ) -> [Scalar] {
        // A broadcast axis has stride 0, so every output coordinate along it reads the same element.
        let aStrides = aShape.broadcastStrides(to: outputShape)
        let bStrides = bShape.broadcastStrides(to: outputShape)
        return (0..<outputShape.count).map { index in
            let left = a[offset(ofFlatIndex: index, in: outputShape, strides: aStrides)]
            let right = b[offset(ofFlatIndex: index, in: outputShape, strides: bStrides)]
            return apply(function, left, right)
        }
    }

    /// Row `n` is all zeros except a one in column `labels[n]`; a label that is not a whole number in
    /// `0..<classes` (including NaN) gives a row of zeros.
    func oneHot(labels: [Scalar], classes: Int) -> [Scalar] {
        var output = [Scalar](repeating: 0, count: labels.count * classes)
        for (row, label) in labels.enumerated() {
            guard label >= 0, label < Scalar(classes), label == label.rounded(.towardZero) else { continue }
            output[row * classes + Int(label)] = 1
        }
        return output
    }

    func apply(_ function: UnaryFunction, _ x: Scalar) -> Scalar {
        switch function {
        case .negate: -x
        case .exp: Scalar.exponential(x)
        case .log: Scalar.logarithm(x)
        case .sqrt: x.squareRoot()
        case .abs: Swift.abs(x)
        case .relu: x > 0 ? x : 0
        case .leakyRelu(let slope): x > 0 ? x : Scalar(slope) * x
        case .sigmoid: Scalar.sigmoid(x)
        case .tanh: Scalar.hyperbolicTangent(x)
        case .softplus: Scalar.softplus(x)
        }
    }

    /// `f'(x)`. At the kinks the design fixes `abs'(0) = 0`, `relu'(0) = 0` and `leakyRelu'(0) = slope`.
    func derivative(_ function: UnaryFunction, _ x: Scalar) -> Scalar {
        switch function {
        case .negate:
            return -1
        case .exp:
            return Scalar.exponential(x)
        case .log:
            return 1 / x
        case .sqrt:
            return 0.5 / x.squareRoot()
        case .abs:
            return x > 0 ? 1 : (x < 0 ? -1 : 0)
        case .relu:
            return x > 0 ? 1 : 0
        case .leakyRelu(let slope):
            return x > 0 ? 1 : Scalar(slope)
        case .sigmoid:
            let s = Scalar.sigmoid(x)
            return s * (1 - s)
        case .tanh:
            let t = Scalar.hyperbolicTangent(x)
            return 1 - t * t
        case .softplus:
            return Scalar.sigmoid(x)
        }
    }

    func apply(_ function: BinaryFunction, _ a: Scalar, _ b: Scalar) -> Scalar {
        switch function {
        case .add: a + b
        case .subtract: a - b
        case .multiply: a * b
        case .divide: a / b
        case .power: Scalar.power(a, b)
        case .maximum: Swift.max(a, b)
        case .minimum: Swift.min(a, b)
        case .equal: a == b ? 1 : 0
        case .greater: a > b ? 1 : 0
        }
    }

    /// The storage offset of the element at row-major position `index` of `shape`, for a tensor read with
    /// `strides` (which may be 0 along broadcast axes or permuted for a transpose).
    func offset(ofFlatIndex index: Int, in shape: Shape, strides: [Int]) -> Int {
        var remainder = index
        var offset = 0
        // Peel coordinates off from the last (fastest-varying) axis to the first.
        for axis in stride(from: shape.rank - 1, through: 0, by: -1) {
            let coordinate = remainder % shape[axis]
            remainder /= shape[axis]
            offset += coordinate * strides[axis]
        }
        return offset
    }
}
