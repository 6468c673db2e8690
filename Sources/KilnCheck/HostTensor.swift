// HostTensor: a tensor's values on the host, row-major, with its shape: what a case's inputs are drawn as
// and what a device's and the reference's outputs are read back as.
import KilnCore

/// Row-major values and a shape, on the host.
public struct HostTensor: Hashable, Sendable, CustomStringConvertible {
    public var values: [Double]
    public var shape: Shape

    public init(_ values: [Double], _ shape: Shape) {
        self.values = values
        self.shape = shape
    }

    public var description: String { "\(shape)" }

    /// The same values rounded to Float32, so a Float32 device and the Double reference read identical inputs.
    public var roundedToFloat: HostTensor { HostTensor(values.map { Double(Float($0)) }, shape) }
}
