// Features: pictures of what a trained CNN computes. The first layer's kernels, and the feature maps each
// convolution produces for one image (before and after the activation that follows it), as PNG grids.
// Also the image grids those pictures share with the GAN's sample grids.
import Foundation
import Kiln

// MARK: Grids of images

/// Greyscale tiles laid out in rows, each upsampled by `scale` (nearest neighbour), with `gap` pixels between them.
public struct ImageGrid {
    /// How tile values map to grey levels.
    public enum Scaling: Sendable {
        /// `low` is black and `high` white for every tile (values outside are clamped).
        case fixed(low: Float, high: Float)
        /// Each tile's own minimum is black and its maximum white (a constant tile is black).
        case perTile
    }

    public var tiles: [[Float]]
    public var tileWidth: Int
    public var tileHeight: Int
    public var columns: Int
    public var scale: Int
    public var gap: Int
    /// The grey level of the gaps and the border.
    public var background: UInt8
    public var scaling: Scaling

    public init(
        tiles: [[Float]], tileWidth: Int, tileHeight: Int, columns: Int, scale: Int = 1, gap: Int = 2, background: UInt8 = 128,
        scaling: Scaling
    ) {
        self.tiles = tiles
        self.tileWidth = tileWidth
        self.tileHeight = tileHeight
        self.columns = max(1, min(columns, tiles.count))
        self.scale = max(scale, 1)
        self.gap = max(gap, 0)
        self.background = background
        self.scaling = scaling
    }

    public var rows: Int { (tiles.count + columns - 1) / columns }
    public var width: Int { columns * (tileWidth * scale + gap) + gap }
    public var height: Int { rows * (tileHeight * scale + gap) + gap }

    /// The grid's grey levels, row-major, `width × height`.
    public func pixels() -> [UInt8] {
        var pixels = [UInt8](repeating: background, count: width * height)
        for (index, tile) in tiles.enumerated() {
            let grey: [UInt8]
            switch scaling {
            case .fixed(let low, let high): grey = PNG.greyscale(tile, low: low, high: high)
            case .perTile:
                let (low, high) = (tile.min() ?? 0, tile.max() ?? 0)
                grey = high > low ? PNG.greyscale(tile, low: low, high: high) : [UInt8](repeating: 0, count: tile.count)
            }
            // The tile's top-left corner in the grid.
            let left = gap + (index % columns) * (tileWidth * scale + gap)
            let top = gap + (index / columns) * (tileHeight * scale + gap)
            for y in 0..<tileHeight * scale {
                for x in 0..<tileWidth * scale {
                    pixels[(top + y) * width + left + x] = grey[(y / scale) * tileWidth + x / scale]
                }
            }
        }
        return pixels
    }

    /// Writes the grid as a greyscale PNG.
    public func write(to url: URL) throws {
        try PNG.write(width: width, height: height, pixels: pixels(), to: url)
    }

    /// The upsampling that makes a `side`-pixel tile about `target` pixels wide.
    public static func scale(forSide side: Int, target: Int = 84) -> Int { max(1, target / max(side, 1)) }
}

// MARK: Feature maps

/// A picture `FeatureMaps.write` produced.
public struct FeaturePicture: Sendable {
    public var file: URL
    /// What it shows, in words.
    public var caption: String
}

/// Bad input to the feature pictures.
public struct FeatureError: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { "features: \(reason)" }
}

public enum FeatureMaps {
    /// Test image `index` of `set`, in [0, 1], `[rows · columns]`.
    public static func image(_ index: Int, of set: LabeledImages) throws -> [Float] {
        guard index >= 0, index < set.count else {
            throw FeatureError(
                reason: "there is no test image \(index): the test set has \(set.count) images (indices 0 to \(set.count - 1))")
        }
        let pixels = set.rows * set.columns
        return set.pixels[index * pixels..<(index + 1) * pixels].map { Float($0) / 255 }
    }

