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
/// `conv{out}k{kernel}[s{stride}][p{padding}][d{dilation}][g{groups}]`, `maxpool{k}[s{stride}][p{padding}][c1]`,
/// `avgpool{k}[s{stride}][p{padding}][c1]` (`c1`: the output size rounded up, PyTorch's `ceil_mode`), `gap` (global average pooling), `flatten`, `dense{out}`, `bn` (batch norm),
/// `dropout{percent}`, and the activations `relu`, `leakyrelu` (slope 0.2), `sigmoid`, `tanh` and every other activation
/// the engine defines, by its identifier without underscores (`gelu`, `gelutanh`, `silu`; `activationTokens` lists them),
/// and `res(layers)`: a residual block adding its input to its layers' output (through a 1×1 convolution when they
/// change the channels or the size).
public struct ModelSpec: CustomStringConvertible, Sendable {
    public let text: String

    /// The course's CNN: two 3×3 convolutions with pooling, then two dense layers.
    public static let cnn = cnn(classes: 10)
    /// The course's feed-forward network.
    public static let mlp = mlp(classes: 10)

    /// The course's CNN with one output per class (its convolutions take any channel count and image size).
    public static func cnn(classes: Int) -> ModelSpec {
        ModelSpec(unchecked: "conv32k3p1-relu-maxpool2-conv64k3p1-relu-maxpool2-flatten-dense128-relu-dense\(classes)")
    }

    /// The course's feed-forward network with one output per class.
    public static func mlp(classes: Int) -> ModelSpec { ModelSpec(unchecked: "flatten-dense256-relu-dense128-relu-dense\(classes)") }

    private init(unchecked text: String) { self.text = text }

    /// `cnn`, `mlp` or a layer string (checked when the model is built). The presets end in one output per
    /// class: `dense10` for Fashion-MNIST's 10 classes, `dense{classes}` for another data set's.
    public init(_ text: String, classes: Int = 10) {
        switch text.lowercased() {
        case "cnn": self = .cnn(classes: classes)
        case "mlp": self = .mlp(classes: classes)
        default: self.text = text.lowercased()
        }
    }

    /// Whether `text` names a preset (`cnn` or `mlp`), whose last layer follows the data's class count.
    public static func isPreset(_ text: String) -> Bool { ["cnn", "mlp"].contains(text.lowercased()) }

    public var description: String { text }

    /// The activation tokens: every activation's identifier without underscores (`relu`, `leakyrelu`, ..., `gelu`,
    /// `gelutanh`, `silu`).
    public static let activationTokens = UnaryFunction.all.filter(\.isFusibleActivation).map { $0.identifier.filter { $0 != "_" } }

