// ModelSpec: a compact layer string (in the spirit of DeviceCL's network strings) that builds a
// Sequential model, e.g. `conv32k3p1-relu-maxpool2-conv64k3p1-relu-maxpool2-flatten-dense128-relu-dense10`.
import Foundation
import KilnCore
import KilnData
import KilnNN

/// A bad model string; the message names the token and what is wrong.
public struct ModelSpecError: Error, CustomStringConvertible {
    public let token: String
    public let reason: String
    public var description: String { "model spec: '\(token)': \(reason)" }
}

/// A model described by a string of `-`-separated layers. Tokens:
/// `conv{out}k{kernel}[s{stride}][p{padding}][d{dilation}][g{groups}]`, `maxpool{k}[s{stride}]`,
/// `avgpool{k}[s{stride}]`, `gap` (global average pooling), `flatten`, `dense{out}`, `bn` (batch norm),
/// `dropout{percent}`, `relu`, `leakyrelu`, `sigmoid`, `tanh`.
public struct ModelSpec: CustomStringConvertible, Sendable {
    public let text: String

    /// The course's CNN: two 3×3 convolutions with pooling, then two dense layers.
    public static let cnn = ModelSpec(unchecked: "conv32k3p1-relu-maxpool2-conv64k3p1-relu-maxpool2-flatten-dense128-relu-dense10")
    /// The course's feed-forward network.
    public static let mlp = ModelSpec(unchecked: "flatten-dense256-relu-dense128-relu-dense10")

    private init(unchecked text: String) { self.text = text }

    /// `cnn`, `mlp` or a layer string (checked when the model is built).
    public init(_ text: String) {
        switch text.lowercased() {
        case "cnn": self = .cnn
        case "mlp": self = .mlp
        default: self.text = text.lowercased()
        }
    }

    public var description: String { text }

    /// Builds the model for inputs of `inputShape` (without the batch axis, e.g. `[1, 28, 28]`).
    public func build(inputShape: [Int], random: inout RandomSource, on device: Device) throws -> Sequential {
        var shape = inputShape
        var layers: [any Layer] = []
        for token in text.split(separator: "-").map(String.init) {
            let (name, numbers) = try Self.parse(token)
            func number(_ key: Character, default value: Int? = nil) throws -> Int {
                if let found = numbers[key] { return found }
                if let value { return value }
                throw ModelSpecError(token: token, reason: "needs a number after '\(key)'")
            }
            func requireImage() throws {
                guard shape.count == 3 else { throw ModelSpecError(token: token, reason: "needs image input [C, H, W], got \(shape)") }
            }
            switch name {
            case "conv":
                try requireImage()
                let (out, kernel) = (try number("#"), try number("k"))
                let (stride, padding, dilation, groups) = (try number("s", default: 1), try number("p", default: 0), try number("d", default: 1), try number("g", default: 1))
                let layer = try Conv2D(
                    shape[0], out, kernel: [kernel], stride: [stride], padding: [padding], dilation: [dilation], groups: groups,
                    random: &random, on: device)
                let span = dilation * (kernel - 1) + 1
                shape = [out, (shape[1] + 2 * padding - span) / stride + 1, (shape[2] + 2 * padding - span) / stride + 1]
                layers.append(layer)
            case "maxpool", "avgpool":
                try requireImage()
                let kernel = try number("#")
                let stride = try number("s", default: kernel)
                layers.append(name == "maxpool" ? MaxPool2D(kernel: [kernel], stride: [stride]) as any Layer : AvgPool2D(kernel: [kernel], stride: [stride]))
                shape = [shape[0], (shape[1] - kernel) / stride + 1, (shape[2] - kernel) / stride + 1]
            case "gap":
                try requireImage()
                layers.append(GlobalAvgPool2D())
                shape = [shape[0], 1, 1]
            case "flatten":
                layers.append(Flatten())
                shape = [shape.reduce(1, *)]
            case "dense":
                guard shape.count == 1 else { throw ModelSpecError(token: token, reason: "needs flat input; add 'flatten' before it (input is \(shape))") }
                let out = try number("#")
                layers.append(try Dense(shape[0], out, random: &random, on: device))
                shape = [out]
            case "bn":
                layers.append(try BatchNorm(features: shape[0], on: device))
            case "dropout":
                let percent = try number("#")
                guard (0..<100).contains(percent) else { throw ModelSpecError(token: token, reason: "percent must be in 0..<100") }
                layers.append(Dropout(probability: Double(percent) / 100))
            case "relu": layers.append(ReLU())
            case "leakyrelu": layers.append(LeakyReLU(slope: 0.2))
            case "sigmoid": layers.append(Sigmoid())
            case "tanh": layers.append(Tanh())
            default:
                throw ModelSpecError(token: token, reason: "unknown layer; use conv, maxpool, avgpool, gap, flatten, dense, bn, dropout, relu, leakyrelu, sigmoid or tanh")
            }
            if shape.contains(where: { $0 <= 0 }) { throw ModelSpecError(token: token, reason: "the output would be empty (\(shape))") }
        }
        guard !layers.isEmpty else { throw ModelSpecError(token: text, reason: "no layers") }
        return Sequential(layers)
    }

    /// Splits `conv32k3p1` into `conv` and `["#": 32, "k": 3, "p": 1]` (`#` is the number right after the name).
    private static func parse(_ token: String) throws -> (String, [Character: Int]) {
        let name = String(token.prefix { $0.isLetter })
        var numbers: [Character: Int] = [:]
        var key: Character = "#"
        var digits = ""
        func flush() throws {
            guard !digits.isEmpty else { return }
            guard let value = Int(digits), value >= 0 else { throw ModelSpecError(token: token, reason: "bad number \(digits)") }
            guard numbers[key] == nil else { throw ModelSpecError(token: token, reason: "'\(key)' given twice") }
            numbers[key] = value
            digits = ""
        }
        for character in token.dropFirst(name.count) {
            if character.isNumber {
                digits.append(character)
            } else if "ksdpg".contains(character) {
                try flush()
                key = character
            } else {
                throw ModelSpecError(token: token, reason: "unexpected '\(character)'")
            }
        }
        try flush()
        return (name, numbers)
    }
}
