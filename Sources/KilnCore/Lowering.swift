// Lowering: the graph a backend runs. Every op the node's backend does not implement is replaced by its decomposition,
// recursively, until every op is one the backend implements; nodes whose ops it implements are kept (rebuilt only
// when an input was replaced), so a backend that implements everything runs the graph exactly as built.

/// The lowered counterpart of each node of a graph.
struct Lowering {
    /// A node as a dictionary key. It holds the node, so the key's identity cannot be reused by a later node while the
    /// lowering lives (a decomposition's intermediate nodes would otherwise be freed once lowered).
    private struct Key: Hashable {
        let node: Node
        init(_ node: Node) { self.node = node }
        static func == (a: Key, b: Key) -> Bool { a.node === b.node }
        func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(node)) }
    }

    private var replacements: [Key: Node] = [:]
    /// Nodes already in lowered form: kept originals, replacements, and the nodes decompositions were built on.
    private var lowered = Set<Key>()

    /// Lowers the graph behind `roots`. Nodes for which `isLeaf` holds (values computed earlier) are kept as they are,
    /// and so is everything behind them.
    init(roots: [Node], keeping isLeaf: (Node) -> Bool) throws {
        for node in Graph.postorder(from: roots, including: { !isLeaf($0) }) { try lower(node) }
    }

    /// The node that computes `node`'s value in the lowered graph.
    subscript(node: Node) -> Node { replacements[Key(node)] ?? node }

    /// Lowers `node`, whose inputs are already lowered.
    private mutating func lower(_ node: Node) throws {
        defer { lowered.insert(Key(self[node])) }
        let inputs = node.inputs.map { self[$0] }
        switch node.op {
        case .data, .reshape:
            // Data leaves hold values; a reshape shares its input's storage and never reaches a backend.
            break
        case let op where node.device.backend.implements(op):
            break
        case let op:
            guard let decomposed = try op.decomposition(of: inputs.map(Tensor.init(node:))) else {
                throw TensorError.unsupported(op: op.name, backend: node.device.backend.name)
            }
            guard decomposed.shape == node.shape else {
                throw ShapeError(op: op.name, "its decomposition gives \(decomposed.shape), not \(node.shape)", shapes: inputs.map(\.shape))
            }
            // The decomposition's own nodes may need lowering too; the inputs it was built on are lowered already.
            for part in Graph.postorder(from: [decomposed.node], including: { !lowered.contains(Key($0)) }) {
                try lower(part)
            }
            replacements[Key(node)] = self[decomposed.node]
            return
        }
        if zip(inputs, node.inputs).contains(where: { $0 !== $1 }) {
            replacements[Key(node)] = Node(op: node.op, inputs: inputs, shape: node.shape, device: node.device)
        }
    }
}
