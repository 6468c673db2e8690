// LaunchEvents: the device time of kernel launches, read from their OpenCL events (the queue has profiling on), so a
// run can be timed op by op while its launches stay queued back to back.
import COpenCL
import KilnCore

/// Kernel launches' events, each under the label current when it was enqueued and its kernel's name. Read `seconds()` once the queue
/// has finished them; the events are released then (or with the recorder).
final class LaunchEvents {
    /// The label the next launches count towards.
    var label = ""
    private var events: [(label: String, kernel: String, event: cl_event)] = []

    deinit {
        for (_, _, event) in events { OpenCLDiagnostics.report(clReleaseEvent(event), "clReleaseEvent") }
    }

    /// Keeps `event`, a launch of `kernel` (this recorder now owns it), under the current label.
    func add(_ event: cl_event, kernel: String) {
        events.append((label, kernel, event))
    }

    /// Each launch's label, kernel and device seconds (from its start to its end, as the device reports them), in
    /// launch order; the queue must have finished the launches.
    func seconds() throws(OpenCLError) -> [LaunchTime] {
        var times: [LaunchTime] = []
        for (label, kernel, event) in events {
            let nanoseconds =
                try Self.profilingTime(event, CL_PROFILING_COMMAND_END) - Self.profilingTime(event, CL_PROFILING_COMMAND_START)
            times.append(LaunchTime(label: label, kernel: kernel, seconds: Double(nanoseconds) / 1e9))
        }
        return times
    }

    private static func profilingTime(_ event: cl_event, _ name: Int32) throws(OpenCLError) -> Int64 {
        var value: cl_ulong = 0
        try check(
            clGetEventProfilingInfo(event, cl_profiling_info(name), MemoryLayout<cl_ulong>.size, &value, nil), "clGetEventProfilingInfo")
        return Int64(bitPattern: value)
    }
}
