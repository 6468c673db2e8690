// The metadata a Kiln-exported ONNX model records: its input normalisation, so whoever runs the file feeds it
// the inputs it was trained on (`kiln eval --onnx`, `kiln predict --onnx`, the C API).
import Foundation
import KilnData

extension ONNXModel {
    /// metadata_props keys of the normalisation `(pixel / 255 − mean) / standard deviation`.
    public static let normalizationMeanKey = "kiln.normalization.mean"
    public static let normalizationDeviationKey = "kiln.normalization.standard_deviation"

    /// The metadata that records `normalization`.
    public static func metadata(for normalization: PixelNormalization) -> [String: String] {
        [normalizationMeanKey: "\(normalization.mean)", normalizationDeviationKey: "\(normalization.standardDeviation)"]
    }

    /// The model's metadata_props by key (the last of repeated keys).
    public var metadata: [String: String] {
        Dictionary(proto.metadataProps.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// The normalisation the model's metadata records; nil when it records none (a model from another tool).
    public var normalization: PixelNormalization? {
        let properties = metadata
        guard let mean = properties[Self.normalizationMeanKey].flatMap(Double.init),
            let deviation = properties[Self.normalizationDeviationKey].flatMap(Double.init), deviation > 0
        else { return nil }
        return PixelNormalization(mean: mean, standardDeviation: deviation)
    }
}
