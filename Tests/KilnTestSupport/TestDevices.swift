// The devices the kernel tests run on: the reference backend in Float32 and every OpenCL device of every
// platform the machine lists (KILN_TEST_OPENCL narrows that to the one device it names, as `opencl:QUERY`).
// In CI (`CI=true`) or with `KILN_REQUIRE_OPENCL=1` a missing OpenCL device is a failure, not a skip.
import Foundation
import Kiln
import XCTest

public enum TestDevices {
    /// Every OpenCL device of every platform, or the one `KILN_TEST_OPENCL` names.
    public static let openCLHandles: [OpenCLDeviceHandle] = {
        if let query = ProcessInfo.processInfo.environment["KILN_TEST_OPENCL"] {
            return (try? OpenCLDiscovery.select(query)).map { [$0] } ?? []
        }
        return (try? OpenCLDiscovery.devices()) ?? []
    }()

    /// One backend per OpenCL device for the whole test process, so each program is built once per device.
    public static let openCL: [OpenCLBackend] = openCLHandles.compactMap { try? OpenCLBackend(device: $0) }

    /// The reference backend in Float32, then every OpenCL device.
    public static var all: [any Backend] { [ReferenceBackend<Float>()] + openCL }

    /// Whether a missing OpenCL device fails the tests instead of skipping them: in CI (`CI=true`), which installs
    /// pocl, or when `KILN_REQUIRE_OPENCL=1`.
    public static var openCLRequired: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["CI"] == "true" || environment["KILN_REQUIRE_OPENCL"] == "1"
    }

    /// Every OpenCL device, or a skip that says why there is none (a failure where a device is required).
    public static func requireOpenCL() throws -> [OpenCLBackend] {
        if openCL.isEmpty {
            if openCLRequired { throw OpenCLError.noDevice }
            throw XCTSkip("no OpenCL device: install pocl-opencl-icd to run the kernel tests")
        }
        return openCL
    }

    /// The tier of catalog cases the tests run: `.quick` with `KILN_CHECK_QUICK=1` (under a simulator such as
    /// oclgrind), else `.standard`.
    public static var tier: OpCase.Tier {
        ProcessInfo.processInfo.environment["KILN_CHECK_QUICK"] == "1" ? .quick : .standard
    }

    /// Runs `cases` on `backends` (default: every device) and fails the test once per case and device outside its
    /// tolerance or unable to run, naming both. Returns the results.
    @discardableResult
    public static func check(
        _ cases: [OpCase], on backends: [any Backend] = all, file: StaticString = #filePath, line: UInt = #line
    ) -> [CaseResult] {
        let results = cases.flatMap { CaseCheck.run($0, on: backends) }
        for result in results where !result.passed {
            XCTFail(result.failureDescription, file: file, line: line)
        }
        return results
    }
}
