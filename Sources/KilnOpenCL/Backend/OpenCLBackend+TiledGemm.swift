// The GPU-shaped GEMM variant (Kernels/gemm_tiled.cl): its description, the tile configuration fitted to the device's
// limits, and its launch. `gemm` runs it when the backend's `gemmVariant` is `.tiled`.
import KilnCore

extension KernelDescription {
    /// gemm_tiled.cl: work-group tiles in local memory, a register block per work item.
    static let gemmTiled = KernelDescription(
        file: "gemm_tiled.cl",
        entries: ["gemm_forward_tiled"],
        tunables: [
            KernelTunable(name: "TILED_M", defaultValue: 64, candidates: [32, 64, 128]),
            KernelTunable(name: "TILED_N", defaultValue: 64, candidates: [32, 64, 128]),
            KernelTunable(name: "TILED_K", defaultValue: 16, candidates: [8, 16, 32]),
            KernelTunable(name: "TILED_THREADS_M", defaultValue: 16, candidates: [8, 16]),
            KernelTunable(name: "TILED_THREADS_N", defaultValue: 16, candidates: [8, 16]),
            KernelTunable(name: "TILED_WIDTH", defaultValue: 1, candidates: [1, 2, 4]),
        ],
        isValid: { values in
            guard let m = values["TILED_M"], let n = values["TILED_N"], let k = values["TILED_K"],
                let threadsM = values["TILED_THREADS_M"], let threadsN = values["TILED_THREADS_N"], let width = values["TILED_WIDTH"]
            else { return false }
            let tiles = [16, 32, 64, 128]
            let threads = [4, 8, 16, 32]
            return tiles.contains(m) && tiles.contains(n) && [8, 16, 32].contains(k) && threads.contains(threadsM)
                && threads.contains(threadsN) && m % threadsM == 0 && n % threadsN == 0 && [1, 2, 4].contains(width)
        })
}

extension OpenCLBackend {
    /// Bytes of local memory gemm_forward_tiled's two blocks take: A's TILED_M (+1 padding) x TILED_K and B's
    /// TILED_K x TILED_N floats.
    static func tiledLocalBytes(_ values: [String: Int]) -> Int {
        let (m, n, k) = (values["TILED_M"] ?? 0, values["TILED_N"] ?? 0, values["TILED_K"] ?? 0)
        return k * (m + 1 + n) * MemoryLayout<Float>.size
    }

    /// gemm_tiled.cl's defines for this device: the tuned values (else the defaults, with TILED_WIDTH the device's
    /// preferred float vector width up to 4), shrunk until the work group fits `groupLimit` work items and the
    /// device's work-item sizes, and both blocks fit its local memory: the thread counts halve first (each work
    /// item then takes a larger register block), then TILED_K, then the tile. Nil when even the smallest
    /// configuration does not fit.
    func tiledDefines(groupLimit: Int) -> [(String, Int)]? {
        let description = KernelDescription.gemmTiled
        var values = Dictionary(uniqueKeysWithValues: tunedDefines(description))
        let device = context.device
        if tuning?.kernels[description.file]?["TILED_WIDTH"] == nil {
            values["TILED_WIDTH"] = [4, 2, 1].first { $0 <= max(1, device.preferredVectorWidthFloat) } ?? 1
        }
        let itemLimits = (device.maxWorkItemSizes.first ?? 1, device.maxWorkItemSizes.dropFirst().first ?? 1)
        func threadsFit() -> Bool {
            let (threadsM, threadsN) = (values["TILED_THREADS_M"] ?? 0, values["TILED_THREADS_N"] ?? 0)
            return threadsM * threadsN <= min(groupLimit, device.maxWorkGroupSize) && threadsN <= itemLimits.0 && threadsM <= itemLimits.1
        }
        while !threadsFit() {
            let larger = (values["TILED_THREADS_M"] ?? 0) >= (values["TILED_THREADS_N"] ?? 0) ? "TILED_THREADS_M" : "TILED_THREADS_N"
            guard let threads = values[larger], threads > 4 else { return nil }
            values[larger] = threads / 2
        }
        while Self.tiledLocalBytes(values) > device.localMemoryBytes {
            if let k = values["TILED_K"], k > 8 {
                values["TILED_K"] = k / 2
            } else {
                let larger = (values["TILED_M"] ?? 0) >= (values["TILED_N"] ?? 0) ? "TILED_M" : "TILED_N"
                let threads = larger == "TILED_M" ? values["TILED_THREADS_M"] ?? 0 : values["TILED_THREADS_N"] ?? 0
                guard let tile = values[larger], tile / 2 >= max(16, threads) else { return nil }
                values[larger] = tile / 2
            }
        }
        guard description.isValid(values) else { return nil }
        return description.defines(values)
    }

    /// `gemm` with gemm_forward_tiled (same arguments and result; `epilogue` as `epilogueArguments` gives). Returns false, launching nothing, when no tile
    /// configuration fits the device, so the caller runs the register-blocked kernel instead.
    func tiledGemm(
        a: OpenCLBuffer, aBatchStride: Int, b: OpenCLBuffer, bBatchStride: Int, c: OpenCLBuffer, cBatchStride: Int,
        m: Int, n: Int, k: Int, batch: Int, epilogue: [KernelArgument]
    ) throws -> Bool {
        let file = KernelDescription.gemmTiled.file
        var groupLimit = context.device.maxWorkGroupSize
        // The kernel's own limit (CL_KERNEL_WORK_GROUP_SIZE) is known once it is built; a build over it is redone smaller.
        while true {
            guard let defines = tiledDefines(groupLimit: groupLimit) else { return false }
            let kernel = try kernel(file, "gemm_forward_tiled", defines: defines)
            let values = Dictionary(uniqueKeysWithValues: defines)
            let (threadsM, threadsN) = (values["TILED_THREADS_M"] ?? 1, values["TILED_THREADS_N"] ?? 1)
            guard threadsM * threadsN <= kernel.workGroupSizeLimit else {
                groupLimit = kernel.workGroupSizeLimit
                continue
            }
            let (tileM, tileN) = (values["TILED_M"] ?? 1, values["TILED_N"] ?? 1)
            try launch(
                kernel,
                [
                    .buffer(a), .buffer(b), .buffer(c), .int(m), .int(n), .int(k), .int(aBatchStride), .int(bBatchStride),
                    .int(cBatchStride),
                ] + epilogue,
                global: [(n + tileN - 1) / tileN * threadsN, (m + tileM - 1) / tileM * threadsM, batch],
                preferredLocal: [threadsN, threadsM, 1])
            return true
        }
    }
}
