// The batch-norm family: a batch's per-channel moments, the input normalised with given moments, and the pieces of
// their gradients. Channels are axis 1 of x [N, C, ...]; every other axis is reduced, so channel c's values are the
// N runs of S = x[2...] elements at offsets (n · C + c) · S. Each op decomposes into reductions and broadcast
// arithmetic; the fused ones read the input once or twice where the decompositions take six passes or more.

/// The channel layout of `x [N, C, S...]`: channels, values per channel, and the shape `[1, C, 1, ...]` that
/// broadcasts a per-channel value.
private struct Channels {
    let count: Int
    let perChannel: Int
    let spatial: Int
    let broadcastShape: Shape
    let reducedAxes: [Int]

    init(_ x: Shape) {
        count = x[1]
        perChannel = x.count / x[1]
        spatial = x.dimensions.dropFirst(2).reduce(1, *)
        broadcastShape = Shape([1, x[1]] + Array(repeating: 1, count: x.rank - 2))
        reducedAxes = [0] + Array(2..<x.rank)
    }

    /// The channel of flat index `index`.
    func channel(of index: Int) -> Int { (index / spatial) % count }

    /// Row `row` of a `[2, C]` tensor, shaped to broadcast against x.
    func row(_ row: Int, of pair: Tensor) throws -> Tensor {
        try pair.slice(axis: 0, start: row, length: 1).reshaped(broadcastShape)
    }
}

/// What an input after `x` must be: shaped like x, `[2, C]` (moments or sums), or `[C]`.
private enum ChannelInput {
    case likeX, pair, perChannel
}

/// Checks `x [N, C, ...]` and the inputs after it; returns C.
private func checkChannels(_ rule: ShapeRule, _ inputs: [ChannelInput]) throws(ShapeError) -> Int {
    try rule.arity(inputs.count + 1)
    let x = rule.shapes[0]
    try rule.require(x.rank >= 2, "x must be [N, C, ...] (rank 2 or more)")
    for (offset, kind) in inputs.enumerated() {
        let wanted: Shape =
            switch kind {
            case .likeX: x
            case .pair: [2, x[1]]
            case .perChannel: [x[1]]
            }
        try rule.require(rule.shapes[offset + 1] == wanted, "input \(offset + 1) must be \(wanted) for x \(x)")
    }
    return x[1]
}

/// Input `x`: `[2, C]`, each channel's mean and biased variance (deviations from the mean, so that a constant channel
/// has exactly 0).
struct BatchMoments: Decomposable {
    var name: String { "batch_moments" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        [2, try checkChannels(rule, [])]
    }

    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        [try Tensor.apply(.batchMomentsBackward, [inputs[0], output, g])]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (x, layout) = (inputs[0], Channels(shapes[0]))
        var sums = [Scalar](repeating: 0, count: layout.count)
        for (index, value) in x.enumerated() { sums[layout.channel(of: index)] += value }
        let means = sums.map { $0 / Scalar(layout.perChannel) }
        var squares = [Scalar](repeating: 0, count: layout.count)
        for (index, value) in x.enumerated() {
            let channel = layout.channel(of: index)
            squares[channel] += (value - means[channel]) * (value - means[channel])
        }
        return means + squares.map { $0 / Scalar(layout.perChannel) }
    }

    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let x = inputs[0]
        let layout = Channels(x.shape)
        let mean = try x.mean(axes: layout.reducedAxes, keepDimensions: true)
        let deviation = try x - mean
        let variance = try (deviation * deviation).mean(axes: layout.reducedAxes)
        return try Tensor.concatenate([mean.reshaped([1, layout.count]), variance.reshaped([1, layout.count])], axis: 0)
    }
}

/// Inputs `(x, moments, dMoments)`: `dMean / n + 2 (x − mean) dVariance / n`, the gradient of `batchMoments`.
struct BatchMomentsBackward: Decomposable {
    var name: String { "batch_moments_backward" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        _ = try checkChannels(rule, [.pair, .pair])
        return rule.shapes[0]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (x, moments, dMoments, layout) = (inputs[0], inputs[1], inputs[2], Channels(shapes[0]))
        let n = Scalar(layout.perChannel)
        return x.enumerated().map { index, value in
            let c = layout.channel(of: index)
            return dMoments[c] / n + 2 * (value - moments[c]) * dMoments[layout.count + c] / n
        }
    }

    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let (x, moments, dMoments) = (inputs[0], inputs[1], inputs[2])
        let layout = Channels(x.shape)
        let n = Double(layout.perChannel)
        return try (x - layout.row(0, of: moments)) * (layout.row(1, of: dMoments) * (2 / n)) + layout.row(0, of: dMoments) / n
    }
}

