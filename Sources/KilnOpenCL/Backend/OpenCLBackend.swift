// OpenCLBackend: runs every Op with kernels from Kernels/*.cl on one OpenCL device. This file holds the
// storage, copies, kernel lookup, launches and the dispatch; each op family lives in its own extension.
import COpenCL
import Foundation
import KilnCore

/// Device memory holding `count` floats.
public final class OpenCLStorage: DeviceStorage {
    public let buffer: OpenCLBuffer
    public let count: Int

    init(buffer: OpenCLBuffer, count: Int) {
        self.buffer = buffer
        self.count = count
    }
}

/// A kernel argument, in the order the kernel declares them.
enum KernelArgument {
    case buffer(OpenCLBuffer)
    case int(Int)
    case float(Float)
}

/// The Kiln backend on one OpenCL device, Float32 only.
public final class OpenCLBackend: Backend {
    public let context: OpenCLContext
    public let programs: ProgramCache
    public let name: String
    private var kernels: [KernelKey: OpenCLKernel] = [:]
    private var workspaces: [Workspace: OpenCLBuffer] = [:]
    /// Kernels and buffer copies enqueued so far.
    public private(set) var launchCount = 0
    /// While set (`countingLaunches`), launches and copies are counted and not enqueued.
    private var countsOnly = false
    /// Where launches keep their events while `timeLaunches` runs.
    private var launchEvents: LaunchEvents?
    /// Tunable values `kiln tune` measured fastest on this device (loaded from the program cache folder), if any.
    /// Set it to run the kernels with other values (`kiln check --tunable`, the kernel-variant tests).
    public var tuning: TuningTable? { didSet { tunedDefaults = [:] } }
    /// Each kernel file's defines under `tuning`, built once rather than on every launch.
    var tunedDefaults: [String: [(String, Int)]] = [:]
    /// Tunable values this device takes unless `tuning` or a caller sets them (`KernelDescription.deviceDefaults`), by
    /// kernel file.
    var deviceDefaults: [String: [String: Int]] { didSet { tunedDefaults = [:] } }
    /// The GEMM kernel family products run with (see `GemmVariant.preferred`); set it to run the other.
    public var gemmVariant: GemmVariant
    /// How many accumulators conv2d_channels.cl's work items keep (from the device's float vector width); set it to
    /// run the kernels in the other geometry.
    public var channelsGeometry: ChannelsGeometry
    /// Rows and units per work item of the LSTM sequence's forward kernel (from the device's float vector width); set
    /// it to run the kernel with others.
    public var lstmForwardBlocking: LSTMBlocking
    /// Rows and units per work item of the LSTM sequence's backward kernel (`LSTMBlocking.backward`); set it to run the
    /// kernel with others.
    public var lstmBackwardBlocking: LSTMBlocking
    /// Elements per work item of elementwise.cl's contiguous kernels over a number of elements
    /// (`OpenCLBackend.elementwiseRun(count:device:)` unless a test sets another).
    var elementwiseRun: (_ count: Int) -> Int
    /// Which products gemm.cl runs on a packed B, and with how many panels per work item (`OpenCLBackend.packedPanels`
    /// unless a test sends every product there).
    var packedPanels: (_ m: Int, _ n: Int, _ k: Int, _ paired: Bool) -> Int? = OpenCLBackend.packedPanels
    /// Which products with a transposed B gemm.cl runs as dot products of rows, B^T read in place
    /// (`OpenCLBackend.dotProductForm` unless a test sends every such product one way).
    var dotProductForm: (_ m: Int, _ n: Int, _ k: Int) -> Bool = OpenCLBackend.dotProductForm
    /// Which products with a transposed A gemm.cl's micro-kernel runs on A^T read in place
    /// (`OpenCLBackend.readsTransposedAInPlace` unless a test sends every such product one way).
    var readsTransposedA: (_ m: Int, _ n: Int, _ k: Int) -> Bool = OpenCLBackend.readsTransposedAInPlace

    private struct KernelKey: Hashable {
        let file: String
        let entry: String
        let options: String
    }

