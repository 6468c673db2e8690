// Executor: lowers the unevaluated nodes behind the requested outputs for their backends, orders them, runs each on
// its backend, and frees an intermediate buffer as soon as its last reader has run.

enum Executor {
    /// Evaluates `targets`, leaving their storage on the nodes.
    static func evaluate(_ targets: [Node]) throws {
        let lowering = try Lowering(roots: targets, keeping: { $0.storage != nil })
        let loweredTargets = targets.map { lowering[$0] }
        try run(loweredTargets)
        for (target, lowered) in zip(targets, loweredTargets) where target !== lowered { target.storage = lowered.storage }
    }

    /// Runs the graph behind `targets`, every op of which their backends implement.
    private static func run(_ targets: [Node]) throws {
        let order = Graph.postorder(from: targets) { $0.storage == nil }
        if order.isEmpty { return }
        let targetIDs = Set(targets.map(ObjectIdentifier.init))
        let computedHere = Set(order.map(ObjectIdentifier.init))
        // How many nodes of this evaluation still have to read each node.
        var pendingReaders: [ObjectIdentifier: Int] = [:]
        for node in order {
            for input in node.inputs { pendingReaders[ObjectIdentifier(input), default: 0] += 1 }
        }
        for node in order {
            let operands = node.inputs.map { input in
                guard let storage = input.storage else { preconditionFailure("[executor] input evaluated out of order") }
                return Operand(storage: storage, shape: input.shape)
            }
            if case .reshape = node.op {
                // A reshape shares its input's storage: same elements, same order.
                node.storage = operands[0].storage
            } else {
                let output = try node.device.backend.allocate(count: node.shape.count)
                try node.device.backend.execute(node.op, inputs: operands, output: output, outputShape: node.shape)
                node.storage = output
            }
            for input in node.inputs {
                let id = ObjectIdentifier(input)
                pendingReaders[id, default: 0] -= 1
                if pendingReaders[id] == 0, computedHere.contains(id), !targetIDs.contains(id) {
                    input.storage = nil
                }
            }
        }
    }
}
