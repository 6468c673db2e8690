// Reduce family: sum, mean and max over any set of axes, and softmax / log-softmax along an axis,
// with Kernels/reduce.cl (and movement.cl to bring scattered axes together).
import KilnCore

extension KernelDescription {
    /// reduce.cl: reductions over the middle axis of `[O, R, I]`, and softmax along it.
    static let reduce = KernelDescription(
        file: "reduce.cl", entries: ["reduce_forward", "softmax_forward"], tunables: [], isValid: { _ in true })
}

extension OpenCLBackend {
    /// Work items per group of the reduce kernels; fixed so pocl compiles each kernel once.
    static let reduceLocal = [64]
    /// Below this many outputs a long reduction is split into parts, so that more than a handful of
    /// work items share it (one work item per output would leave most of the device idle).
    static let reduceSplitOutputs = 256
    /// The fewest elements a part of a split reduction sums.
    static let reduceMinimumChunk = 1024

    /// `x` viewed as `[O, R, I]` with `R` the product of `axes`. Axes that are not adjacent (ignoring
    /// size-1 axes between them) are first moved behind the kept ones by a transpose into scratch memory.
    func reduce(_ reduction: Reduction, axes: [Int], _ x: OpenCLOperand, _ out: OpenCLBuffer) throws {
        let dims = x.shape.dimensions
        guard let first = axes.first, let last = axes.last else {
            // Nothing to reduce: every element is its own output.
            try reduce(reduction, x.buffer, out, outer: x.shape.count, reduced: 1, inner: 1)
            return
        }
        let adjacent = (first...last).allSatisfy { axes.contains($0) || dims[$0] == 1 }
        if adjacent {
            try reduce(
                reduction, x.buffer, out, outer: dims[..<first].reduce(1, *), reduced: dims[first...last].reduce(1, *),
                inner: dims[(last + 1)...].reduce(1, *))
            return
        }
        let kept = dims.indices.filter { !axes.contains($0) }
        let gathered = try transposed(x, permutation: kept + axes)
        try reduce(
            reduction, gathered.buffer, out, outer: kept.map { dims[$0] }.reduce(1, *), reduced: axes.map { dims[$0] }.reduce(1, *),
            inner: 1)
    }

    /// `out [O, I]` from `x [O, R, I]`, in one pass, or in two when there are few outputs and `R` is long
    /// (parts of at least `reduceMinimumChunk` elements into `[O, P, I]` scratch, then the parts).
    private func reduce(_ reduction: Reduction, _ x: OpenCLBuffer, _ out: OpenCLBuffer, outer: Int, reduced: Int, inner: Int) throws {
        let kernel = try kernel(KernelDescription.reduce.file, "reduce_forward")
        let maximum = reduction == .max ? 1 : 0
        let divisor = reduction == .mean ? Float(reduced) : 1
        let outputs = outer * inner
        let wantedParts = Swift.min(Self.reduceSplitOutputs / outputs, reduced / Self.reduceMinimumChunk)
        guard wantedParts > 1 else {
            try launch(
                kernel,
                [
                    .buffer(x), .buffer(out), .int(outputs), .int(reduced), .int(inner), .int(1), .int(reduced), .int(maximum),
                    .float(divisor),
                ],
                global: [outputs], preferredLocal: Self.reduceLocal)
            return
        }
        let chunk = (reduced + wantedParts - 1) / wantedParts
        let parts = (reduced + chunk - 1) / chunk
        let partial = try workspace(.partialSums, count: outputs * parts)
        try launch(
            kernel,
            [
                .buffer(x), .buffer(partial), .int(outputs * parts), .int(reduced), .int(inner), .int(parts), .int(chunk), .int(maximum),
                .float(1),
            ],
            global: [outputs * parts], preferredLocal: Self.reduceLocal)
        try launch(
            kernel,
            [
                .buffer(partial), .buffer(out), .int(outputs), .int(parts), .int(inner), .int(1), .int(parts), .int(maximum),
                .float(divisor),
            ],
            global: [outputs], preferredLocal: Self.reduceLocal)
    }

    /// One work item per row along `axis` of `x` seen as `[O, S, I]`.
    func softmax(axis: Int, logarithm: Bool, _ x: OpenCLOperand, _ out: OpenCLBuffer) throws {
        let dims = x.shape.dimensions
        let inner = dims[(axis + 1)...].reduce(1, *)
        let rows = dims[..<axis].reduce(1, *) * inner
        let kernel = try kernel(KernelDescription.reduce.file, "softmax_forward")
        try launch(
            kernel, [.buffer(x.buffer), .buffer(out), .int(rows), .int(dims[axis]), .int(inner), .int(logarithm ? 1 : 0)],
            global: [rows], preferredLocal: Self.reduceLocal)
    }
}
