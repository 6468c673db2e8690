// Movement family: broadcast, transpose, slice, pad and concatenate as strided copies with
// Kernels/movement.cl, and `StridedLayout`, the merged 6-axis view that strided kernels receive.
import KilnCore

extension KernelDescription {
    /// movement.cl: one strided copy (`move_copy`) for every movement op, and the row fast paths of
    /// broadcast (`move_fill_rows`, `move_copy_rows`).
    static let movement = KernelDescription(
        file: "movement.cl", entries: ["move_copy", "move_fill_rows", "move_copy_rows", "move_copy_range"], tunables: [],
        isValid: { _ in true })
}

/// A box of coordinates that several operands walk together, each with its own element strides, as the
/// strided kernels (`move_copy`, `binary_forward_broadcast`) take it: at most `maximumRank` axes.
struct StridedLayout: Equatable {
    /// The rank the kernels are written for.
    static let maximumRank = 6

    var dimensions: [Int]
    /// One array of strides per operand, each as long as `dimensions`.
    var strides: [[Int]]

    /// The same walk with size-1 axes dropped and each axis merged into the next one wherever every
    /// operand steps over the pair as one axis (`stride[k] == stride[k + 1] * dimensions[k + 1]`):
    /// fewer axes means less index arithmetic, and ranks above 6 usually merge down to 6.
    func merged() -> StridedLayout {
        var dimensions: [Int] = []
        var strides = [[Int]](repeating: [], count: self.strides.count)
        for axis in self.dimensions.indices where self.dimensions[axis] != 1 {
            let size = self.dimensions[axis]
            if let last = dimensions.indices.last,
                self.strides.indices.allSatisfy({ strides[$0][last] == self.strides[$0][axis] * size })
            {
                // The previous axis steps exactly over this one: fold this one into it.
                dimensions[last] *= size
                for operand in strides.indices { strides[operand][last] = self.strides[operand][axis] }
            } else {
                dimensions.append(size)
                for operand in strides.indices { strides[operand].append(self.strides[operand][axis]) }
            }
        }
        return StridedLayout(dimensions: dimensions, strides: strides)
    }

    /// The kernel arguments of the merged layout: the 6 dimensions, then each operand's 6 strides,
    /// padded at the front with size-1 axes (stride 0).
    func arguments(kernel name: String) throws -> [KernelArgument] {
        let layout = merged()
        let rank = layout.dimensions.count
        guard rank <= Self.maximumRank else {
            throw OpenCLError.invalidLaunch(
                kernel: name,
                reason: "the strided walk \(dimensions) still has \(rank) axes after merging; the kernel takes at most \(Self.maximumRank)")
        }
        let padding = Self.maximumRank - rank
        var arguments = (Array(repeating: 1, count: padding) + layout.dimensions).map(KernelArgument.int)
        for operandStrides in layout.strides {
            arguments += (Array(repeating: 0, count: padding) + operandStrides).map(KernelArgument.int)
        }
        return arguments
    }
}

extension OpenCLBackend {
    /// Work items per group of the movement kernels; fixed so pocl compiles each kernel once.
    static let movementLocal = [64]

    /// Elements per work item of `move_fill_rows` and `move_copy_rows` (the run along a row).
    static let movementRunLength = 128

    /// The row view of a broadcast from `source` to `target` (contiguous output): after merging, x's
    /// strides are (0, 1, 0) over [O, C, I], (1, 0) over [C, I] or (0) over [I] (a value per row of I
    /// elements, `channels` = C, or 1 for a scalar source: `move_fill_rows`), or (0, 1) over [M, K] or (1)
    /// over [K] (a row of K copied into every row: `channels` = nil, `move_copy_rows`). nil for any other
    /// pattern, and for an empty or one-element output, which `move_copy` takes.
    static func broadcastRows(from source: Shape, to target: Shape) -> (channels: Int?, inner: Int)? {
        guard target.count > 1 else { return nil }
        let merged = StridedLayout(dimensions: target.dimensions, strides: [source.broadcastStrides(to: target), target.strides])
            .merged()
        let dimensions = merged.dimensions
        switch merged.strides[0] {
        case [0, 1, 0]: return (dimensions[1], dimensions[2])
        case [1, 0]: return (dimensions[0], dimensions[1])
        case [0]: return (1, dimensions[0])
        case [0, 1]: return (nil, dimensions[1])
        case [1]: return (nil, dimensions[0])
        default: return nil
        }
    }

