// CaseCheck: one case run on one or more backends and compared with the reference in Double. The inputs and
// expected values are computed once and shared by every backend; any error (a kernel that does not build, a
// launch the device refuses) is a failed result carrying its message, never a crash of the whole check.
import Dispatch
import KilnCore

/// The outcome of one case on one backend.
public struct CaseResult: Sendable {
    /// The case as listed (its checked case may be a smaller one: see `OpCase.Expectation.smallerCase`).
    public let opCase: OpCase
    /// The backend's name, e.g. `opencl:0 (pthread-haswell-AMD EPYC 9B14)`.
    public let device: String
    /// The comparison with the reference; nil when the case could not run.
    public let comparison: Comparison?
    /// Why the case could not run or be compared.
    public let error: String?
    /// Wall time of the run on the device (the reference's not included).
    public let seconds: Double

    public var passed: Bool { error == nil && comparison?.passed == true }

    /// The worst error-to-tolerance ratio; infinite when the case could not run.
    public var ratio: Double { error == nil ? comparison?.ratio ?? .infinity : .infinity }

    /// One line saying what failed and where, for test failures and reports.
    public var failureDescription: String {
        let what = "\(opCase.id) (\(opCase.checkedCase.summary)) on \(device)"
        if let error { return "\(what): \(error)" }
        return "\(what): \(comparison.map(String.init(describing:)) ?? "not compared"); tolerance \(opCase.tolerance)"
    }
}

public enum CaseCheck {
    /// Runs `opCase` on each of `backends` and compares each result with the reference in Double.
    public static func run(_ opCase: OpCase, on backends: [any Backend]) -> [CaseResult] {
        let checked = opCase.checkedCase
        let prepared = Result { () throws -> ([HostTensor], (values: [Double], indices: [Int]?)) in
            let inputs = try checked.drawInputs()
            guard let expected = try checked.expectedValues(inputs) else {
                throw CheckError.badCase("\(checked.id) has no expected values")
            }
            return (inputs, expected)
        }
        return backends.map { backend in
            switch prepared {
            case .failure(let error):
                return CaseResult(
                    opCase: opCase, device: backend.name, comparison: nil, error: "the reference failed: \(error)", seconds: 0)
            case .success(let (inputs, expected)):
                return run(opCase, checked: checked, inputs: inputs, expected: expected, on: backend)
            }
        }
    }

    private static func run(
        _ opCase: OpCase, checked: OpCase, inputs: [HostTensor], expected: (values: [Double], indices: [Int]?), on backend: any Backend
    ) -> CaseResult {
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            let outputs = try checked.evaluate(inputs, on: backend)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let comparison = checked.tolerance.compare(try OpCase.picked(outputs, at: expected.indices), expected.values)
            return CaseResult(opCase: opCase, device: backend.name, comparison: comparison, error: nil, seconds: seconds)
        } catch {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            return CaseResult(opCase: opCase, device: backend.name, comparison: nil, error: String(describing: error), seconds: seconds)
        }
    }
}
