// ReferenceScalar: the float types the reference loops compute in (Float to agree with devices, Double for gradient
// checks), with the math their ops need.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#elseif canImport(Musl)
    import Musl
#endif

/// A float type the reference loops can compute in: `Float` for agreement with devices,
/// `Double` for gradient checks by finite differences.
public protocol ReferenceScalar: BinaryFloatingPoint {
    /// The backend's name when it computes in this type, e.g. `cpu` for `Float`.
    static var backendName: String { get }
    /// `e` raised to `x`.
    static func exponential(_ x: Self) -> Self
    /// The natural logarithm of `x`.
    static func logarithm(_ x: Self) -> Self
    /// `log(1 + x)`, accurate for small `x`.
    static func logarithmOnePlus(_ x: Self) -> Self
    /// The hyperbolic tangent of `x`.
    static func hyperbolicTangent(_ x: Self) -> Self
    /// `x` raised to `y`, as C's `pow`.
    static func power(_ x: Self, _ y: Self) -> Self
    /// The error function `2/√π ∫₀ˣ e^(−t²) dt`.
    static func errorFunction(_ x: Self) -> Self
}

extension ReferenceScalar {
    /// The logistic function `1 / (1 + e^-x)`, written so that neither branch overflows.
    static func sigmoid(_ x: Self) -> Self {
        if x >= 0 { return 1 / (1 + exponential(-x)) }
        let e = exponential(x)
        return e / (1 + e)
    }

    /// `log(1 + e^x)`, computed as `max(x, 0) + log1p(e^-|x|)` so it neither overflows nor loses small values.
    static func softplus(_ x: Self) -> Self {
        Swift.max(x, 0) + logarithmOnePlus(exponential(-Swift.abs(x)))
    }
}

extension Float: ReferenceScalar {
    public static var backendName: String { "cpu" }
    public static func exponential(_ x: Float) -> Float { expf(x) }
    public static func logarithm(_ x: Float) -> Float { logf(x) }
    public static func logarithmOnePlus(_ x: Float) -> Float { log1pf(x) }
    public static func hyperbolicTangent(_ x: Float) -> Float { tanhf(x) }
    public static func power(_ x: Float, _ y: Float) -> Float { powf(x, y) }
    public static func errorFunction(_ x: Float) -> Float { erff(x) }
}

extension Double: ReferenceScalar {
    public static var backendName: String { "cpu-double" }
    public static func exponential(_ x: Double) -> Double { exp(x) }
    public static func logarithm(_ x: Double) -> Double { log(x) }
    public static func logarithmOnePlus(_ x: Double) -> Double { log1p(x) }
    public static func hyperbolicTangent(_ x: Double) -> Double { tanh(x) }
    public static func power(_ x: Double, _ y: Double) -> Double { pow(x, y) }
    public static func errorFunction(_ x: Double) -> Double { erf(x) }
}
