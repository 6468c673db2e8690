// LSTM: ONNX's layer (forward, reverse or bidirectional; layout 0 or 1; initial states) as Kiln's fused LSTM
// sequence op per direction. ONNX orders the gate blocks i, o, f, c and packs both biases in one B = [Wb, Rb];
// Kiln (like PyTorch) orders them i, f, g, o with g = c and keeps b_ih and b_hh apart.
import KilnCore

extension ONNXImport {
    /// Kiln's gate block j (i, f, g, o) is ONNX's block `onnxBlockForKilnGate[j]` (ONNX orders i, o, f, c).
    static let onnxBlockForKilnGate = [0, 2, 3, 1]

    static func lstm(_ graph: ONNXGraphBuilder, _ node: ONNXNode) throws -> [Tensor] {
        var x = try graph.input(node, 0)
        let (w, r) = (try graph.input(node, 1), try graph.input(node, 2))
        let b = try graph.optionalInput(node, 3)
        var initialH = try graph.optionalInput(node, 5)
        var initialC = try graph.optionalInput(node, 6)
        if try graph.optionalInput(node, 7) != nil { throw node.unsupported("P", "peephole weights are not supported") }
        for unsupported in ["activation_alpha", "activation_beta", "clip"] where node.has(unsupported) {
            throw node.unsupported(unsupported, "Kiln's LSTM has the default sigmoid and tanh activations and no cell clipping")
        }
        if try node.int("input_forget", default: 0) != 0 {
            throw node.unsupported("input_forget", "coupled input and forget gates are not supported")
        }
        let direction = try node.string("direction") ?? "forward"
        let directions: [Bool]  // true: reverse
        switch direction {
        case "forward": directions = [false]
        case "reverse": directions = [true]
        case "bidirectional": directions = [false, true]
        default: throw node.unsupported("direction", "unknown direction \(direction)")
        }
        if let activations = try node.strings("activations"),
            activations != Array(repeating: ["Sigmoid", "Tanh", "Tanh"], count: directions.count).flatMap({ $0 })
        {
            throw node.unsupported("activations", "\(activations); Kiln's LSTM uses Sigmoid, Tanh, Tanh")
        }
        let layout = try node.int("layout", default: 0)
        guard layout == 0 || layout == 1 else { throw node.unsupported("layout", "unknown layout \(layout)") }
        if layout == 1 {
            // [N, T, I] and states [N, D, H] to the default layout.
            x = try x.transposed([1, 0, 2])
            initialH = try initialH?.transposed([1, 0, 2])
            initialC = try initialC?.transposed([1, 0, 2])
        }
        guard x.shape.rank == 3 else { throw node.invalid("X must be rank 3, got \(x.shape)") }
        let (steps, batch) = (x.shape[0], x.shape[1])
        let hidden = w.shape.rank == 3 ? w.shape[1] / 4 : 0
        if let size = try node.int("hidden_size"), size != hidden { throw node.invalid("hidden_size \(size) does not match W \(w.shape)") }
        guard w.shape == [directions.count, 4 * hidden, x.shape[2]], r.shape == [directions.count, 4 * hidden, hidden], hidden > 0 else {
            throw node.invalid(
                "W \(w.shape) and R \(r.shape) must be [\(directions.count), 4·H, \(x.shape[2])] and [\(directions.count), 4·H, H]")
        }
        if let lengths = try graph.constantInput(node, 4, purpose: "sequence_lens"), lengths.floats.contains(where: { Int($0) != steps }) {
            throw node.unsupported(
                "sequence_lens", "sequences of different lengths \(lengths.floats.map { Int($0) }); Kiln runs all \(steps) steps")
        }
        let stateShape: Shape = [directions.count, batch, hidden]
        for (name, state) in [("initial_h", initialH), ("initial_c", initialC)] {
            if let state, state.shape != stateShape {
                throw node.invalid("\(name) must be \(stateShape) (in layout 0), got \(state.shape)")
            }
        }

        func forDirection(_ tensor: Tensor, _ index: Int) throws -> Tensor {
            try tensor.slice(axis: 0, start: index, length: 1).reshaped(Shape(Array(tensor.shape.dimensions.dropFirst())))
        }
        func kilnGateOrder(_ blocks: Tensor) throws -> Tensor {
            try graph.fold(
                Tensor.concatenate(onnxBlockForKilnGate.map { try blocks.slice(axis: 0, start: $0 * hidden, length: hidden) }, axis: 0))
        }
        func reversedInTime(_ tensor: Tensor) throws -> Tensor {
            steps == 1
                ? tensor : try Tensor.concatenate((0..<steps).reversed().map { try tensor.slice(axis: 0, start: $0, length: 1) }, axis: 0)
        }
        var outputs: [Tensor] = []
        var finalH: [Tensor] = []
        var finalC: [Tensor] = []
        for (index, reverse) in directions.enumerated() {
            let biases = try b.map { try forDirection($0, index) }
            let weights = RecurrentWeights(
                weightIH: try kilnGateOrder(forDirection(w, index)), weightHH: try kilnGateOrder(forDirection(r, index)),
                biasIH: try biases.map { try kilnGateOrder($0.slice(axis: 0, start: 0, length: 4 * hidden)) },
                biasHH: try biases.map { try kilnGateOrder($0.slice(axis: 0, start: 4 * hidden, length: 4 * hidden)) })
            let zeros = try Tensor.zeros([batch, hidden], on: x.device)
            let result = try Tensor.lstmSequence(
                x: reverse ? reversedInTime(x) : x, h0: initialH.map { try forDirection($0, index) } ?? zeros,
                c0: initialC.map { try forDirection($0, index) } ?? zeros, weights: weights)
            let sequence = reverse ? try reversedInTime(result.outputs) : result.outputs
            outputs.append(try sequence.reshaped([steps, 1, batch, hidden]))
            finalH.append(try result.h.reshaped([1, batch, hidden]))
            finalC.append(try result.c.reshaped([1, batch, hidden]))
        }
        var y = try Tensor.concatenate(outputs, axis: 1)
        var yH = try Tensor.concatenate(finalH, axis: 0)
        var yC = try Tensor.concatenate(finalC, axis: 0)
        if layout == 1 {
            y = try y.transposed([2, 0, 1, 3])
            yH = try yH.transposed([1, 0, 2])
            yC = try yC.transposed([1, 0, 2])
        }
        return [y, yH, yC]
    }
}