    /// Builds the model for inputs of `inputShape` (without the batch axis, e.g. `[1, 28, 28]`).
    ///
    /// Every number is checked before anything is allocated: sizes and strides are positive, the
    /// arithmetic on them does not overflow, and each layer's weights and its output for one example
    /// fit the device's largest allocation.
    public func build(inputShape: [Int], random: inout RandomSource, on device: Device) throws -> Sequential {
        // The input's shape comes from a file or an option (`kiln export --input-shape`): every size at least 1,
        // and their product an Int, before any layer multiplies them.
        let count = inputShape.reduce((product: 1, overflow: false)) { partial, size in
            let (product, overflow) = partial.product.multipliedReportingOverflow(by: size)
            return (product, partial.overflow || overflow)
        }
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 >= 1 }), !count.overflow else {
            throw ModelSpecError(
                token: text, reason: "the input shape \(inputShape) needs sizes of at least 1 whose product is at most \(Int.max)")
        }
        var shape = inputShape
        return Sequential(try Self.layers(Self.tokens(text), shape: &shape, place: "layer ", random: &random, on: device))
    }

    /// Splits a layer string at the `-`s outside parentheses (`res(...)` blocks keep theirs).
    static func tokens(_ text: String) throws -> [String] {
        var tokens: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            switch character {
            case "(": depth += 1
            case ")":
                depth -= 1
                guard depth >= 0 else { throw ModelSpecError(token: text, reason: "a ')' without its '('") }
            case "-" where depth == 0:
                tokens.append(current)
                current = ""
                continue
            default: break
            }
            current.append(character)
        }
        guard depth == 0 else { throw ModelSpecError(token: text, reason: "a '(' without its ')'") }
        tokens.append(current)
        if let empty = tokens.firstIndex(of: "") {
            throw ModelSpecError(token: text, reason: "an empty layer at position \(empty + 1) (two '-' in a row?)")
        }
        return tokens
    }

    /// The layers of `tokens` for inputs of `shape` (updated to their output shape); `place` prefixes layer
    /// numbers in messages (`layer 3`, or `layer 3.2` inside a block).
    private static func layers(
        _ tokens: [String], shape: inout [Int], place: String, random: inout RandomSource, on device: Device
    ) throws -> [any Layer] {
        var layers: [any Layer] = []
        let limits = device.backend.memoryLimits
        for (position, token) in tokens.enumerated() {
            func fail(_ reason: String) -> ModelSpecError { ModelSpecError(token: token, reason: reason) }
            if token.hasPrefix("res(") {
                guard token.hasSuffix(")") else { throw fail("a residual block is res(layers) with nothing after its ')'") }
                layers.append(
                    try residual(
                        String(token.dropFirst(4).dropLast()), token: token, shape: &shape, place: "\(place)\(position + 1).",
                        random: &random, on: device))
                continue
            }
            let (name, numbers) = try Self.parse(token)
            // A number the layer does not read is a mistake to report, not to ignore (`maxpool2k3` is not a 3×3 pool).
            if let allowed = Self.numbersTaken[name], let extra = numbers.keys.sorted().first(where: { !allowed.contains($0) }) {
                throw fail(extra == "#" ? "\(name) takes no number" : "'\(extra)' is not an option of \(name)")
            }
            func number(_ key: Character, default value: Int? = nil, minimum: Int = 0) throws -> Int {
                guard let found = numbers[key] ?? value else { throw fail("needs a number after '\(key)'") }
                guard found >= minimum else {
                    let what = key == "#" ? "the number after '\(name)'" : "'\(key)'"
                    throw fail("\(what) must be at least \(minimum), got \(found)")
                }
                return found
            }
            /// `a * b + c`, or an error naming the token when it overflows.
            func checked(_ a: Int, times b: Int, plus c: Int = 0) throws -> Int {
                let (product, overflow) = a.multipliedReportingOverflow(by: b)
                let (sum, overflow2) = product.addingReportingOverflow(c)
                guard !overflow, !overflow2 else { throw fail("the sizes overflow; use smaller numbers") }
                return sum
            }
            /// The output length along one axis of a window of `span` moved by `stride` over `length` padded by `padding` each side.
            func slide(_ length: Int, span: Int, stride: Int, padding: Int) throws -> Int {
                let padded = try checked(padding, times: 2, plus: length)
                guard padded >= span else {
                    throw fail("the window (\(span) wide) is larger than the input (\(padded) with padding; input \(shape))")
                }
                return (padded - span) / stride + 1
            }
            /// Checks that one buffer of `dimensions` can be allocated on the device.
            func fits(_ what: String, _ dimensions: [Int]) throws {
                do { try limits.check("\(place)\(position + 1) \(what)", dimensions, on: device.description) } catch {
                    throw fail(error.description)
                }
            }
            func requireImage() throws {
                guard shape.count == 3 else { throw fail("needs image input [C, H, W], got \(shape)") }
            }
            switch name {
            case "conv":
                try requireImage()
                let (out, kernel) = (try number("#", minimum: 1), try number("k", minimum: 1))
                let (stride, padding) = (try number("s", default: 1, minimum: 1), try number("p", default: 0))
                let (dilation, groups) = (try number("d", default: 1, minimum: 1), try number("g", default: 1, minimum: 1))
                guard shape[0] % groups == 0, out % groups == 0 else {
                    throw fail("groups (\(groups)) must divide the input channels (\(shape[0])) and the output channels (\(out))")
                }
                let span = try checked(dilation, times: kernel - 1, plus: 1)
                let output = [
                    out, try slide(shape[1], span: span, stride: stride, padding: padding),
                    try slide(shape[2], span: span, stride: stride, padding: padding),
                ]
                try fits("weight", [out, shape[0] / groups, kernel, kernel])
                try fits("output for one example", output)
                layers.append(
                    try Conv2D(
                        shape[0], out, kernel: [kernel], stride: [stride], padding: [padding], dilation: [dilation], groups: groups,
                        random: &random, on: device))
                shape = output
            case "maxpool", "avgpool":
                try requireImage()
                let kernel = try number("#", minimum: 1)
                let stride = try number("s", default: kernel, minimum: 1)
                let padding = try number("p", default: 0)
                let ceil = try number("c", default: 0)
                guard ceil <= 1 else { throw fail("'c' is 1 (round the output size up, PyTorch's ceil_mode) or 0, got \(ceil)") }
                for length in shape[1...2] { _ = try slide(length, span: kernel, stride: stride, padding: padding) }
                // The op's own shape rule: padding under the window, and with ceil mode the last window's start.
                let attributes = Pooling2D(
                    kernel: [kernel, kernel], stride: [stride, stride], padding: [padding, padding, padding, padding], ceilMode: ceil == 1)
                do {
                    let op: Op = name == "maxpool" ? .maxPool2d(attributes) : .avgPool2d(attributes)
                    shape = Array(try op.outputShape(for: [Shape([1] + shape)]).dimensions.dropFirst())
                } catch { throw fail(error.reason) }
                layers.append(
                    name == "maxpool"
                        ? MaxPool2D(kernel: [kernel], stride: [stride], padding: [padding], ceilMode: ceil == 1) as any Layer
                        : AvgPool2D(kernel: [kernel], stride: [stride], padding: [padding], ceilMode: ceil == 1))
            case "gap":
                try requireImage()
                layers.append(GlobalAvgPool2D())
                shape = [shape[0], 1, 1]
            case "flatten":
                layers.append(Flatten())
                shape = [try shape.reduce(1) { try checked($0, times: $1) }]
            case "dense":
                guard shape.count == 1 else { throw fail("needs flat input; add 'flatten' before it (input is \(shape))") }
                let out = try number("#", minimum: 1)
                try fits("weight", [out, shape[0]])
                layers.append(try Dense(shape[0], out, random: &random, on: device))
                shape = [out]
            case "bn":
                layers.append(try BatchNorm(features: shape[0], on: device))
            case "dropout":
                let percent = try number("#")
                guard (0..<100).contains(percent) else { throw fail("percent must be in 0..<100") }
                layers.append(Dropout(probability: Double(percent) / 100))
            case "relu": layers.append(ReLU())
            case "leakyrelu": layers.append(LeakyReLU(slope: 0.2))
            case "sigmoid": layers.append(Sigmoid())
            case "tanh": layers.append(Tanh())
            default:
                guard let function = UnaryFunction.activation(named: name), numbers.isEmpty else {
                    throw fail(
                        "unknown layer; use conv, maxpool, avgpool, gap, flatten, dense, bn, dropout, res(...) or an activation ("
                            + Self.activationTokens.joined(separator: ", ") + ")")
                }
                layers.append(Activation(.elementwise(function)))
            }
        }
        guard !layers.isEmpty else { throw ModelSpecError(token: tokens.joined(separator: "-"), reason: "no layers") }
        return layers
    }

    /// `res(body)`: the body's layers, and a shortcut that adds the block's input to their output: the input
    /// itself when the body keeps its shape, else a 1×1 convolution (images) or a dense layer (flat inputs) with
    /// the body's output channels and the stride that gives its size. A size no stride gives is an error that
    /// says how to make the shapes match.
    private static func residual(
        _ body: String, token: String, shape: inout [Int], place: String, random: inout RandomSource, on device: Device
    ) throws -> Residual {
        func fail(_ reason: String) -> ModelSpecError { ModelSpecError(token: token, reason: reason) }
        func fits(_ weight: [Int]) throws {
            do { try device.backend.memoryLimits.check("\(place)shortcut weight", weight, on: device.description) } catch {
                throw fail(error.description)
            }
        }
        var output = shape
        let layers = try Self.layers(tokens(body), shape: &output, place: place, random: &random, on: device)
        defer { shape = output }
        if output == shape { return Residual(body: Sequential(layers)) }
        switch (shape.count, output.count) {
        case (3, 3):
            // A 1×1 convolution with stride s maps a length n to (n − 1) / s + 1.
            guard
                let stride = (1...max(shape[1], 1)).first(where: {
                    ($0 == 1 || shape[1] > 1) && (shape[1] - 1) / $0 + 1 == output[1] && (shape[2] - 1) / $0 + 1 == output[2]
                })
            else {
                throw fail(
                    "the block maps \(shape) to \(output), and no 1×1 convolution's stride maps \(shape[1])×\(shape[2]) to \(output[1])×\(output[2]) for the shortcut; "
                        + "keep the size with padding (p1 for k3) or halve it with s2 in one convolution")
            }
            try fits([output[0], shape[0], 1, 1])
            let projection = try Conv2D(shape[0], output[0], kernel: [1], stride: [stride], random: &random, on: device)
            return Residual(body: Sequential(layers), shortcut: projection)
        case (1, 1):
            try fits([output[0], shape[0]])
            return Residual(body: Sequential(layers), shortcut: try Dense(shape[0], output[0], random: &random, on: device))
        default:
            throw fail("the block maps \(shape) to \(output); a residual block must keep images as images ([C, H, W]) or flat inputs flat")
        }
    }

    /// The numbers each layer reads: `#` is the one right after its name.
    private static let numbersTaken: [String: Set<Character>] = [
        "conv": ["#", "k", "s", "p", "d", "g"], "maxpool": ["#", "s", "p", "c"], "avgpool": ["#", "s", "p", "c"], "dense": ["#"],
        "dropout": ["#"],
        "gap": [], "flatten": [], "bn": [], "relu": [], "leakyrelu": [], "sigmoid": [], "tanh": [],
    ]

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
            } else if "ksdpgc".contains(character) {
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
