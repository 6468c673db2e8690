// Fusion: the plan's rewrite that merges elementwise epilogues into the kernel producing their input:
// a matmul followed by a bias add becomes one `linear` launch, a convolution followed by an activation one
// `fusedConv2d` launch, a matmul followed by the gradient of an activation one `linearGradient` launch (a dense
// layer's input gradient times the derivative of the activation before it), and an activation joins a matmul and bias add when
// nothing else reads the value before the activation (ReLU's gradient reads ReLU's output, so in training
// too; the gradients of the other activations read their input, so those fuse in evaluation only). It fuses only
// into ops the backend implements. A gradient summed over its first axis (a bias's gradient, the sum of the batch's
// rows) that only SGD updates read is summed by those updates instead (`UpdateRule`: the gradient may carry rows),
// which a plan runs together at the end, many tensors per launch (`Backend.executeUpdates`): one launch for every
// bias rather than a reduction each. Adam's two moments would each sum the rows, so its gradients stay reduced once.

/// The nodes a plan runs after fusion, and which original nodes now name a fused node's output.
struct Fusion {
    /// Nodes to run, in order: originals, and fused nodes in place of the chains they replace.
    var nodes: [Node] = []
    /// Original nodes whose value a fused node now produces (the bias add and the activation).
    var replaced: [ObjectIdentifier: Node] = [:]
    /// What was merged, for the plan's report.
    var descriptions: [String] = []

    /// Fuses within `computed` (the nodes a plan runs, in order) into the fused ops `backend` implements; `roots` are
    /// read after the run, so their values must stay.
    init(computed: [Node], roots: [Node], backend: any Backend) {
        var readers: [ObjectIdentifier: Int] = [:]
        for node in computed { for input in node.inputs { readers[ObjectIdentifier(input), default: 0] += 1 } }
        for root in roots { readers[ObjectIdentifier(root), default: 0] += 1 }
        let computedIDs = Set(computed.map(ObjectIdentifier.init))
        func onlyReader(_ node: Node) -> Bool { computedIDs.contains(ObjectIdentifier(node)) && readers[ObjectIdentifier(node)] == 1 }

        var absorbed = Set<ObjectIdentifier>()
        var fusedAt: [ObjectIdentifier: Node] = [:]
        var counts: [String: Int] = [:]
        /// The fusible activation that alone reads `node`, if any.
        func activationReader(_ node: Node) -> (node: Node, function: UnaryFunction)? {
            guard onlyReader(node), let reader = computed.first(where: { $0.inputs.contains { $0 === node } }),
                case .unary(let function) = reader.op, function.isFusibleActivation
            else { return nil }
            return (reader, function)
        }
        /// Replaces the chain `links` (in order, each read only by the next) by `fused`, run where the last link ran.
        func fuse(_ links: [Node], into fused: Node, _ description: String) {
            for link in links { absorbed.insert(ObjectIdentifier(link)) }
            for link in links.dropFirst() { replaced[ObjectIdentifier(link)] = fused }
            fusedAt[ObjectIdentifier(links[links.count - 1])] = fused
            counts[description, default: 0] += 1
        }

        for node in computed {
            switch node.op {
            // matmul → bias add (→ activation).
            case .biasAdd where node.shape.rank == 2:
                guard case .matmul(let transposeA, let transposeB) = node.inputs[0].op, node.inputs[0].shape.rank == 2,
                    onlyReader(node.inputs[0])
                else { continue }
                let product = node.inputs[0]
                var activation = activationReader(node)
                if let function = activation?.function,
                    !backend.implements(.linear(transposeA: transposeA, transposeB: transposeB, activation: function))
                {
                    activation = nil
                }
                guard backend.implements(.linear(transposeA: transposeA, transposeB: transposeB, activation: activation?.function)) else {
                    continue
                }
                let fused = Node(
                    op: .linear(transposeA: transposeA, transposeB: transposeB, activation: activation?.function),
                    inputs: [product.inputs[0], product.inputs[1], node.inputs[1]], shape: node.shape, device: node.device)
                fuse(
                    [product, node] + (activation.map { [$0.node] } ?? []), into: fused,
                    "matmul+bias_add" + (activation.map { "+\($0.function)" } ?? "") + " → linear")
            // matmul → the activation's gradient reading it (a dense layer's input gradient into the activation before).
            case .unaryGradient(let function) where node.shape.rank == 2 && function.isFusibleActivation:
                let product = node.inputs[1]
                guard case .matmul(let transposeA, let transposeB) = product.op, product.shape.rank == 2, onlyReader(product) else {
                    continue
                }
                let op = Op.linearGradient(transposeA: transposeA, transposeB: transposeB, activation: function)
                guard backend.implements(op) else { continue }
                let fused = Node(
                    op: op, inputs: [product.inputs[0], product.inputs[1], node.inputs[0]], shape: node.shape, device: node.device)
                fuse([product, node], into: fused, "matmul+\(function)_grad → linear_gradient")
            // conv2d (with its bias) → activation.
            case .conv2d(let attributes):
                guard let activation = activationReader(node), backend.implements(.fusedConv2d(attributes, activation: activation.function))
                else { continue }
                let fused = Node(
                    op: .fusedConv2d(attributes, activation: activation.function), inputs: node.inputs, shape: node.shape,
                    device: node.device)
                fuse([node, activation.node], into: fused, "conv2d+\(activation.function) → \(fused.op.name)")
            // reduce_sum over axis 0 → the SGD updates reading it as their gradient.
            case .reduce(.sum, axes: [0], keepDimensions: false) where node.inputs[0].shape.rank >= 2:
                let nodeReaders = computed.filter { $0.inputs.contains { $0 === node } }
                // Each reader as an SGD update and the index at which it reads `node`, its gradient, alone.
                let updates = nodeReaders.compactMap { reader -> (node: Node, gradient: Int)? in
                    guard case .update(let rule) = reader.op, rule.isSGD, let gradient = rule.gradientInput,
                        reader.inputs.indices.allSatisfy({ (reader.inputs[$0] === node) == ($0 == gradient) })
                    else { return nil }
                    return (reader, gradient)
                }
                guard !updates.isEmpty, updates.count == nodeReaders.count, readers[ObjectIdentifier(node)] == updates.count else {
                    continue
                }
                absorbed.insert(ObjectIdentifier(node))
                for (update, gradient) in updates {
                    var inputs = update.inputs
                    inputs[gradient] = node.inputs[0]
                    let fused = Node(op: update.op, inputs: inputs, shape: update.shape, device: update.device)
                    absorbed.insert(ObjectIdentifier(update))
                    replaced[ObjectIdentifier(update)] = fused
                    fusedAt[ObjectIdentifier(update)] = fused
                }
                counts[
                    "reduce_sum+\(updates.map(\.node.op.name).joined(separator: "+")) → updates summing the gradient's rows", default: 0] +=
                    1
            default:
                continue
            }
        }
        for node in computed {
            if let fused = fusedAt[ObjectIdentifier(node)] {
                nodes.append(fused)
            } else if !absorbed.contains(ObjectIdentifier(node)) {
                nodes.append(node)
            }
        }
        descriptions = counts.sorted { $0.key < $1.key }.map { "\($0.value)× \($0.key)" }
    }
}
