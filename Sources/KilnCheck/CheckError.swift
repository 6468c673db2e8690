// CheckError: what goes wrong in running the catalog itself (as opposed to a device failing a case).
/// An error in the catalog or its use, naming what to fix.
public enum CheckError: Error, CustomStringConvertible, Equatable {
    /// A case that cannot be run as declared.
    case badCase(String)
    /// `--op` named no op of the catalog.
    case unknownOp(String, known: [String])

    public var description: String {
        switch self {
        case .badCase(let message): "[catalog] \(message)"
        case .unknownOp(let name, let known): "unknown op '\(name)'; the catalog's ops: \(known.joined(separator: ", "))"
        }
    }
}
