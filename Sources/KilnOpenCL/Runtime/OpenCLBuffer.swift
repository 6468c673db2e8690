// OpenCLBuffer: owns one cl_mem of device memory; blocking copies to and from the host.
import COpenCL

/// A device buffer. Keeps its context alive. Copies are blocking on the context's in-order queue,
/// so they also wait for every kernel enqueued before them. Sendable: immutable, and OpenCL memory
/// objects are thread-safe (ordering between threads is the caller's business).
public final class OpenCLBuffer: @unchecked Sendable {
    public let context: OpenCLContext
    /// The size asked for. OpenCL rejects zero-byte buffers, so a zero-byte buffer allocates a
    /// few bytes but still reports zero here.
    public let byteCount: Int
    let memory: cl_mem

    /// Smallest allocation made, so that `byteCount == 0` is still a valid cl_mem.
    private static let minimumAllocation = 4

    public init(context: OpenCLContext, byteCount: Int) throws(OpenCLError) {
        guard byteCount >= 0 else {
            throw .invalidArgument(function: "OpenCLBuffer.init", reason: "byteCount \(byteCount) is negative")
        }
        guard byteCount <= context.device.maxAllocationBytes else {
            throw .invalidArgument(
                function: "OpenCLBuffer.init",
                reason: "\(byteCount) bytes exceed the largest allocation of \(context.device.name) "
                    + "(\(context.device.maxAllocationBytes) bytes); use a smaller batch or model")
        }
        var status: cl_int = CL_SUCCESS
        let allocation = Swift.max(byteCount, Self.minimumAllocation)
        guard let memory = clCreateBuffer(context.context, cl_mem_flags(CL_MEM_READ_WRITE), allocation, nil, &status),
            status == CL_SUCCESS
        else {
            throw .call(function: "clCreateBuffer", status: status == CL_SUCCESS ? CL_INVALID_VALUE : status)
        }
        self.context = context
        self.byteCount = byteCount
        self.memory = memory
        context.bufferByteCounter.add(byteCount)
        OpenCLLiveObjects.add(1, to: \.buffers)
        OpenCLLiveObjects.add(byteCount, to: \.bufferBytes)
    }

    deinit {
        context.release(memory)
        context.bufferByteCounter.add(-byteCount)
        OpenCLLiveObjects.add(-1, to: \.buffers)
        OpenCLLiveObjects.add(-byteCount, to: \.bufferBytes)
    }

    /// Copies `source` into the buffer at `offset` bytes; returns when the copy is done.
    public func write(from source: UnsafeRawBufferPointer, offset: Int = 0) throws(OpenCLError) {
        try checkRange(offset: offset, count: source.count, "OpenCLBuffer.write")
        guard let base = source.baseAddress, source.count > 0 else { return }
        try check(
            clEnqueueWriteBuffer(context.queue, memory, cl_bool(CL_TRUE), offset, source.count, base, 0, nil, nil),
            "clEnqueueWriteBuffer")
    }

    /// Copies from the buffer at `offset` bytes into `destination`; returns when the copy is done.
    public func read(into destination: UnsafeMutableRawBufferPointer, offset: Int = 0) throws(OpenCLError) {
        try checkRange(offset: offset, count: destination.count, "OpenCLBuffer.read")
        guard let base = destination.baseAddress, destination.count > 0 else { return }
        try check(
            clEnqueueReadBuffer(context.queue, memory, cl_bool(CL_TRUE), offset, destination.count, base, 0, nil, nil),
            "clEnqueueReadBuffer")
    }

    /// Sets every byte to zero. Enqueued, not blocking: later commands on the queue see the zeros.
    public func fillZero() throws(OpenCLError) {
        guard byteCount > 0 else { return }
        var zero: UInt8 = 0
        try check(
            clEnqueueFillBuffer(context.queue, memory, &zero, 1, 0, byteCount, 0, nil, nil), "clEnqueueFillBuffer")
    }

    private func checkRange(offset: Int, count: Int, _ function: String) throws(OpenCLError) {
        guard offset >= 0, count >= 0, offset <= byteCount - count else {
            throw .invalidArgument(
                function: function,
                reason: "\(count) bytes at offset \(offset) do not fit in a buffer of \(byteCount) bytes")
        }
    }
}