/// Inputs `(x, moments, weight, bias)`: `(x − mean) · weight / √(variance + ε) + bias` per channel.
struct BatchNormalize: Decomposable {
    let epsilon: Double

    var name: String { "batch_normalize" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        _ = try checkChannels(rule, [.pair, .perChannel, .perChannel])
        try rule.require(epsilon >= 0, "epsilon \(epsilon) must not be negative")
        return rule.shapes[0]
    }

    /// With `r = 1 / √(variance + ε)` and the sums `Σ g` and `Σ g (x − mean) r` of `batchNormSums`: `dx = g · weight · r`
    /// (the moments' own dependence on x reaches x through `batchMoments`' gradient), `dMean = −weight · r · Σ g`,
    /// `dVariance = −½ · weight · r² · Σ g (x − mean) r`, `dWeight = Σ g (x − mean) r` and `dBias = Σ g`.
    func gradients(inputs: [Tensor], output: Tensor, gradient g: Tensor) throws -> [Tensor?] {
        let (x, moments, weight) = (inputs[0], inputs[1], inputs[2])
        let layout = Channels(x.shape)
        let c = layout.count
        let r = try 1 / (moments.slice(axis: 0, start: 1, length: 1).reshaped([c]) + epsilon).sqrt()
        let sums = try Tensor.apply(.batchNormSums(epsilon: epsilon), [x, moments, g])
        let gradientSum = try sums.slice(axis: 0, start: 0, length: 1).reshaped([c])
        let productSum = try sums.slice(axis: 0, start: 1, length: 1).reshaped([c])
        let scale = try weight * r
        let dMean = try -(gradientSum * scale)
        let dVariance = try productSum * scale * r * -0.5
        let dMoments = try Tensor.concatenate([dMean.reshaped([1, c]), dVariance.reshaped([1, c])], axis: 0)
        return [try g * scale.reshaped(layout.broadcastShape), dMoments, productSum, gradientSum]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (x, moments, weight, bias, layout) = (inputs[0], inputs[1], inputs[2], inputs[3], Channels(shapes[0]))
        return x.enumerated().map { index, value in
            let c = layout.channel(of: index)
            return (value - moments[c]) * weight[c] / (moments[layout.count + c] + Scalar(epsilon)).squareRoot() + bias[c]
        }
    }

    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let (x, moments, weight, bias) = (inputs[0], inputs[1], inputs[2], inputs[3])
        let layout = Channels(x.shape)
        let scale = try weight.reshaped(layout.broadcastShape) / (layout.row(1, of: moments) + epsilon).sqrt()
        return try (x - layout.row(0, of: moments)) * scale + bias.reshaped(layout.broadcastShape)
    }
}

/// Inputs `(x, moments, dy)`: `[2, C]`, each channel's `Σ dy` and `Σ dy · (x − mean) / √(variance + ε)`.
struct BatchNormSums: Decomposable {
    let epsilon: Double

    var name: String { "batch_norm_sums" }

    func outputShape(_ rule: ShapeRule) throws(ShapeError) -> Shape {
        let channels = try checkChannels(rule, [.pair, .likeX])
        try rule.require(epsilon >= 0, "epsilon \(epsilon) must not be negative")
        return [2, channels]
    }

    func evaluate<Scalar: ReferenceScalar>(_ inputs: [[Scalar]], _ shapes: [Shape], output: Shape) throws -> [Scalar] {
        let (x, moments, dy, layout) = (inputs[0], inputs[1], inputs[2], Channels(shapes[0]))
        var sums = [Scalar](repeating: 0, count: 2 * layout.count)
        for index in x.indices {
            let c = layout.channel(of: index)
            sums[c] += dy[index]
            sums[layout.count + c] += dy[index] * (x[index] - moments[c])
        }
        for c in 0..<layout.count { sums[layout.count + c] /= (moments[layout.count + c] + Scalar(epsilon)).squareRoot() }
        return sums
    }

    func decomposition(of inputs: [Tensor]) throws -> Tensor {
        let (x, moments, dy) = (inputs[0], inputs[1], inputs[2])
        let layout = Channels(x.shape)
        let gradientSum = try dy.sum(axes: layout.reducedAxes)
        let r = try 1 / (moments.slice(axis: 0, start: 1, length: 1).reshaped([layout.count]) + epsilon).sqrt()
        let productSum = try (dy * (x - layout.row(0, of: moments))).sum(axes: layout.reducedAxes) * r
        return try Tensor.concatenate([gradientSum.reshaped([1, layout.count]), productSum.reshaped([1, layout.count])], axis: 0)
    }
}
