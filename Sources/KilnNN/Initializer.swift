// Initialisers: seeded random values for weights (He, Xavier and PyTorch's default), drawn from a
// generator passed in, never a global one.
import Foundation
import KilnCore

extension RandomSource {
    /// A standard normal sample (Box–Muller).
    public mutating func normal() -> Double {
        let u = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let v = Double.random(in: 0..<1, using: &self)
        return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * Double.pi * v)
    }
}

/// How a layer's weights are drawn. `fanIn`/`fanOut` count inputs and outputs per unit (times the kernel area).
public enum Initializer: Sendable {
    /// PyTorch's default for Linear and Conv: U(±1/√fanIn) (kaiming_uniform with a = √5).
    case pytorchDefault
    /// He (Kaiming) normal for ReLU networks: N(0, 2/fanIn).
    case heNormal
    /// He (Kaiming) uniform: U(±√(6/fanIn)).
    case heUniform
    /// Xavier (Glorot) uniform: U(±√(6/(fanIn + fanOut))).
    case xavierUniform
    /// Xavier (Glorot) normal: N(0, 2/(fanIn + fanOut)).
    case xavierNormal

    /// `count` values for a weight with the given fans.
    public func values(count: Int, fanIn: Int, fanOut: Int, using random: inout RandomSource) -> [Float] {
        let fanIn = Double(max(fanIn, 1))
        let fanOut = Double(max(fanOut, 1))
        switch self {
        case .pytorchDefault: return uniform(count, bound: 1 / fanIn.squareRoot(), &random)
        case .heUniform: return uniform(count, bound: (6 / fanIn).squareRoot(), &random)
        case .xavierUniform: return uniform(count, bound: (6 / (fanIn + fanOut)).squareRoot(), &random)
        case .heNormal: return normal(count, deviation: (2 / fanIn).squareRoot(), &random)
        case .xavierNormal: return normal(count, deviation: (2 / (fanIn + fanOut)).squareRoot(), &random)
        }
    }

    private func uniform(_ count: Int, bound: Double, _ random: inout RandomSource) -> [Float] {
        (0..<count).map { _ in Float(Double.random(in: -bound...bound, using: &random)) }
    }

    private func normal(_ count: Int, deviation: Double, _ random: inout RandomSource) -> [Float] {
        (0..<count).map { _ in Float(random.normal() * deviation) }
    }
}

/// Helpers for layers creating their variables.
enum Initialize {
    /// A variable of `shape` drawn by `initializer`.
    static func weight(
        _ shape: Shape, fanIn: Int, fanOut: Int, _ initializer: Initializer, _ random: inout RandomSource, on device: Device
    ) throws -> Variable {
        // Before the values are drawn on the host: a size from a file or an option must not abort in malloc.
        try device.backend.memoryLimits.check("weight", shape.dimensions, on: device.description)
        return try Variable(
            Tensor(initializer.values(count: shape.count, fanIn: fanIn, fanOut: fanOut, using: &random), shape: shape, on: device))
    }

    /// A bias drawn like PyTorch's: U(±1/√fanIn).
    static func bias(_ count: Int, fanIn: Int, _ random: inout RandomSource, on device: Device) throws -> Variable {
        try device.backend.memoryLimits.check("bias", [count], on: device.description)
        return try Variable(
            Tensor(Initializer.pytorchDefault.values(count: count, fanIn: fanIn, fanOut: 1, using: &random), shape: [count], on: device))
    }

    static func constant(_ value: Double, _ shape: Shape, on device: Device) throws -> Variable {
        try Variable(Tensor.full(value, shape: shape, on: device))
    }
}
