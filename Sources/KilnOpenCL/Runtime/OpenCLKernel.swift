// OpenCLKernel: owns one cl_kernel; sets arguments and enqueues launches. Also `launchSize`, the
// one place local and global sizes are fitted to the device and kernel limits.
import COpenCL

/// One kernel entry point of a built program. Setting arguments mutates the kernel, so one
/// `OpenCLKernel` must not be used from two threads at once.
public final class OpenCLKernel {
    public let program: OpenCLProgram
    public let name: String
    /// The largest work group this kernel can be launched with on this device
    /// (`CL_KERNEL_WORK_GROUP_SIZE`); may be below the device's maximum.
    public let workGroupSizeLimit: Int
    let kernel: cl_kernel
    /// Buffers bound as arguments, kept alive while they may still be read by a launch.
    private var boundBuffers: [Int: OpenCLBuffer] = [:]

    init(program: OpenCLProgram, name: String) throws(OpenCLError) {
        var status: cl_int = CL_SUCCESS
        guard let kernel = clCreateKernel(program.program, name, &status), status == CL_SUCCESS else {
            throw .call(
                function: "clCreateKernel(\(name))", status: status == CL_SUCCESS ? CL_INVALID_KERNEL_NAME : status)
        }
        var limit = 0
        let limitStatus = clGetKernelWorkGroupInfo(
            kernel, program.context.deviceHandle.deviceID, cl_kernel_work_group_info(CL_KERNEL_WORK_GROUP_SIZE),
            MemoryLayout<Int>.size, &limit, nil)
        guard limitStatus == CL_SUCCESS else {
            OpenCLDiagnostics.report(clReleaseKernel(kernel), "clReleaseKernel")
            throw .call(function: "clGetKernelWorkGroupInfo", status: limitStatus)
        }
        self.program = program
        self.name = name
        self.workGroupSizeLimit = Swift.max(1, limit)
        self.kernel = kernel
        OpenCLLiveObjects.add(1, to: \.kernels)
    }

    deinit {
        OpenCLDiagnostics.report(clReleaseKernel(kernel), "clReleaseKernel")
        OpenCLLiveObjects.add(-1, to: \.kernels)
    }

    public var context: OpenCLContext { program.context }

    public func setArgument(_ index: Int, _ buffer: OpenCLBuffer) throws(OpenCLError) {
        guard buffer.context === context else {
            throw .invalidLaunch(kernel: name, reason: "argument \(index) is a buffer of another context")
        }
        var memory: cl_mem? = buffer.memory
        try setRaw(index, MemoryLayout<cl_mem?>.size, &memory)
        boundBuffers[index] = buffer
    }

    public func setArgument(_ index: Int, int32 value: Int32) throws(OpenCLError) {
        var value = value
        try setRaw(index, MemoryLayout<Int32>.size, &value)
        boundBuffers[index] = nil
    }

    public func setArgument(_ index: Int, float value: Float) throws(OpenCLError) {
        var value = value
        try setRaw(index, MemoryLayout<Float>.size, &value)
        boundBuffers[index] = nil
    }

    /// Gives a `__local` pointer argument `bytes` of local memory per work group.
    public func setLocalMemory(_ index: Int, bytes: Int) throws(OpenCLError) {
        guard bytes > 0, bytes <= context.device.localMemoryBytes else {
            throw .invalidLaunch(
                kernel: name,
                reason: "argument \(index) asks for \(bytes) bytes of local memory; "
                    + "the device has \(context.device.localMemoryBytes)")
        }
        try check(clSetKernelArg(kernel, cl_uint(index), bytes, nil), "clSetKernelArg(\(name), \(index))")
        boundBuffers[index] = nil
    }

    private func setRaw(_ index: Int, _ size: Int, _ value: UnsafeRawPointer) throws(OpenCLError) {
        guard index >= 0 else { throw .invalidLaunch(kernel: name, reason: "argument index \(index) is negative") }
        try check(clSetKernelArg(kernel, cl_uint(index), size, value), "clSetKernelArg(\(name), \(index))")
    }

    /// Enqueues one launch on the context's queue and returns without waiting. `global` must be a
    /// multiple of `local` in every dimension (use `launchSize`); `local == nil` lets the driver
    /// choose. A launch with no work items (a zero in `global`) does nothing.
    public func enqueue(global: [Int], local: [Int]?) throws(OpenCLError) {
        try enqueue(global: global, local: local, recordingIn: nil)
    }

