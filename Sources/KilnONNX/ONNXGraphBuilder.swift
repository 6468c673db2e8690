// ONNXGraphBuilder: turns an ONNX graph into Kiln tensor ops for given input shapes, node by node, so the
// result compiles into a Plan like any Kiln model. Values known at import (initializers, Constant nodes and
// whatever is computed from them alone) are folded: computed once here and kept as data leaves, so a run
// repeats only the work that depends on the inputs.
import Foundation
import KilnCore

/// The graph being built: every ONNX value name bound to a Kiln tensor.
final class ONNXGraphBuilder {
    let model: ONNXModel
    let device: Device
    private var values: [String: Tensor] = [:]
    /// Values known at import, with their integers (shape and axis inputs are read from these).
    private var constants: [String: ONNXArray] = [:]
    /// Graph inputs: a tensor that depends on none of these is constant.
    private var inputNodes: Set<ObjectIdentifier> = []
    /// Nodes found constant, held so that their identifiers are not reused by later nodes.
    private var constantNodes: [ObjectIdentifier: Node] = [:]
    /// Nodes known to depend on a graph input (kept alive for the same reason), so that asking about each
    /// node of a long chain stops at its predecessor instead of walking back to the input every time.
    private var variableNodes: [ObjectIdentifier: Node] = [:]

    init(model: ONNXModel, device: Device) {
        self.model = model
        self.device = device
    }

    /// Binds the float graph inputs to `inputs` (data tensors, in the order of `model.inputs`) and the integer ones
    /// to `integerInputs`, and returns the outputs.
    func build(inputs: [Tensor], integerInputs: [ONNXArray]) throws -> [Tensor] {
        let floatInputs = model.inputs.filter { !$0.isInteger }
        guard inputs.count == floatInputs.count else {
            throw ONNXError.inputMismatch(
                "the model takes \(floatInputs.count) float inputs (\(floatInputs.map(\.description).joined(separator: ", "))), got \(inputs.count)"
            )
        }
        for array in integerInputs { constants[array.name] = array }
        for (info, tensor) in zip(floatInputs, inputs) {
            guard info.accepts(tensor.shape) else {
                throw ONNXError.inputMismatch("input \(info) cannot take shape \(tensor.shape)")
            }
            values[info.name] = tensor
            inputNodes.insert(ObjectIdentifier(tensor.node))
        }
        for array in model.initializers where values[array.name] == nil {
            constants[array.name] = array
        }
        for proto in model.proto.graph.node {
            try convert(ONNXNode(proto))
        }
        return try model.outputs.map { output in
            guard let tensor = try value(output.name) else {
                throw ONNXError.invalidModel("no node computes the graph output '\(output.name)'")
            }
            return tensor
        }
    }

    private func convert(_ node: ONNXNode) throws {
        guard node.proto.domain.isEmpty || node.proto.domain == "ai.onnx" else {
            throw ONNXError.unsupportedOperator(node: node.name, opType: "\(node.proto.domain).\(node.opType)")
        }
        guard let converter = ONNXImport.converters[node.opType] else {
            throw ONNXError.unsupportedOperator(node: node.name, opType: node.opType)
        }
        let outputs: [Tensor]
        do {
            outputs = try converter(self, node)
            try node.rejectUnreadAttributes()
        } catch let error as ONNXError {
            throw error
        } catch {
            throw node.invalid("\(error)")
        }
        for (name, tensor) in zip(node.outputs, outputs) where !name.isEmpty {
            values[name] = try fold(tensor)
        }
        // An output Kiln cannot compute (MaxPool's indices, LSTM's...) must not be used.
        for name in node.outputs.dropFirst(outputs.count) where !name.isEmpty && constants[name] == nil {
            throw node.unsupported("output \(name)", "\(node.opType)'s output \(node.outputs.firstIndex(of: name) ?? 0) is not supported")
        }
    }

