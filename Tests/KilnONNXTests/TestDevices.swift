// The devices the ONNX tests run on: the test support's backends (the reference, then every OpenCL device,
// each built once per test process) as devices.
import Kiln
import KilnTestSupport

func availableDevices() throws -> [Device] {
    TestDevices.all.map { Device($0) }
}