    /// Opens `device`; built programs are cached in `cacheDirectory` (default: see `ProgramCache`).
    public init(device: OpenCLDeviceHandle, cacheDirectory: URL? = nil) throws {
        context = try OpenCLContext(device: device)
        programs = ProgramCache(context: context, cacheDirectory: cacheDirectory)
        name = "opencl:\(device.info.index) (\(device.info.name))"
        tuning = TuningTable.load(identity: TuningTable.deviceIdentity(device.info), directory: programs.trustedDirectory)
        gemmVariant = try GemmVariant.preferred(for: device.info, tuning: tuning)
        channelsGeometry = ChannelsGeometry(vectorWidth: device.info.preferredVectorWidthFloat)
        lstmForwardBlocking = LSTMBlocking(vectorWidth: device.info.preferredVectorWidthFloat)
        lstmBackwardBlocking = LSTMBlocking.backward(vectorWidth: device.info.preferredVectorWidthFloat)
        deviceDefaults = KernelDescription.deviceDefaults(vectorWidth: device.info.preferredVectorWidthFloat)
        let info = device.info
        elementwiseRun = { Self.elementwiseRun(count: $0, device: info) }
    }

    /// The device's largest buffer and global memory.
    public var memoryLimits: MemoryLimits {
        MemoryLimits(
            largestAllocationBytes: context.device.maxAllocationBytes, totalBytes: context.device.globalMemoryBytes,
            bytesPerElement: MemoryLayout<Float>.size)
    }

    public func allocate(count: Int) throws -> any DeviceStorage {
        let limits = memoryLimits
        let bytes = try limits.check("buffer", [count], on: name)
        try limits.checkTotal("buffer", [count], bytes: bytes, inUse: context.bufferBytes, on: name)
        return OpenCLStorage(buffer: try OpenCLBuffer(context: context, byteCount: bytes), count: count)
    }

    public func write(_ values: [Float], to storage: any DeviceStorage) throws {
        try values.withUnsafeBufferPointer { try write($0, to: storage) }
    }

    /// One blocking copy from the caller's memory to the device.
    public func write(_ values: UnsafeBufferPointer<Float>, to storage: any DeviceStorage) throws {
        let storage = try own(storage)
        guard values.count == storage.count else {
            throw OpenCLError.invalidLaunch(kernel: "write", reason: "writing \(values.count) floats into storage of \(storage.count)")
        }
        try storage.buffer.write(from: UnsafeRawBufferPointer(values))
    }

    public func write(_ values: [Double], to storage: any DeviceStorage) throws {
        try write(values.map { Float($0) }, to: storage)
    }

    public func readFloats(_ storage: any DeviceStorage) throws -> [Float] {
        var values = [Float](repeating: 0, count: storage.count)
        try values.withUnsafeMutableBufferPointer { try read(storage, into: $0) }
        return values
    }

    /// One blocking copy from the device into the caller's memory.
    public func read(_ storage: any DeviceStorage, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let storage = try own(storage)
        guard destination.count == storage.count else {
            throw OpenCLError.invalidLaunch(kernel: "read", reason: "reading \(storage.count) floats into a buffer of \(destination.count)")
        }
        try storage.buffer.read(into: UnsafeMutableRawBufferPointer(destination))
    }

    public func readDoubles(_ storage: any DeviceStorage) throws -> [Double] {
        try readFloats(storage).map { Double($0) }
    }

    public func synchronize() throws { try context.finish() }

    public func timeLaunches(_ body: (_ label: (String) -> Void) throws -> Void) throws -> [LaunchTime]? {
        let events = LaunchEvents()
        launchEvents = events
        defer { launchEvents = nil }
        try body { events.label = $0 }
        try synchronize()
        return try events.seconds()
    }

    /// Runs `body` with launches and copies counted, kernels built, and nothing enqueued.
    public func countingLaunches(_ body: () throws -> Void) throws -> Int? {
        let (before, wasCounting) = (launchCount, countsOnly)
        countsOnly = true
        defer { countsOnly = wasCounting }
        try body()
        return launchCount - before
    }

