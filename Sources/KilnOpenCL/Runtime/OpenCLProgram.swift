// OpenCLProgram: owns a built cl_program, made from source or from a cached binary; reads its
// build log and its binary back for the disk cache.
import COpenCL

/// A program built for the context's device. Created by `ProgramCache`, which is the place to
/// get programs from; the initialisers are internal so every build goes through the cache.
/// Sendable: immutable, and a built cl_program is thread-safe. Kernels made from it are not.
public final class OpenCLProgram: @unchecked Sendable {
    public let context: OpenCLContext
    /// The kernel file the program came from, for error messages.
    public let file: String
    public let options: String
    /// The compiler's log of the successful build (warnings), often empty.
    public let buildLog: String
    let program: cl_program

    /// Compiles `source`. Throws `.build` with the device log when the compiler rejects it.
    init(context: OpenCLContext, file: String, source: String, options: String) throws(OpenCLError) {
        var status: cl_int = CL_SUCCESS
        let created: cl_program? = source.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            var length = source.utf8.count
            return clCreateProgramWithSource(context.context, 1, &pointer, &length, &status)
        }
        guard let program = created, status == CL_SUCCESS else {
            throw .call(function: "clCreateProgramWithSource", status: status == CL_SUCCESS ? CL_INVALID_VALUE : status)
        }
        do {
            self.buildLog = try Self.build(program, context: context, file: file, options: options)
        } catch {
            OpenCLDiagnostics.report(clReleaseProgram(program), "clReleaseProgram")
            throw error
        }
        self.context = context
        self.file = file
        self.options = options
        self.program = program
        OpenCLLiveObjects.add(1, to: \.programs)
    }

    /// Loads a binary this device produced earlier and builds (links) it.
    init(context: OpenCLContext, file: String, binary: [UInt8], options: String) throws(OpenCLError) {
        var status: cl_int = CL_SUCCESS
        var binaryStatus: cl_int = CL_SUCCESS
        var deviceID: cl_device_id? = context.deviceHandle.deviceID
        let created: cl_program? = binary.withUnsafeBufferPointer { bytes in
            var pointer: UnsafePointer<UInt8>? = bytes.baseAddress
            var length = bytes.count
            return clCreateProgramWithBinary(context.context, 1, &deviceID, &length, &pointer, &binaryStatus, &status)
        }
        guard let program = created, status == CL_SUCCESS, binaryStatus == CL_SUCCESS else {
            if let program = created { OpenCLDiagnostics.report(clReleaseProgram(program), "clReleaseProgram") }
            let failure = status != CL_SUCCESS ? status : binaryStatus
            throw .call(
                function: "clCreateProgramWithBinary", status: failure == CL_SUCCESS ? CL_INVALID_BINARY : failure)
        }
        do {
            self.buildLog = try Self.build(program, context: context, file: file, options: options)
        } catch {
            OpenCLDiagnostics.report(clReleaseProgram(program), "clReleaseProgram")
            throw error
        }
        self.context = context
        self.file = file
        self.options = options
        self.program = program
        OpenCLLiveObjects.add(1, to: \.programs)
    }

    deinit {
        OpenCLDiagnostics.report(clReleaseProgram(program), "clReleaseProgram")
        OpenCLLiveObjects.add(-1, to: \.programs)
    }

    /// A kernel of this program by entry-point name.
    public func kernel(_ name: String) throws(OpenCLError) -> OpenCLKernel {
        try OpenCLKernel(program: self, name: name)
    }

    /// The device binary, for the disk cache.
    func binary() throws(OpenCLError) -> [UInt8] {
        var size = 0
        try check(
            clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil),
            "clGetProgramInfo")
        guard size > 0 else {
            throw .invalidArgument(function: "clGetProgramInfo", reason: "the device returned an empty program binary")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        let status = bytes.withUnsafeMutableBufferPointer { buffer in
            var pointer: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return clGetProgramInfo(
                program, cl_program_info(CL_PROGRAM_BINARIES), MemoryLayout<UnsafeMutablePointer<UInt8>?>.size,
                &pointer, nil)
        }
        try check(status, "clGetProgramInfo")
        return bytes
    }

    /// Builds for the context's device; returns the log, or throws `.build` with it.
    private static func build(
        _ program: cl_program, context: OpenCLContext, file: String, options: String
    ) throws(OpenCLError) -> String {
        var deviceID: cl_device_id? = context.deviceHandle.deviceID
        let status = clBuildProgram(program, 1, &deviceID, options, nil, nil)
        let log = buildLog(program, device: context.deviceHandle.deviceID)
        guard status == CL_SUCCESS else {
            let detail =
                status == CL_BUILD_PROGRAM_FAILURE
                ? log : "clBuildProgram returned \(OpenCLStatus.name(of: status)) (\(status)). \(log)"
            throw .build(kernel: file, options: options, log: detail)
        }
        return log
    }

    /// The device's build log; a failure to read it yields the empty string, so it never hides
    /// the error that made us ask for it.
    private static func buildLog(_ program: cl_program, device: cl_device_id) -> String {
        var size = 0
        let info = cl_program_build_info(CL_PROGRAM_BUILD_LOG)
        guard clGetProgramBuildInfo(program, device, info, 0, nil, &size) == CL_SUCCESS, size > 0 else { return "" }
        var bytes = [CChar](repeating: 0, count: size + 1)
        guard clGetProgramBuildInfo(program, device, info, size, &bytes, nil) == CL_SUCCESS else { return "" }
        return trimmedOpenCLText(String(cString: bytes))
    }
}
