// Fusion: the plan's rewrite that merges elementwise epilogues into the kernel producing their input:
// a matmul followed by a bias add becomes one `linear` launch, and a following activation joins it when
// nothing else reads the value before the activation (ReLU's gradient reads ReLU's output, so in training
// too; the gradients of sigmoid and tanh read their input, so those fuse in evaluation only).

/// The nodes a plan runs after fusion, and which original nodes now name a fused node's output.
struct Fusion {
    /// Nodes to run, in order: originals, and fused nodes in place of the chains they replace.
    var nodes: [Node] = []
    /// Original nodes whose value a fused node now produces (the bias add and the activation).
    var replaced: [ObjectIdentifier: Node] = [:]
    /// What was merged, for the plan's report.
    var descriptions: [String] = []

    /// Activations the fused kernels apply.
    static func isFusible(_ function: UnaryFunction) -> Bool {
        switch function {
        case .relu, .leakyRelu, .sigmoid, .tanh: true
        default: false
        }
    }

    /// Fuses within `computed` (the nodes a plan runs, in order); `roots` are read after the run, so their
    /// values must stay.
    init(computed: [Node], roots: [Node]) {
        var readers: [ObjectIdentifier: Int] = [:]
        for node in computed { for input in node.inputs { readers[ObjectIdentifier(input), default: 0] += 1 } }
        for root in roots { readers[ObjectIdentifier(root), default: 0] += 1 }
        let computedIDs = Set(computed.map(ObjectIdentifier.init))
        func onlyReader(_ node: Node) -> Bool { computedIDs.contains(ObjectIdentifier(node)) && readers[ObjectIdentifier(node)] == 1 }

        // Chains: matmul → bias add (→ activation), each link read only by the next.
        var absorbed = Set<ObjectIdentifier>()
        var fusedAt: [ObjectIdentifier: Node] = [:]
        var counts: [String: Int] = [:]
        for node in computed {
            guard case .biasAdd = node.op, node.shape.rank == 2, case .matmul(let transposeA, let transposeB) = node.inputs[0].op,
                node.inputs[0].shape.rank == 2, onlyReader(node.inputs[0])
            else { continue }
            let product = node.inputs[0]
            var activation: UnaryFunction?
            var last = node
            if onlyReader(node), let reader = computed.first(where: { $0.inputs.contains { $0 === node } }),
                case .unary(let function) = reader.op, Fusion.isFusible(function)
            {
                activation = function
                last = reader
            }
            let fused = Node(
                op: .linear(transposeA: transposeA, transposeB: transposeB, activation: activation),
                inputs: [product.inputs[0], product.inputs[1], node.inputs[1]], shape: node.shape, device: node.device)
            absorbed.insert(ObjectIdentifier(product))
            absorbed.insert(ObjectIdentifier(node))
            replaced[ObjectIdentifier(node)] = fused
            if last !== node {
                absorbed.insert(ObjectIdentifier(last))
                replaced[ObjectIdentifier(last)] = fused
            }
            // Run the fused node where its last link ran, after every input it needs.
            fusedAt[ObjectIdentifier(last)] = fused
            counts[activation.map { "matmul+bias_add+\($0)" } ?? "matmul+bias_add", default: 0] += 1
        }
        for node in computed {
            if let fused = fusedAt[ObjectIdentifier(node)] {
                nodes.append(fused)
            } else if !absorbed.contains(ObjectIdentifier(node)) {
                nodes.append(node)
            }
        }
        descriptions = counts.sorted { $0.key < $1.key }.map { "\($0.value)× \($0.key) → linear" }
    }
}
