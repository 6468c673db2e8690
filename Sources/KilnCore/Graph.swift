// Graph traversal shared by the executor and autodiff.

enum Graph {
    /// The nodes reachable from `roots` through nodes that satisfy `include`, each after its inputs.
    /// Iterative, so long recurrent graphs do not exhaust the stack.
    static func postorder(from roots: [Node], including include: (Node) -> Bool) -> [Node] {
        var order: [Node] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(node: Node, expanded: Bool)] = roots.reversed().map { ($0, false) }
        while let (node, expanded) = stack.popLast() {
            if expanded {
                order.append(node)
                continue
            }
            guard include(node), visited.insert(ObjectIdentifier(node)).inserted else { continue }
            stack.append((node, true))
            for input in node.inputs.reversed() where !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        return order
    }
}
