// The devices the KilnTests cases run on: the CPU reference, and OpenCL when a device exists.
import Kiln

func availableDevices() throws -> [Device] {
    var devices = [try Device.named("cpu")]
    if (try? OpenCLDiscovery.devices().isEmpty) == false { devices.append(try Device.named("opencl")) }
    return devices
}
