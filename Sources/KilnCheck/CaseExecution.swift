// CaseExecution: computing a case's outputs on a backend (an op executed directly, a graph through the
// executor) and its expected values on the reference backend in Double.
import KilnCore
import KilnReference

extension OpCase {
    /// The case's outputs on `backend`, concatenated in order: an op the backend implements is executed by it
    /// directly (no graph, so no fusion and nothing else in between); an op it does not implement, and a graph, are
    /// evaluated by the executor, which lowers unimplemented ops through their decompositions.
    public func evaluate(_ inputs: [HostTensor], on backend: any Backend) throws -> [Double] {
        if case .op(let op) = computation, backend.implements(op) { return try ReferenceRun.execute(op, inputs, on: backend).values }
        let device = Device(backend)
        let tensors = try inputs.map { try Tensor($0.values, shape: $0.shape, on: device) }
        let outputs: [Tensor] =
            switch computation {
            case .op(let op): [try Tensor.apply(op, tensors, on: device)]
            case .graph(let build): try build(tensors)
            }
        try Tensor.evaluate(outputs)
        return try outputs.flatMap { try $0.doubles() }
    }

    /// The case checked in this one's place: a smaller one where the expectation says so, else this one.
    public var checkedCase: OpCase {
        if case .smallerCase(let smaller) = expectation { return smaller.checkedCase }
        return self
    }

    /// The expected values for `inputs` on the reference backend in Double: every output (`indices` nil), or the
    /// sampled ones with their positions. A case that checks a smaller case in its place has none of its own.
    public func expectedValues(_ inputs: [HostTensor]) throws -> (values: [Double], indices: [Int]?)? {
        switch expectation {
        case .reference:
            return (try evaluate(inputs, on: ReferenceBackend<Double>()), nil)
        case .sampled(let sample):
            let sampled = try sample(inputs)
            return (sampled.values, sampled.indices)
        case .smallerCase:
            return nil
        }
    }

    /// The values of `outputs` the expected values are compared with: all of them, or those at `indices`.
    public static func picked(_ outputs: [Double], at indices: [Int]?) throws -> [Double] {
        guard let indices else { return outputs }
        if let beyond = indices.first(where: { $0 < 0 || $0 >= outputs.count }) {
            throw CheckError.badCase("the outputs have \(outputs.count) values; the reference samples position \(beyond)")
        }
        return indices.map { outputs[$0] }
    }
}

/// One op run on the host, the way a kernel test runs it.
public enum ReferenceRun {
    /// Runs `op` on `inputs` with `backend` (the reference in Double unless told otherwise) and reads the output.
    public static func execute(_ op: Op, _ inputs: [HostTensor], on backend: any Backend = ReferenceBackend<Double>()) throws -> HostTensor
    {
        let operands = try inputs.map { input in
            let storage = try backend.allocate(count: input.shape.count)
            try backend.write(input.values, to: storage)
            return Operand(storage: storage, shape: input.shape)
        }
        let shape = try op.outputShape(for: inputs.map(\.shape))
        let output = try backend.allocate(count: shape.count)
        try backend.execute(op, inputs: operands, output: output, outputShape: shape)
        try backend.synchronize()
        return HostTensor(try backend.readDoubles(output), shape)
    }
}