    /// The kernel `broadcast` from `source` to `target` runs: a row fast path where `broadcastRows`
    /// matches, else `move_copy`.
    static func broadcastEntry(from source: Shape, to target: Shape) -> String {
        guard let pattern = broadcastRows(from: source, to: target) else { return "move_copy" }
        return pattern.channels == nil ? "move_copy_rows" : "move_fill_rows"
    }

    func move(_ op: Op, _ inputs: [OpenCLOperand], _ out: OpenCLBuffer, _ outShape: Shape) throws {
        let outStrides = outShape.strides
        switch op {
        case .broadcast:
            let x = inputs[0]
            if let pattern = Self.broadcastRows(from: x.shape, to: outShape) {
                // One work item per run of up to `movementRunLength` elements of a row.
                let run = Self.movementRunLength
                let chunks = (pattern.inner + run - 1) / run
                let rows = outShape.count / pattern.inner
                let entry = pattern.channels == nil ? "move_copy_rows" : "move_fill_rows"
                var arguments: [KernelArgument] = [.buffer(x.buffer), .buffer(out), .int(rows)]
                if let channels = pattern.channels { arguments.append(.int(channels)) }
                arguments += [.int(pattern.inner), .int(chunks), .int(run)]
                try launch(
                    try kernel(KernelDescription.movement.file, entry), arguments, global: [rows * chunks],
                    preferredLocal: Self.movementLocal)
                return
            }
            try copy(x.buffer, out, box: outShape, xStrides: x.shape.broadcastStrides(to: outShape), outStrides: outStrides)
        case .transpose(let permutation):
            let x = inputs[0]
            let rank = x.shape.rank
            if rank >= 2, permutation == Array(0..<rank - 2) + [rank - 1, rank - 2] {
                // The last two axes swapped (a matrix, or a batch of them): gemm.cl's tiled transpose.
                let (rows, columns) = (x.shape[rank - 2], x.shape[rank - 1])
                try transpose(x.buffer, rows: rows, columns: columns, batch: x.shape.count / max(1, rows * columns), into: out)
                return
            }
            // Walking output axis k moves along input axis permutation[k].
            let inputStrides = x.shape.strides
            try copy(x.buffer, out, box: outShape, xStrides: permutation.map { inputStrides[$0] }, outStrides: outStrides)
        case .slice(let axis, let start, _):
            let x = inputs[0]
            let xStrides = x.shape.strides
            try copy(x.buffer, out, box: outShape, xOffset: start * xStrides[axis], xStrides: xStrides, outStrides: outStrides)
        case .pad(let axis, let before, _):
            // Zero everything, then write x into the window that starts `before` elements along the axis.
            let x = inputs[0]
            try zero(out, count: outShape.count)
            try copy(
                x.buffer, out, box: x.shape, xStrides: x.shape.strides, outOffset: before * outStrides[axis], outStrides: outStrides)
        case .concatenate(let axis):
            // Each input fills the window that starts where the previous one ended along the axis.
            var position = 0
            for x in inputs {
                try copy(
                    x.buffer, out, box: x.shape, xStrides: x.shape.strides, outOffset: position * outStrides[axis],
                    outStrides: outStrides)
                position += x.shape[axis]
            }
        default:
            throw OpenCLError.invalidLaunch(kernel: op.name, reason: "\(op.name) is not a movement op")
        }
    }

    /// `out[outOffset + c · outStrides] = x[xOffset + c · xStrides]` for every coordinate `c` of `box`.
    func copy(
        _ x: OpenCLBuffer, _ out: OpenCLBuffer, box: Shape, xOffset: Int = 0, xStrides: [Int], outOffset: Int = 0,
        outStrides: [Int]
    ) throws {
        let entry = "move_copy"
        let layout = StridedLayout(dimensions: box.dimensions, strides: [xStrides, outStrides])
        let merged = layout.merged()
        if merged.dimensions.count <= 1, merged.strides.allSatisfy({ ($0.first ?? 1) == 1 }) {
            // One contiguous run in both buffers (a slice or pad along the first axis, a concatenation of
            // whole blocks): a buffer copy, without move_copy's five divisions per element (about 40x slower
            // for the LSTM's 2 MB slices on pocl).
            try enqueueCopy(x, offset: xOffset, to: out, offset: outOffset, count: box.count)
            return
        }
        let copy = try kernel(KernelDescription.movement.file, entry)
        try launch(
            copy,
            [.buffer(x), .buffer(out), .int(box.count), .int(xOffset), .int(outOffset)] + layout.arguments(kernel: entry),
            global: [box.count], preferredLocal: Self.movementLocal)
    }
}