    /// Binds `name` to a value known at import (a Constant node's).
    func define(_ name: String, _ array: ONNXArray) {
        constants[name] = array
    }

    // MARK: Reading a node's inputs

    /// The tensor named `name`, creating data leaves for import-time constants on first use.
    private func value(_ name: String) throws -> Tensor? {
        if let tensor = values[name] { return tensor }
        guard let array = constants[name] else { return nil }
        let tensor = try Tensor(array.floats, shape: array.shape, on: device)
        values[name] = tensor
        return tensor
    }

    /// Input `index` of `node`; throws when it is missing.
    func input(_ node: ONNXNode, _ index: Int) throws -> Tensor {
        guard let tensor = try optionalInput(node, index) else {
            throw node.invalid(
                index < node.inputs.count && !node.inputs[index].isEmpty
                    ? "input '\(node.inputs[index])' is computed by no earlier node" : "needs input \(index)")
        }
        return tensor
    }

    /// Input `index` of `node`, nil when omitted.
    func optionalInput(_ node: ONNXNode, _ index: Int) throws -> Tensor? {
        guard index < node.inputs.count, !node.inputs[index].isEmpty else { return nil }
        guard let tensor = try value(node.inputs[index]) else {
            throw node.invalid("input '\(node.inputs[index])' is computed by no earlier node")
        }
        return tensor
    }

    /// The import-time value of input `index` (a shape, axes or a ratio), nil when omitted; throws when the
    /// input is present but depends on the graph's inputs.
    func constantInput(_ node: ONNXNode, _ index: Int, purpose: String) throws -> ONNXArray? {
        guard index < node.inputs.count, !node.inputs[index].isEmpty else { return nil }
        let name = node.inputs[index]
        if let array = constants[name] { return array }
        if let tensor = values[name], isConstant(tensor) {
            return ONNXArray(name: name, dimensions: tensor.shape.dimensions, floats: try tensor.floats())
        }
        throw node.invalid(
            "input '\(name)' (\(purpose)) must be known when the model is loaded (an initializer or a Constant), not computed from the graph's inputs"
        )
    }

    /// Integer values of a constant input (shape or axes).
    func integerInput(_ node: ONNXNode, _ index: Int, purpose: String) throws -> [Int]? {
        guard let array = try constantInput(node, index, purpose: purpose) else { return nil }
        if let integers = array.integers { return integers }
        // Int(exactly:) also refuses NaN, infinities and values beyond Int, which Int(_:) would trap on.
        let integers = array.floats.compactMap { Int(exactly: $0) }
        guard integers.count == array.floats.count else { throw node.invalid("input \(index) (\(purpose)) must hold integers") }
        return integers
    }

    // MARK: Folding

    /// Whether `tensor` depends on no graph input (only on initializers, constants and fills).
    func isConstant(_ tensor: Tensor) -> Bool {
        var stack = [tensor.node]
        var visited: [Node] = []
        var result = true
        while let node = stack.popLast(), result {
            let id = ObjectIdentifier(node)
            if constantNodes[id] != nil { continue }
            if inputNodes.contains(id) || variableNodes[id] != nil {
                result = false
            } else if case .dropoutMask = node.op {
                result = false
            } else {
                visited.append(node)
                stack.append(contentsOf: node.inputs)
            }
        }
        // Only a positive answer holds for every node visited.
        if result {
            for node in visited { constantNodes[ObjectIdentifier(node)] = node }
        } else {
            variableNodes[ObjectIdentifier(tensor.node)] = tensor.node
        }
        return result
    }

    /// `tensor` computed now and kept as a data leaf when it depends on no graph input; else `tensor`.
    func fold(_ tensor: Tensor) throws -> Tensor {
        guard !inputNodes.contains(ObjectIdentifier(tensor.node)), isConstant(tensor) else { return tensor }
        switch tensor.node.op {
        case .data, .fill: return tensor
        default: return try Tensor(tensor.floats(), shape: tensor.shape, on: device)
        }
    }
}
