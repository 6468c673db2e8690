// GAN models: the DCGAN-style generator (noise → Dense → BatchNorm → ReLU → reshape → two transposed
// convolutions → tanh) and discriminator (two strided convolutions with leaky ReLU → one logit).
import Foundation
import Kiln

/// A bad GAN setting; the message names the setting and what would fix it.
public struct GANError: Error, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "gan: \(reason)" }

    /// A loss became NaN or infinite: training stops instead of continuing on garbage.
    static func nonFinite(_ network: String, step: Int, loss: Float) -> GANError {
        GANError("the \(network)'s loss is \(loss) at its step \(step); lower the learning rate")
    }
}

/// The sizes of a GAN on square greyscale images.
public struct GANArchitecture: Codable, Sendable, Equatable {
    /// Length of the noise vector `z`.
    public var noise: Int
    /// Channels after the generator's first transposed convolution; the dense layer feeds `2 · width`
    /// channels at a quarter of the image side, and the discriminator mirrors it.
    public var width: Int
    /// The image side in pixels (a multiple of 4: two stride-2 layers halve it twice).
    public var imageSide: Int

    public init(noise: Int = 100, width: Int = 64, imageSide: Int = 28) {
        self.noise = noise
        self.width = width
        self.imageSide = imageSide
    }

    /// Throws when a size cannot build the two networks.
    public func validate() throws {
        guard noise > 0 else { throw GANError("the noise length must be positive, got \(noise)") }
        guard width > 0 else { throw GANError("the width must be positive, got \(width)") }
        guard imageSide >= 4, imageSide % 4 == 0 else {
            throw GANError("the image side must be a positive multiple of 4 (two stride-2 layers), got \(imageSide)")
        }
    }

    /// The side of the smallest feature map (after the dense layer, before the discriminator's last layer).
    var quarterSide: Int { imageSide / 4 }

    /// `z [N, noise]` → Dense(noise, 2w·s²) → BatchNorm → ReLU → `[N, 2w, s, s]` → ConvTranspose2D(2w, w, k4 s2 p1)
    /// → BatchNorm → ReLU → ConvTranspose2D(w, 1, k4 s2 p1) → tanh, giving `[N, 1, 4s, 4s]` in [-1, 1] (s = side / 4).
    public func generator(random: inout RandomSource, on device: Device) throws -> Sequential {
        try validate()
        let (channels, side) = (2 * width, quarterSide)
        return Sequential([
            try Dense(noise, channels * side * side, random: &random, on: device),
            try BatchNorm(features: channels * side * side, on: device),
            ReLU(),
            Reshape([channels, side, side]),
            try ConvTranspose2D(channels, width, kernel: [4], stride: [2], padding: [1], random: &random, on: device),
            try BatchNorm(features: width, on: device),
            ReLU(),
            try ConvTranspose2D(width, 1, kernel: [4], stride: [2], padding: [1], random: &random, on: device),
            Tanh(),
        ])
    }

    /// `x [N, 1, 4s, 4s]` → Conv2D(1, w, k4 s2 p1) → LeakyReLU(0.2) → Conv2D(w, 2w, k4 s2 p1) → LeakyReLU(0.2)
    /// → flatten → Dense(2w·s², 1): one logit per image. No batch norm, so real and fake images can share
    /// one forward pass without mixing their statistics.
    public func discriminator(random: inout RandomSource, on device: Device) throws -> Sequential {
        try validate()
        let side = quarterSide
        return Sequential([
            try Conv2D(1, width, kernel: [4], stride: [2], padding: [1], random: &random, on: device),
            LeakyReLU(slope: 0.2),
            try Conv2D(width, 2 * width, kernel: [4], stride: [2], padding: [1], random: &random, on: device),
            LeakyReLU(slope: 0.2),
            Flatten(),
            try Dense(2 * width * side * side, 1, random: &random, on: device),
        ])
    }
}

/// `[N, ...]` to `[N] + shape` (PyTorch's `nn.Unflatten(1, shape)`): the generator's step from a vector to feature maps.
public final class Reshape: Layer {
    /// The shape of one example.
    public let shape: [Int]
    public init(_ shape: [Int]) { self.shape = shape }
    public func forward(_ x: Tensor, context: ForwardContext) throws -> Tensor {
        try x.reshaped(Shape([x.shape[0]] + shape))
    }
}