    /// `enqueue(global:local:)`, keeping the launch's event in `events` when given.
    func enqueue(global: [Int], local: [Int]?, recordingIn events: LaunchEvents?) throws(OpenCLError) {
        guard (1...3).contains(global.count) else {
            throw .invalidLaunch(kernel: name, reason: "global size \(global) must have 1 to 3 dimensions")
        }
        guard global.allSatisfy({ $0 >= 0 }) else {
            throw .invalidLaunch(kernel: name, reason: "global size \(global) has a negative dimension")
        }
        if global.contains(0) { return }
        if let local {
            guard local.count == global.count, local.allSatisfy({ $0 > 0 }) else {
                throw .invalidLaunch(
                    kernel: name, reason: "local size \(local) must be positive and match global size \(global) in rank"
                )
            }
            guard zip(global, local).allSatisfy({ $0 % $1 == 0 }) else {
                throw .invalidLaunch(
                    kernel: name,
                    reason:
                        "global size \(global) is not a multiple of local size \(local); round it with launchSize(...)")
            }
            let groupSize = local.reduce(1, *)
            guard groupSize <= workGroupSizeLimit, groupSize <= context.device.maxWorkGroupSize else {
                throw .invalidLaunch(
                    kernel: name,
                    reason: "work group \(local) has \(groupSize) items; this kernel allows \(workGroupSizeLimit) on "
                        + "\(context.device.name); compute it with launchSize(...)")
            }
        }
        var event: cl_event?
        let status: cl_int = withUnsafeMutablePointer(to: &event) { eventPointer in
            let eventOut = events == nil ? nil : eventPointer
            return global.withUnsafeBufferPointer { globalSizes in
                guard let local else {
                    return clEnqueueNDRangeKernel(
                        context.queue, kernel, cl_uint(global.count), nil, globalSizes.baseAddress, nil, 0, nil, eventOut)
                }
                return local.withUnsafeBufferPointer { localSizes in
                    clEnqueueNDRangeKernel(
                        context.queue, kernel, cl_uint(global.count), nil, globalSizes.baseAddress, localSizes.baseAddress,
                        0, nil, eventOut)
                }
            }
        }
        try check(status, "clEnqueueNDRangeKernel(\(name))")
        if let events, let event { events.add(event, kernel: name) }
    }
}

/// Fits a launch to the device: clamps each local dimension to the device's work-item limits,
/// shrinks the work group (halving its largest dimension) until it fits the device and kernel
/// work-group limits, then rounds each global dimension up to a multiple of the local size.
/// pocl and OpenCL 1.2 have no non-uniform work groups, so kernels must bounds-check the extra
/// work items. Global dimensions of zero stay zero (and `enqueue` then launches nothing).
public func launchSize(global: [Int], preferredLocal: [Int], kernel: OpenCLKernel) -> (global: [Int], local: [Int]) {
    let device = kernel.context.device
    return fitLaunchSize(
        global: global, preferredLocal: preferredLocal,
        maxWorkItemSizes: device.maxWorkItemSizes,
        maxWorkGroupSize: Swift.min(device.maxWorkGroupSize, kernel.workGroupSizeLimit))
}

/// The arithmetic of `launchSize`, separate from any device so it can be tested on its own.
func fitLaunchSize(global: [Int], preferredLocal: [Int], maxWorkItemSizes: [Int], maxWorkGroupSize: Int)
    -> (global: [Int], local: [Int])
{
    var local = global.indices.map { dimension -> Int in
        let preferred = dimension < preferredLocal.count ? preferredLocal[dimension] : 1
        let itemLimit = dimension < maxWorkItemSizes.count ? maxWorkItemSizes[dimension] : 1
        return Swift.max(1, Swift.min(preferred, itemLimit))
    }
    let groupLimit = Swift.max(1, maxWorkGroupSize)
    while local.reduce(1, *) > groupLimit, let largest = local.indices.max(by: { local[$0] < local[$1] }) {
        local[largest] = Swift.max(1, local[largest] / 2)
    }
    let rounded = zip(global, local).map { size, group in (Swift.max(0, size) + group - 1) / group * group }
    return (rounded, local)
}
