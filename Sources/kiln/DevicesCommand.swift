// `kiln devices`: every OpenCL platform and device with its capabilities, plus the CPU reference.
import ArgumentParser
import Foundation
import Kiln

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the devices Kiln can run on and what each can do.",
        discussion: """
            Select a device with --device or the KILN_DEVICE environment variable: cpu (the reference \
            backend), opencl (the first GPU, else the first OpenCL device), opencl:N (by index) or \
            opencl:NAME (a case-insensitive part of the platform or device name).
            """
    )

    @Flag(name: .long, help: "Print one JSON object per device.")
    var json = false

    func run() throws {
        let devices = try OpenCLDiscovery.devices().map(\.info)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(#"{"device":"cpu","description":"CPU reference backend (Swift loops, Float32; Double in tests)"}"#)
            for device in devices {
                print(String(decoding: try encoder.encode(device), as: UTF8.self))
            }
            return
        }
        print("cpu         CPU reference backend (plain Swift, Float32)")
        if devices.isEmpty { print("(no OpenCL devices: install pocl-opencl-icd for the CPU OpenCL device)") }
        for device in devices {
            print("opencl:\(device.index)    \(device.platformName) / \(device.name)")
            print(
                "            type \(device.typeDescription), \(device.computeUnits) compute units at \(device.maxClockMHz) MHz, driver \(device.driverVersion)"
            )
            print(
                "            global memory \(megabytes(device.globalMemoryBytes)), max allocation \(megabytes(device.maxAllocationBytes)), local memory \(device.localMemoryBytes / 1024) KiB"
            )
            print(
                "            max work group \(device.maxWorkGroupSize), work items \(device.maxWorkItemSizes.map(String.init).joined(separator: "x")), fp16 \(device.hasFP16 ? "yes" : "no"), fp64 \(device.hasFP64 ? "yes" : "no")"
            )
        }
    }

    private func megabytes(_ bytes: Int) -> String { "\(bytes / (1 << 20)) MiB" }
}