    public func copy(_ source: any DeviceStorage, to destination: any DeviceStorage) throws {
        let (from, to) = (try own(source), try own(destination))
        guard from.count == to.count else {
            throw OpenCLError.invalidLaunch(kernel: "copy", reason: "copying \(from.count) floats into storage of \(to.count)")
        }
        if from.count == 0 { return }
        try enqueueCopy(from.buffer, offset: 0, to: to.buffer, offset: 0, count: from.count)
    }

    /// Every op has a kernel here (a fused op's activation included: the shape rules admit only fusible ones).
    public func implements(_ op: Op) -> Bool {
        switch op {
        case .data, .reshape: false
        default: true
        }
    }

    public func execute(_ op: Op, inputs: [Operand], output: any DeviceStorage, outputShape: Shape) throws {
        let out = try own(output).buffer
        let x = try inputs.map { OpenCLOperand(buffer: try own($0.storage).buffer, shape: $0.shape) }
        switch op {
        case .data, .reshape:
            throw OpenCLError.invalidLaunch(kernel: op.name, reason: "the executor handles \(op.name) without a kernel")
        case .fill(let value, _):
            try fill(out, count: outputShape.count, value: Float(value))
        case .dropoutMask(let probability, let seed, _):
            try dropoutMask(out, count: outputShape.count, probability: probability, seed: seed)
        case .unary(let function):
            try unary(function, x[0], out)
        case .unaryGradient(let function):
            try unaryGradient(function, x: x[0], dy: x[1], out)
        case .binary(let function):
            try binary(function, x[0], x[1], out, outputShape)
        case .oneHot(let classes):
            try oneHot(labels: x[0], classes: classes, out)
        case .broadcast, .transpose, .slice, .pad, .concatenate:
            try move(op, x, out, outputShape)
        case .reduce(let reduction, let axes, _):
            try reduce(reduction, axes: axes, x[0], out)
        case .argMax(let axis):
            try argMax(axis: axis, x[0], out)
        case .softmax(let axis):
            try softmax(axis: axis, logarithm: false, x[0], out)
        case .logSoftmax(let axis):
            try softmax(axis: axis, logarithm: true, x[0], out)
        case .matmul(let transposeA, let transposeB):
            try matmul(transposeA: transposeA, transposeB: transposeB, x[0], x[1], out, outputShape)
        case .biasAdd:
            try biasAdd(x[0], bias: x[1], out)
        case .linear(let transposeA, let transposeB, let activation):
            try matmul(
                transposeA: transposeA, transposeB: transposeB, x[0], x[1], out, outShape: outputShape, columnBias: x[2],
                activation: activation)
        case .linearGradient(let transposeA, let transposeB, let activation):
            try matmul(
                transposeA: transposeA, transposeB: transposeB, x[0], x[1], out, outShape: outputShape, derivativeOf: activation, at: x[2])
        case .conv2d(let attributes):
            try conv2d(attributes, x: x[0], w: x[1], bias: x.count > 2 ? x[2] : nil, out, outputShape)
        case .fusedConv2d(let attributes, let activation):
            try conv2d(
                attributes, x: x[0], w: x[1], bias: x.count > 2 ? x[2] : nil, out, outputShape, path: .automatic, activation: activation)
        case .conv2dBackwardInput(let attributes, _):
            try conv2dBackwardInput(attributes, dy: x[0], w: x[1], out, outputShape)
        case .conv2dBackwardWeight(let attributes, _):
            try conv2dBackwardWeight(attributes, x: x[0], dy: x[1], out, outputShape)
        case .maxPool2d(let attributes):
            try pool2d(attributes, maximum: true, x: x[0], out, outputShape)
        case .avgPool2d(let attributes):
            try pool2d(attributes, maximum: false, x: x[0], out, outputShape)
        case .maxPool2dBackward(let attributes):
            try maxPool2dBackward(attributes, x: x[0], dy: x[1], out)
        case .avgPool2dBackward(let attributes, _):
            try avgPool2dBackward(attributes, dy: x[0], out, outputShape)
        case .lstmCell:
            try lstmCell(z: x[0], cPrev: x[1], out)
        case .lstmCellBackward:
            try lstmCellBackward(z: x[0], cPrev: x[1], state: x[2], dState: x[3], out)
        case .lstmSequence:
            try lstmSequence(x: x[0], h0: x[1], c0: x[2], weightIH: x[3], weightHH: x[4], bias: x[5], out)
        case .lstmSequenceBackward:
            try lstmSequenceBackward(weightHH: x[0], state: x[1], dState: x[2], out)
        case .softmaxCrossEntropy:
            try softmaxCrossEntropy(logits: x[0], labels: x[1], out)
        case .softmaxCrossEntropyBackward:
            try softmaxCrossEntropyBackward(logits: x[0], labels: x[1], dy: x[2], out)
        case .update(let rule):
            try update(rule, x, out)
        case .batchMoments:
            try batchMoments(x[0], out)
        case .batchMomentsBackward:
            try batchMomentsBackward(x: x[0], moments: x[1], dMoments: x[2], out)
        case .batchNormalize(let epsilon):
            try batchNormalize(epsilon: epsilon, x: x[0], moments: x[1], weight: x[2], bias: x[3], out)
        case .batchNormSums(let epsilon):
            try batchNormSums(epsilon: epsilon, x: x[0], moments: x[1], dy: x[2], out)
        }
    }

