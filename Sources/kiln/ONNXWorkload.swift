// `kiln bench --onnx FILE`: an ONNX model's inference as a bench workload, checked against the reference
// backend and timed on every device like the built-in workloads.
import Foundation
import Kiln
import KilnBenchmarks
import KilnCheck
import KilnONNX

extension Workload {
    /// Inference of `model` (from `file`) on seeded inputs in [-1, 1], its free dimensions set to `batch`.
    static func onnx(_ model: ONNXModel, file: String, batch: Int) throws -> Workload {
        let shapes = model.inputs.map { Shape($0.dimensions.map { $0 ?? batch }) }
        guard !model.inputs.contains(where: \.isInteger) else {
            throw ONNXError.inputMismatch(
                "kiln bench feeds float inputs; \(file) has integer inputs (\(model.inputs.filter(\.isInteger).map(\.name).joined(separator: ", ")))"
            )
        }
        let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        return Workload(
            name: "onnx_\(name)",
            summary: "ONNX model \(file), inputs \(shapes.map(\.description).joined(separator: ", ")): inference",
            flopsPerStep: nil, itemsPerStep: batch,
            tolerance: Tolerance(normwise: 1e-4, reason: "an imported model's float32 outputs, sums in another order than the reference"),
            build: { device in
                let graph = try ONNXImport.graph(model, inputShapes: shapes, on: device)
                let inputs = shapes.enumerated().map { index, shape in
                    var random = RandomSource(seed: 61 + UInt64(index))
                    return (0..<shape.count).map { _ in Float.random(in: -1...1, using: &random) }
                }
                let plan = try Plan(inputs: graph.inputs, outputs: graph.outputs, updates: [])
                return WorkloadInstance(plan: plan, inputs: inputs, outputCount: graph.outputs.count)
            })
    }
}
