// Launch cost: the fixed cost of one kernel launch on this device, measured with a near-empty kernel
// (elementwise.cl's fill_forward on one float), so a plan's launch budget can be priced (`kiln train`, `kiln profile`).
import Foundation

/// What one kernel launch costs on a device, whatever the kernel does.
public struct LaunchCost: Sendable, Equatable {
    /// Host seconds to enqueue one launch.
    public var enqueueSeconds: Double
    /// Seconds per launch of a stream of queued launches waited for once (host and device together).
    public var queuedSeconds: Double
    /// Seconds for one launch followed by a wait for it.
    public var waitedSeconds: Double
}

extension OpenCLBackend {
    /// Measures `LaunchCost` with `queued` launches enqueued back to back then waited for, and `waited` launches each
    /// waited for, in `rounds` rounds keeping each figure's least (what other work on a busy machine did not add); about
    /// 5 ms on pocl with the defaults, after the kernel is built.
    public func measureLaunchCost(queued: Int = 200, waited: Int = 20, rounds: Int = 3) throws -> LaunchCost {
        let target = try workspace(.launchCost, count: 1)
        try fill(target, count: 1, value: 0)
        try synchronize()
        var best = try launchCostRound(target, queued: queued, waited: waited)
        for _ in 1..<max(rounds, 1) {
            let round = try launchCostRound(target, queued: queued, waited: waited)
            best = LaunchCost(
                enqueueSeconds: min(best.enqueueSeconds, round.enqueueSeconds), queuedSeconds: min(best.queuedSeconds, round.queuedSeconds),
                waitedSeconds: min(best.waitedSeconds, round.waitedSeconds))
        }
        return best
    }

    private func launchCostRound(_ target: OpenCLBuffer, queued: Int, waited: Int) throws -> LaunchCost {
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        let start = now()
        for _ in 0..<queued { try fill(target, count: 1, value: 0) }
        let enqueued = now()
        try synchronize()
        let finished = now()
        var waitedTotal = 0.0
        for _ in 0..<waited {
            let launched = now()
            try fill(target, count: 1, value: 0)
            try synchronize()
            waitedTotal += now() - launched
        }
        return LaunchCost(
            enqueueSeconds: (enqueued - start) / Double(max(queued, 1)), queuedSeconds: (finished - start) / Double(max(queued, 1)),
            waitedSeconds: waitedTotal / Double(max(waited, 1)))
    }
}