    /// The kernel `entry` of `file` built with `defines` (`-D NAME=VALUE`, in the given order so the
    /// options can key the program cache). `-w`: pocl's compiler otherwise prints "N warnings generated" on
    /// the terminal for the float16 ABI note it gives on CPUs without AVX-512; errors still reach the build log.
    /// The program's source is `KernelCodes.header` followed by the file with its includes expanded.
    func kernel(_ file: String, _ entry: String, defines: [(String, Int)] = []) throws -> OpenCLKernel {
        let options = (["-cl-std=CL1.2", "-w"] + (defines + context.quirks.buildDefines).map { "-D \($0.0)=\($0.1)" })
            .joined(separator: " ")
        let key = KernelKey(file: file, entry: entry, options: options)
        if let kernel = kernels[key] { return kernel }
        let source = KernelCodes.header + (try KernelSource.program(of: file))
        let program = try programs.program(file: file, source: source, options: options)
        let kernel = try program.kernel(entry)
        kernels[key] = kernel
        return kernel
    }

    /// Builds every kernel the backend uses with its tuned or default tunables (the tiled GEMM only when it is the
    /// backend's variant, fitted to the device), so the first training step does not wait for the compiler. Returns
    /// the wall time it took; `programs.stats` says how many programs came from the disk cache and how many were compiled.
    @discardableResult
    public func warmUp() throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        for description in KernelDescription.all where description.file != KernelDescription.gemmTiled.file {
            let defines =
                description.entries == KernelDescription.lstmSequenceForward.entries
                ? sequenceDefines(description, blocking: lstmForwardBlocking)
                : description.entries == KernelDescription.lstmSequenceBackward.entries
                    ? sequenceDefines(description, blocking: lstmBackwardBlocking) : tunedDefines(description)
            for entry in description.entries { _ = try kernel(description.file, entry, defines: defines) }
        }
        if gemmVariant == .tiled, let defines = tiledDefines(groupLimit: context.device.maxWorkGroupSize) {
            for entry in KernelDescription.gemmTiled.entries { _ = try kernel(KernelDescription.gemmTiled.file, entry, defines: defines) }
        }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Sets `arguments` and enqueues `kernel` over `global` work items, with `preferredLocal` fitted to
    /// the device (`launchSize`); kernels bounds-check the rounded-up extra items.
    func launch(_ kernel: OpenCLKernel, _ arguments: [KernelArgument], global: [Int], preferredLocal: [Int]) throws {
        if countsOnly {
            launchCount += 1
            return
        }
        for (index, argument) in arguments.enumerated() {
            switch argument {
            case .buffer(let buffer): try kernel.setArgument(index, buffer)
            case .int(let value):
                guard let narrow = Int32(exactly: value) else {
                    throw OpenCLError.invalidLaunch(
                        kernel: kernel.name, reason: "argument \(index) = \(value) does not fit in a 32-bit int")
                }
                try kernel.setArgument(index, int32: narrow)
            case .float(let value): try kernel.setArgument(index, float: value)
            }
        }
        let size = launchSize(global: global, preferredLocal: preferredLocal, kernel: kernel)
        try kernel.enqueue(global: size.global, local: size.local, recordingIn: launchEvents)
        launchCount += 1
    }

