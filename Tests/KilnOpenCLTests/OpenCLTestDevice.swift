// The OpenCL device the kernel tests run on, and the check every kernel test uses: run an op case on
// OpenCL and on the CPU reference (in Double) and compare, recording the worst error for the report.
import Kiln
import KilnTestSupport
import XCTest

enum OpenCLTestDevice {
    /// One backend for the whole test process, so programs are built once. Nil when no device exists.
    static let backend: OpenCLBackend? = {
        guard let handle = try? OpenCLDiscovery.select(ProcessInfo.processInfo.environment["KILN_TEST_OPENCL"] ?? "") else {
            return nil
        }
        return try? OpenCLBackend(device: handle)
    }()

    static let reference = ReferenceBackend<Double>()

    /// Whether a missing device fails the tests instead of skipping them: in CI (`CI=true`), which
    /// installs pocl, or when `KILN_REQUIRE_OPENCL=1`.
    static var deviceRequired: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["CI"] == "true" || environment["KILN_REQUIRE_OPENCL"] == "1"
    }

    /// The backend, or a skip that says why there is none. In CI a missing device is a failure.
    static func require() throws -> OpenCLBackend {
        guard let backend else {
            let reason = "no OpenCL device: install pocl-opencl-icd to run the kernel tests"
            if deviceRequired { throw OpenCLError.noDevice }
            throw XCTSkip(reason)
        }
        return backend
    }

    /// Inputs rounded to Float first, so both backends see identical values.
    static func roundedToFloat(_ inputs: [CaseInput]) -> [CaseInput] {
        inputs.map { CaseInput($0.shape, $0.values.map { Double(Float($0)) }) }
    }

    /// Runs `opCase` on OpenCL and on the Double reference, asserts closeness, and prints one
    /// `KERNEL-ERROR` line (op, shapes, worst absolute and relative error) for the issue note.
    static func check(_ opCase: OpCase, file: StaticString = #filePath, line: UInt = #line) throws {
        let backend = try require()
        let inputs = roundedToFloat(opCase.inputs)
        let expected = try run(opCase.op, inputs, on: reference)
        let actual = try run(opCase.op, inputs, on: backend)
        let result = compare(actual, expected, opCase.tolerance)
        print("KERNEL-ERROR op=\(opCase.op.name) case=\"\(opCase)\" max_abs=\(result.maxAbsoluteError) max_rel=\(result.maxRelativeError)")
        assertClose(actual, expected, opCase.tolerance, "\(opCase)", file: file, line: line)
    }
}
