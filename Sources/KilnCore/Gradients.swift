// Reverse-mode autodiff: walks the graph from a scalar loss back to the requested tensors, calling each
// op's vector-Jacobian product and adding the results into the same lazy graph.

/// The gradients of `loss` (one element) with respect to each of `parameters`. The result tensors are
/// lazy; evaluate them together with the loss to share the forward work.
public func gradients(of loss: Tensor, withRespectTo parameters: [Tensor]) throws -> [Tensor] {
    guard loss.shape.count == 1 else { throw TensorError.nonScalarLoss(loss.shape) }
    let order = Graph.postorder(from: [loss.node]) { _ in true }
    // Only nodes that depend on some parameter need a gradient.
    var needsGradient = Set(parameters.map { ObjectIdentifier($0.node) })
    for node in order where node.inputs.contains(where: { needsGradient.contains(ObjectIdentifier($0)) }) {
        needsGradient.insert(ObjectIdentifier(node))
    }
    var accumulated: [ObjectIdentifier: Tensor] = [ObjectIdentifier(loss.node): try Tensor.ones(loss.shape, on: loss.device)]
    for node in order.reversed() {
        guard let g = accumulated[ObjectIdentifier(node)], !node.inputs.isEmpty,
            node.inputs.contains(where: { needsGradient.contains(ObjectIdentifier($0)) })
        else { continue }
        let inputs = node.inputs.map(Tensor.init(node:))
        let inputGradients = try node.op.vectorJacobianProduct(inputs: inputs, output: Tensor(node: node), gradient: g)
        for (input, gradient) in zip(node.inputs, inputGradients) {
            let id = ObjectIdentifier(input)
            guard let gradient, needsGradient.contains(id) else { continue }
            accumulated[id] = try accumulated[id].map { try $0 + gradient } ?? gradient
        }
    }
    return try parameters.map { parameter in
        try accumulated[ObjectIdentifier(parameter.node)] ?? Tensor.zeros(parameter.shape, on: parameter.device)
    }
}
