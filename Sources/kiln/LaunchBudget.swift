// LaunchBudget: the line `kiln train` and `kiln profile` print under the plan report: a step's kernel launches
// priced at this device's measured per-launch cost.
import Foundation
import Kiln

enum LaunchBudget {
    /// "N launches per step, fixed cost about …" for `plan` on `device`, or nil where the launches or their cost
    /// cannot be known before a run (the reference backend runs ops on the host; it has no launch cost).
    static func line(_ plan: Plan, on device: Device) throws -> String? {
        guard let launches = plan.kernelLaunchesPerRun, let backend = device.backend as? OpenCLBackend else { return nil }
        let cost = try backend.measureLaunchCost()
        let microseconds = { (seconds: Double) in String(format: "%.1f µs", seconds * 1e6) }
        let milliseconds = { (seconds: Double) in String(format: "%.3f ms", seconds * 1e3) }
        return "launch budget: \(launches) kernel launches and copies per step; fixed cost about "
            + "\(milliseconds(Double(launches) * cost.queuedSeconds)) queued (\(microseconds(cost.queuedSeconds)) per launch, "
            + "\(microseconds(cost.enqueueSeconds)) of it on the host), \(milliseconds(Double(launches) * cost.waitedSeconds)) "
            + "with a wait after each (\(microseconds(cost.waitedSeconds))), measured now on \(device)"
    }
}