    /// Enqueues a copy of `count` floats between buffers, at element offsets (movement.cl's `move_copy_range` where
    /// `context.quirks.transfersWithKernels` holds).
    func enqueueCopy(
        _ source: OpenCLBuffer, offset sourceOffset: Int, to destination: OpenCLBuffer, offset destinationOffset: Int, count: Int
    ) throws {
        if context.quirks.transfersWithKernels {
            let copy = try kernel(KernelDescription.movement.file, "move_copy_range")
            try launch(
                copy, [.buffer(source), .buffer(destination), .int(count), .int(sourceOffset), .int(destinationOffset)], global: [count],
                preferredLocal: Self.movementLocal)
            return
        }
        let size = MemoryLayout<Float>.size
        if countsOnly {
            launchCount += 1
            return
        }
        try check(
            clEnqueueCopyBuffer(
                context.queue, source.memory, destination.memory, sourceOffset * size, destinationOffset * size, count * size, 0, nil, nil),
            "clEnqueueCopyBuffer")
        launchCount += 1
    }

    /// Zeroes the first `count` floats of `buffer` (the whole buffer: `OpenCLBuffer.fillZero`), with elementwise.cl's
    /// `fill_forward` where `context.quirks.transfersWithKernels` holds.
    func zero(_ buffer: OpenCLBuffer, count: Int) throws {
        guard context.quirks.transfersWithKernels else {
            if !countsOnly { try buffer.fillZero() }
            return
        }
        try fill(buffer, count: count, value: 0)
    }

    /// Scratch memory for `role`, at least `count` floats, kept and reused across launches (it only
    /// grows), so a replayed plan allocates nothing. Reuse is safe: the queue is in order, and each role
    /// is used by one op at a time.
    func workspace(_ role: Workspace, count: Int) throws -> OpenCLBuffer {
        let bytes = max(count, 1) * MemoryLayout<Float>.size
        if let buffer = workspaces[role], buffer.byteCount >= bytes { return buffer }
        let buffer = try OpenCLBuffer(context: context, byteCount: bytes)
        workspaces[role] = buffer
        return buffer
    }

    func own(_ storage: any DeviceStorage) throws -> OpenCLStorage {
        guard let storage = storage as? OpenCLStorage, storage.buffer.context === context else {
            throw OpenCLError.invalidLaunch(kernel: "storage", reason: "storage belongs to another device")
        }
        return storage
    }
}

/// The roles scratch memory plays inside one op; each role has its own buffer.
enum Workspace: Hashable {
    case transposedA, transposedB, transposedWeight, columns, rows, weightPartials, partialSums, reducedStage, reducedStageAlternate
    /// `gemm`'s B packed into column panels (`packsB`).
    case packedB
    /// `conv2d_narrow.cl` and `conv2d_blocked.cl`: the zero-padded input.
    case paddedInput
    /// `conv2d_blocked.cl`: the weight flipped for the input gradient.
    case flippedWeight
    /// `conv2d_channels.cl`: the weight as [C, KH, KW, O rounded up to 16] (flipped for an input gradient).
    case channelsWeight
    /// `lstm_sequence.cl`: every step's input projection, `W_hhᵀ`, and the cell-state gradient carried between steps.
    case lstmProjection, lstmRecurrentWeight, lstmCellGradient
    /// `measureLaunchCost`: the one float its launches write.
    case launchCost
    /// An update's gradient rows summed (`UpdateRule`) before a one-tensor update kernel reads it.
    case gradientSums
}

/// An input buffer and its shape, as the op families receive them.
struct OpenCLOperand {
    let buffer: OpenCLBuffer
    let shape: Shape
}
