// KernelVariant: an OpenCL backend seen through one kernel variant, so the catalog's cases can be run with kernels
// the backend would not choose on its own: other tunable values (a backend with its tuning table set) or another
// path for some ops (`route`). Its name says which variant, so a failure names device and variant.
import Kiln

@testable import KilnOpenCL

final class KernelVariant: Backend {
    let base: OpenCLBackend
    let name: String
    /// Runs `op` the variant's way and returns true, or returns false to leave it to the backend.
    private let route: ((Op, [OpenCLOperand], OpenCLBuffer, Shape) throws -> Bool)?

    init(_ base: OpenCLBackend, variant: String, route: ((Op, [OpenCLOperand], OpenCLBuffer, Shape) throws -> Bool)? = nil) {
        self.base = base
        self.name = "\(base.name) with \(variant)"
        self.route = route
    }

    /// A fresh backend on `handle` whose kernels of `file` build with `values` (the other tunables as tuned or default).
    /// A GEMM file also picks its variant (gemm.cl the register-blocked kernel, gemm_tiled.cl the tiled one).
    static func tuned(_ handle: OpenCLDeviceHandle, file: String, values: [String: Int]) throws -> KernelVariant {
        let backend = try OpenCLBackend(device: handle)
        var table = backend.tuning ?? TuningTable(device: TuningTable.deviceIdentity(handle.info))
        table.kernels[file, default: [:]].merge(values) { $1 }
        backend.tuning = table
        if file == KernelDescription.gemm.file { backend.gemmVariant = .registerBlocked }
        if file == KernelDescription.gemmTiled.file { backend.gemmVariant = .tiled }
        let described = values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return KernelVariant(backend, variant: "\(file) \(described)")
    }

    var launchCount: Int { base.launchCount }
    var memoryLimits: MemoryLimits { base.memoryLimits }
    func implements(_ op: Op) -> Bool { base.implements(op) }
    func allocate(count: Int) throws -> any DeviceStorage { try base.allocate(count: count) }
    func write(_ values: [Float], to storage: any DeviceStorage) throws { try base.write(values, to: storage) }
    func write(_ values: [Double], to storage: any DeviceStorage) throws { try base.write(values, to: storage) }
    func readFloats(_ storage: any DeviceStorage) throws -> [Float] { try base.readFloats(storage) }
    func readDoubles(_ storage: any DeviceStorage) throws -> [Double] { try base.readDoubles(storage) }
    func copy(_ source: any DeviceStorage, to destination: any DeviceStorage) throws { try base.copy(source, to: destination) }
    func synchronize() throws { try base.synchronize() }

    func execute(_ op: Op, inputs: [Operand], output: any DeviceStorage, outputShape: Shape) throws {
        if let route, let out = output as? OpenCLStorage {
            let operands = inputs.compactMap { input in
                (input.storage as? OpenCLStorage).map { OpenCLOperand(buffer: $0.buffer, shape: input.shape) }
            }
            if operands.count == inputs.count, try route(op, operands, out.buffer, outputShape) { return }
        }
        try base.execute(op, inputs: inputs, output: output, outputShape: outputShape)
    }
}
