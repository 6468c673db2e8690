// Reduce family: sum, mean and max over any set of axes, and softmax / log-softmax along an axis,
// with Kernels/reduce.cl.
import KilnCore

extension KernelDescription {
    /// reduce.cl: reductions over the middle axis of `[O, R, I]` (over contiguous rows when `I = 1`), and
    /// softmax along an axis.
    static let reduce = KernelDescription(
        file: "reduce.cl", entries: ["reduce_forward", "reduce_rows", "softmax_forward"],
        tunables: [KernelTunable(name: "REDUCE_WIDTH", defaultValue: 8, candidates: [4, 8, 16])],
        isValid: { values in values["REDUCE_WIDTH"].map { [4, 8, 16].contains($0) } ?? false })
}

extension OpenCLBackend {
    /// Work items per group of the reduce kernels; fixed so pocl compiles each kernel once.
    static let reduceLocal = [64]
    /// Below this many outputs a long reduction is split into parts, so that more than a handful of
    /// work items share it (one work item per output would leave most of the device idle).
    static let reduceSplitOutputs = 256
    /// The fewest elements a part of a split reduction sums.
    static let reduceMinimumChunk = 1024

    /// `x` reduced over `axes`. Size-1 axes are dropped and neighbouring axes of the same kind merged, so
    /// `x` is a row of alternating kept and reduced runs; each pass reduces the last reduced run, seen as
    /// `[O, R, I]` with only kept axes in `I`, into scratch memory (the last pass into `out`), and then
    /// merges the kept runs on either side of it. `[N, C, H, W]` over `[0, 2, 3]` takes two passes:
    /// rows of `H*W` (`[N, C]` left), then `N` with `I = C`. No pass moves data without reducing it.
    func reduce(_ reduction: Reduction, axes: [Int], _ x: OpenCLOperand, _ out: OpenCLBuffer) throws {
        var runs: [(size: Int, reduced: Bool)] = []
        for (axis, size) in x.shape.dimensions.enumerated() where size != 1 {
            let reduced = axes.contains(axis)
            if let last = runs.last, last.reduced == reduced {
                runs[runs.count - 1].size *= size
            } else {
                runs.append((size, reduced))
            }
        }
        let divisor = reduction == .mean ? Float(axes.map { x.shape[$0] }.reduce(1, *)) : 1
        var source = x.buffer
        var stage = 0
        while let last = runs.lastIndex(where: { $0.reduced }) {
            let outer = runs[..<last].map(\.size).reduce(1, *)
            let inner = runs[(last + 1)...].map(\.size).reduce(1, *)
            let final = !runs[..<last].contains { $0.reduced }
            let target = final ? out : try workspace(stage % 2 == 0 ? .reducedStage : .reducedStageAlternate, count: outer * inner)
            try reduce(reduction, source, target, outer: outer, reduced: runs[last].size, inner: inner, divisor: final ? divisor : 1)
            // The kept runs on either side of the reduced one are now adjacent: merge them.
            runs.remove(at: last)
            if last > 0, last < runs.count {
                runs[last - 1].size *= runs[last].size
                runs.remove(at: last)
            }
            source = target
            stage += 1
        }
        if stage == 0 {
            // Nothing to reduce (no axes, or only size-1 axes): every element is its own output.
            try reduce(reduction, x.buffer, out, outer: x.shape.count, reduced: 1, inner: 1, divisor: 1)
        }
    }

    /// The parts `reduce` splits a reduction of `reduced` elements into each of `outputs` outputs: more than 1 when
    /// there are fewer outputs than `reduceSplitOutputs` and each sums at least twice `reduceMinimumChunk` elements.
    static func reduceParts(outputs: Int, reduced: Int) -> Int {
        Swift.min(reduceSplitOutputs / outputs, reduced / reduceMinimumChunk)
    }

    /// Whether `reduce` sums `reduced` rows of `outputs` adjacent outputs (`[R, I]` over R) in one `reduce_forward`
    /// pass, whose Kahan chains `update_sgd_multi` also sums a gradient's rows with (`KILN_KAHAN_SUM_ROWS`): one
    /// output takes `reduce_rows`, and few outputs with long rows split into parts.
    static func reducesRowsInOnePass(outputs: Int, reduced: Int) -> Bool {
        outputs > 1 && reduceParts(outputs: outputs, reduced: reduced) <= 1
    }

    /// `out [O, I]` from `x [O, R, I]`, in one pass, or in two when there are few outputs and `R` is long
    /// (parts of at least `reduceMinimumChunk` elements into `[O, P, I]` scratch, then the parts).
    /// `I = 1` takes `reduce_rows`, which reads each row with vector loads; otherwise `reduce_forward` reads blocks of
    /// adjacent outputs' columns as vectors.
    func reduce(
        _ reduction: Reduction, _ x: OpenCLBuffer, _ out: OpenCLBuffer, outer: Int, reduced: Int, inner: Int, divisor: Float
    ) throws {
        let description = KernelDescription.reduce
        let maximum = reduction == .max ? 1 : 0
        let outputs = outer * inner
        let wantedParts = Self.reduceParts(outputs: outputs, reduced: reduced)
        let defines = tunedDefines(description)
        let width = defines.first { $0.0 == "REDUCE_WIDTH" }?.1 ?? 1
        // Parts start on whole vectors, so a row that starts aligned stays aligned.
        let chunk = wantedParts > 1 ? ((reduced + wantedParts - 1) / wantedParts + width - 1) / width * width : reduced
        let parts = (reduced + chunk - 1) / chunk
        let partial = parts > 1 ? try workspace(.partialSums, count: outputs * parts) : out
        if inner == 1 {
            let rows = try kernel(description.file, "reduce_rows", defines: defines)
            try launch(
                rows,
                [
                    .buffer(x), .buffer(partial), .int(outputs * parts), .int(reduced), .int(parts), .int(chunk), .int(maximum),
                    .float(parts > 1 ? 1 : divisor),
                ],
                global: [outputs * parts], preferredLocal: Self.reduceLocal)
        } else {
            // A work item per part and block of `width` adjacent outputs.
            let items = outer * parts * ((inner + width - 1) / width)
            let forward = try kernel(description.file, "reduce_forward", defines: defines)
            try launch(
                forward,
                [
                    .buffer(x), .buffer(partial), .int(items), .int(reduced), .int(inner), .int(parts), .int(chunk),
                    .int(maximum), .float(parts > 1 ? 1 : divisor),
                ],
                global: [items], preferredLocal: Self.reduceLocal)
        }
        guard parts > 1 else { return }
        try reduce(reduction, partial, out, outer: outer, reduced: parts, inner: inner, divisor: divisor)
    }

    /// One work item per row along `axis` of `x` seen as `[O, S, I]`.
    func softmax(axis: Int, logarithm: Bool, _ x: OpenCLOperand, _ out: OpenCLBuffer) throws {
        let dims = x.shape.dimensions
        let inner = dims[(axis + 1)...].reduce(1, *)
        let rows = dims[..<axis].reduce(1, *) * inner
        let kernel = try kernel(KernelDescription.reduce.file, "softmax_forward", defines: tunedDefines(.reduce))
        try launch(
            kernel, [.buffer(x.buffer), .buffer(out), .int(rows), .int(dims[axis]), .int(inner), .int(logarithm ? 1 : 0)],
            global: [rows], preferredLocal: Self.reduceLocal)
    }
}
