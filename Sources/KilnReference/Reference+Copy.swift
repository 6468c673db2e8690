// Copying one storage into another, for variables and compiled plans.
import KilnCore

extension ReferenceBackend {
    public func copy(_ source: any DeviceStorage, to destination: any DeviceStorage) throws {
        guard let source = source as? ReferenceStorage<Scalar>, let destination = destination as? ReferenceStorage<Scalar> else {
            throw ReferenceBackendError.foreignStorage(
                op: "copy", expected: "\(ReferenceStorage<Scalar>.self)", actual: "\(type(of: source)), \(type(of: destination))")
        }
        guard source.count == destination.count else {
            throw ReferenceBackendError.countMismatch(op: "copy", role: "destination", expected: source.count, actual: destination.count)
        }
        destination.values = source.values
        launchCount += 1
    }
}
