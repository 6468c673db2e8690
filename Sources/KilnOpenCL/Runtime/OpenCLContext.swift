// OpenCLContext: owns a cl_context and its one in-order command queue for one device.
import COpenCL
import Foundation

/// A context and its in-order command queue on one device. Buffers, programs and kernels keep
/// their context alive; the context is released when the last of them goes. Sendable because its
/// state is immutable apart from the lock-guarded list of kept buffers, and OpenCL contexts and queues
/// are thread-safe.
public final class OpenCLContext: @unchecked Sendable {
    /// The device this context runs on.
    public let device: OpenCLDeviceInfo
    let deviceHandle: OpenCLDeviceHandle
    let context: cl_context
    let queue: cl_command_queue
    /// Workarounds for defects of the device's OpenCL implementation.
    public let quirks: DeviceQuirks
    /// Buffers released while `quirks.keepsReleasedBuffers` holds, freed with the context.
    private var keptBuffers: [cl_mem] = []
    private let keptBuffersLock = NSLock()
    /// Bytes held by this context's buffers.
    let bufferByteCounter = ByteCounter()

    /// Creates a context and an in-order queue on `device`. The queue has profiling on (every OpenCL device supports
    /// it); only launches timed through `LaunchEvents` ask for events.
    public init(device: OpenCLDeviceHandle) throws(OpenCLError) {
        var status: cl_int = CL_SUCCESS
        var deviceID: cl_device_id? = device.deviceID
        var properties: [cl_context_properties] = [
            cl_context_properties(CL_CONTEXT_PLATFORM), cl_context_properties(Int(bitPattern: device.platformID)), 0,
        ]
        guard let context = clCreateContext(&properties, 1, &deviceID, nil, nil, &status), status == CL_SUCCESS else {
            throw .call(function: "clCreateContext", status: status == CL_SUCCESS ? CL_INVALID_VALUE : status)
        }
        guard let queue = clCreateCommandQueue(context, device.deviceID, cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE), &status),
            status == CL_SUCCESS
        else {
            OpenCLDiagnostics.report(clReleaseContext(context), "clReleaseContext")
            throw .call(function: "clCreateCommandQueue", status: status == CL_SUCCESS ? CL_INVALID_VALUE : status)
        }
        self.device = device.info
        self.deviceHandle = device
        self.context = context
        self.queue = queue
        self.quirks = DeviceQuirks(platformName: device.info.platformName)
        OpenCLLiveObjects.add(1, to: \.contexts)
        OpenCLLiveObjects.add(1, to: \.queues)
    }

    /// Opens the device a query selects (see `OpenCLDiscovery.select`).
    public convenience init(query: String) throws(OpenCLError) {
        try self.init(device: OpenCLDiscovery.select(query))
    }

    deinit {
        for memory in keptBuffers { OpenCLDiagnostics.report(clReleaseMemObject(memory), "clReleaseMemObject") }
        OpenCLDiagnostics.report(clReleaseCommandQueue(queue), "clReleaseCommandQueue")
        OpenCLDiagnostics.report(clReleaseContext(context), "clReleaseContext")
        OpenCLLiveObjects.add(-1, to: \.queues)
        OpenCLLiveObjects.add(-1, to: \.contexts)
    }

    /// Releases a buffer's memory now, or with the context when `quirks.keepsReleasedBuffers` holds.
    func release(_ memory: cl_mem) {
        guard quirks.keepsReleasedBuffers else {
            OpenCLDiagnostics.report(clReleaseMemObject(memory), "clReleaseMemObject")
            return
        }
        keptBuffersLock.lock()
        keptBuffers.append(memory)
        keptBuffersLock.unlock()
    }

    /// Bytes held by this context's buffers now.
    public var bufferBytes: Int { bufferByteCounter.value }

    /// Blocks until every command enqueued so far has completed.
    public func finish() throws(OpenCLError) {
        try check(clFinish(queue), "clFinish")
    }

    /// Submits enqueued commands to the device without waiting for them.
    public func flush() throws(OpenCLError) {
        try check(clFlush(queue), "clFlush")
    }
}
