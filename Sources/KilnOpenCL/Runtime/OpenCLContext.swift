// OpenCLContext: owns a cl_context and its one in-order command queue for one device.
import COpenCL

/// A context and its in-order command queue on one device. Buffers, programs and kernels keep
/// their context alive; the context is released when the last of them goes. Sendable because its
/// state is immutable and OpenCL contexts and queues are thread-safe.
public final class OpenCLContext: @unchecked Sendable {
    /// The device this context runs on.
    public let device: OpenCLDeviceInfo
    let deviceHandle: OpenCLDeviceHandle
    let context: cl_context
    let queue: cl_command_queue
    /// Bytes held by this context's buffers.
    let bufferByteCounter = ByteCounter()

    /// Creates a context and an in-order queue (no profiling) on `device`.
    public init(device: OpenCLDeviceHandle) throws(OpenCLError) {
        var status: cl_int = CL_SUCCESS
        var deviceID: cl_device_id? = device.deviceID
        var properties: [cl_context_properties] = [
            cl_context_properties(CL_CONTEXT_PLATFORM), cl_context_properties(Int(bitPattern: device.platformID)), 0,
        ]
        guard let context = clCreateContext(&properties, 1, &deviceID, nil, nil, &status), status == CL_SUCCESS else {
            throw .call(function: "clCreateContext", status: status == CL_SUCCESS ? CL_INVALID_VALUE : status)
        }
        guard let queue = clCreateCommandQueue(context, device.deviceID, 0, &status), status == CL_SUCCESS else {
            OpenCLDiagnostics.report(clReleaseContext(context), "clReleaseContext")
            throw .call(function: "clCreateCommandQueue", status: status == CL_SUCCESS ? CL_INVALID_VALUE : status)
        }
        self.device = device.info
        self.deviceHandle = device
        self.context = context
        self.queue = queue
        OpenCLLiveObjects.add(1, to: \.contexts)
        OpenCLLiveObjects.add(1, to: \.queues)
    }

    /// Opens the device a query selects (see `OpenCLDiscovery.select`).
    public convenience init(query: String) throws(OpenCLError) {
        try self.init(device: OpenCLDiscovery.select(query))
    }

    deinit {
        OpenCLDiagnostics.report(clReleaseCommandQueue(queue), "clReleaseCommandQueue")
        OpenCLDiagnostics.report(clReleaseContext(context), "clReleaseContext")
        OpenCLLiveObjects.add(-1, to: \.queues)
        OpenCLLiveObjects.add(-1, to: \.contexts)
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
