// Reference reductions: sum, mean and max over axes, and softmax and log-softmax along one axis.

import KilnCore

extension ReferenceBackend {
    /// `x` reduced over `axes`. The output's elements are in the same order whether or not the reduced
    /// axes are kept with size 1, so both layouts share this loop.
    func reduce(_ reduction: Reduction, _ x: [Scalar], _ xShape: Shape, axes: [Int]) -> [Scalar] {
        // The output as a shape of the same rank, with size 1 along each reduced axis.
        var keptDimensions = xShape.dimensions
        for axis in axes { keptDimensions[axis] = 1 }
        let keptShape = Shape(keptDimensions)
        // Reading x's coordinates with these strides gives the output offset: reduced axes contribute 0.
        var strides = keptShape.strides
        for axis in axes { strides[axis] = 0 }

        let reducedCount = axes.map { xShape[$0] }.reduce(1, *)
        let start: Scalar = reduction == .max ? -.infinity : 0
        var output = [Scalar](repeating: start, count: keptShape.count)
        for index in 0..<x.count {
            let target = offset(ofFlatIndex: index, in: xShape, strides: strides)
            switch reduction {
            case .sum, .mean: output[target] += x[index]
            case .max: output[target] = Swift.max(output[target], x[index])
            }
        }
        if reduction == .mean {
            output = output.map { $0 / Scalar(reducedCount) }
        }
        return output
    }

    /// The index of the first maximum of each row along `axis`, as a float. NaN counts as larger than every number,
    /// so the first NaN of a row wins (NumPy's and PyTorch's rule).
    func argMax(_ x: [Scalar], _ xShape: Shape, axis: Int) -> [Scalar] {
        let (outer, size, inner) = split(xShape, at: axis)
        var output = [Scalar](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                // The row along the axis: element j sits at (o * size + j) * inner + i.
                var best = 0
                for j in 1..<size {
                    let (value, current) = (x[(o * size + j) * inner + i], x[(o * size + best) * inner + i])
                    if current.isNaN { break }
                    if value.isNaN || value > current { best = j }
                }
                output[o * inner + i] = Scalar(best)
            }
        }
        return output
    }

    /// Softmax (or, when `logarithmic`, log-softmax) along `axis`, with each row's maximum subtracted
    /// before exponentiating so that large inputs do not overflow.
    func softmax(_ x: [Scalar], _ xShape: Shape, axis: Int, logarithmic: Bool) -> [Scalar] {
        let (outer, size, inner) = split(xShape, at: axis)
        var output = [Scalar](repeating: 0, count: x.count)
        for o in 0..<outer {
            for i in 0..<inner {
                // The row along the axis: element j sits at (o * size + j) * inner + i.
                let row = (0..<size).map { j in (o * size + j) * inner + i }
                let maximum = row.map { x[$0] }.max() ?? 0
                let sum = row.map { Scalar.exponential(x[$0] - maximum) }.reduce(0, +)
                for position in row {
                    let shifted = x[position] - maximum
                    output[position] = logarithmic ? shifted - Scalar.logarithm(sum) : Scalar.exponential(shifted) / sum
                }
            }
        }
        return output
    }
}