    /// Writes into `folder`:
    /// - `image.png`: the input image;
    /// - `kernels-conv1.png`: the first convolution's kernels, each scaled to its own range (white is its largest weight);
    /// - for each convolution k, `conv{k}.png` with its output maps (before the activation) and, when an activation
    ///   follows it, `conv{k}-{activation}.png` with the maps after it (what the next layer sees).
    ///
    /// Each feature map is scaled to its own range (a constant map, such as one the ReLU zeroed, is black).
    /// `image` is `[C · H · W]` in [0, 1] for `inputShape` `[C, H, W]`; the model sees it through `normalization`
    /// (the one it was trained with) and runs in evaluation mode.
    @discardableResult
    public static func write(
        model: Sequential, image: [Float], inputShape: [Int], normalization: PixelNormalization, to folder: URL, on device: Device
    ) throws -> [FeaturePicture] {
        guard inputShape.count == 3 else { throw FeatureError(reason: "the input shape must be [C, H, W], got \(inputShape)") }
        guard let firstConvolution = model.layers.compactMap({ $0 as? Conv2D }).first else {
            throw FeatureError(reason: "the model has no convolution layer; feature maps need a CNN")
        }
        try OutputFolder.create(folder)
        var pictures: [FeaturePicture] = []
        func save(_ grid: ImageGrid, _ name: String, _ caption: String) throws {
            let url = folder.appendingPathComponent(name)
            try grid.write(to: url)
            pictures.append(FeaturePicture(file: url, caption: caption))
        }
        let (channels, height, width) = (inputShape[0], inputShape[1], inputShape[2])
        let planes = (0..<channels).map { Array(image[$0 * height * width..<($0 + 1) * height * width]) }
        try save(
            ImageGrid(
                tiles: planes, tileWidth: width, tileHeight: height, columns: channels, scale: 8, gap: 0, scaling: .fixed(low: 0, high: 1)),
            "image.png", "the input image (\(width)×\(height))")

        // Kernels [O, I, KH, KW]: one tile per (output, input) channel pair.
        let weight = firstConvolution.weight.shape
        let (outputs, inputs, kernelHeight, kernelWidth) = (weight[0], weight[1], weight[2], weight[3])
        let values = try firstConvolution.weight.value.floats()
        let area = kernelHeight * kernelWidth
        let kernels = (0..<outputs * inputs).map { Array(values[$0 * area..<($0 + 1) * area]) }
        try save(
            ImageGrid(
                tiles: kernels, tileWidth: kernelWidth, tileHeight: kernelHeight, columns: inputs == 1 ? min(outputs, 8) : inputs,
                scale: ImageGrid.scale(forSide: max(kernelHeight, kernelWidth), target: 40), scaling: .perTile),
            "kernels-conv1.png", "conv1's \(outputs * inputs) kernels (\(kernelWidth)×\(kernelHeight)), each scaled to its own range")

        func mapsGrid(_ tensor: Tensor) throws -> ImageGrid {
            let shape = tensor.shape
            let values = try tensor.floats()
            let area = shape[2] * shape[3]
            let maps = (0..<shape[1]).map { Array(values[$0 * area..<($0 + 1) * area]) }
            return ImageGrid(
                tiles: maps, tileWidth: shape[3], tileHeight: shape[2], columns: min(shape[1], 8),
                scale: ImageGrid.scale(forSide: max(shape[2], shape[3])), scaling: .perTile)
        }
        let context = ForwardContext(training: false)
        var x = try Tensor(image.map(normalization.apply), shape: Shape([1] + inputShape), on: device)
        var convolutions = 0
        var lastConvolution: String?
        for layer in model.layers {
            x = try layer.forward(x, context: context)
            if layer is Conv2D {
                convolutions += 1
                let name = "conv\(convolutions)"
                try save(try mapsGrid(x), "\(name).png", "\(name)'s \(x.shape[1]) maps (\(x.shape[3])×\(x.shape[2])) before the activation")
                lastConvolution = name
            } else if let activation = layer as? Activation, let name = lastConvolution, x.shape.rank == 4 {
                let function = activation.function.name
                try save(try mapsGrid(x), "\(name)-\(function).png", "\(name)'s \(x.shape[1]) maps after \(function)")
                lastConvolution = nil
            } else {
                lastConvolution = nil
            }
        }
        return pictures
    }
}

extension Activation.Function {
    /// The layer-string name (`relu`, `leakyrelu`, ...).
    var name: String {
        switch self {
        case .relu: "relu"
        case .leakyRelu: "leakyrelu"
        case .sigmoid: "sigmoid"
        case .tanh: "tanh"
        case .softmax: "softmax"
        case .elementwise(let function): function.identifier.filter { $0 != "_" }
        }
    }
}
