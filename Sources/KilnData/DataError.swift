// DataError: what can be wrong with a file Kiln reads, naming the file and the field.
import Foundation

/// A data set or checkpoint file that cannot be used. Each case names the file and says what is wrong.
public enum DataError: LocalizedError, CustomStringConvertible, Equatable {
    case unreadable(file: String, reason: String)
    case truncated(file: String, expectedBytes: Int, actualBytes: Int)
    case badMagic(file: String, found: UInt32, expected: String)
    case countMismatch(images: String, imageCount: Int, labels: String, labelCount: Int)
    case invalidHeader(file: String, reason: String)
    case missingTensor(file: String, name: String)
    case wrongShape(file: String, name: String, expected: [Int], found: [Int])
    case wrongDType(file: String, name: String, found: String)
    case unwritable(file: String, reason: String)
    /// A checkpoint's weights hold NaN or infinite values (`tensors` names them, with their counts).
    case nonFiniteWeights(file: String, tensors: String)
    /// A text file holds something that is not UTF-8 text at byte `offset`.
    case invalidText(file: String, offset: Int, reason: String)
    /// A compressed file inflates to more than `limit` bytes.
    case inflatesTooFar(file: String, compressedBytes: Int, limit: Int)
    /// A well-formed file holds a value Kiln cannot use (a negative label); `reason` says which and where.
    case invalidValue(file: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason): "\(file): cannot read: \(reason)"
        case .truncated(let file, let expected, let actual):
            "\(file): truncated: needs \(expected) bytes, has \(actual); download or install it again"
        case .badMagic(let file, let found, let expected):
            "\(file): not \(expected) (magic number 0x\(String(found, radix: 16))); is this the right file?"
        case .countMismatch(let images, let imageCount, let labels, let labelCount):
            "\(images) holds \(imageCount) images but \(labels) holds \(labelCount) labels; they must come from the same set"
        case .invalidHeader(let file, let reason): "\(file): invalid header: \(reason)"
        case .missingTensor(let file, let name): "\(file): no tensor named '\(name)'"
        case .wrongShape(let file, let name, let expected, let found):
            "\(file): tensor '\(name)' has shape \(found), the model needs \(expected)"
        case .wrongDType(let file, let name, let found): "\(file): tensor '\(name)' has dtype \(found), Kiln reads F32"
        case .unwritable(let file, let reason): "\(file): cannot write: \(reason)"
        case .nonFiniteWeights(let file, let tensors):
            "\(file): holds non-finite weights (NaN or infinity in \(tensors)); the run that wrote it diverged: "
                + "start again, or from an earlier checkpoint, with a lower --lr (or --clip-norm)"
        case .invalidText(let file, let offset, let reason): "\(file): not UTF-8 text: at byte \(offset), \(reason)"
        case .inflatesTooFar(let file, let compressed, let limit):
            "\(file): its \(compressed) compressed bytes inflate to more than \(limit) bytes, the limit; if the file is genuine, "
                + "raise the limit with --max-inflated MiB"
        case .invalidValue(let file, let reason): "\(file): \(reason)"
        }
    }

    /// The description, also for code that reads `localizedDescription`.
    public var errorDescription: String? { description }
}
