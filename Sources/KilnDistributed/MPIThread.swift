// MPIThread: the one thread of the process that calls MPI (as Horovod's background thread does). Open MPI
// moves a nonblocking collective along only inside MPI calls, so the training thread hands its collectives
// to this thread, which keeps testing them while the training thread waits for the device: a gradient
// allreduce then proceeds during the rest of the backward pass. The thread also ends a collective that
// waits longer than the timeout, naming the ranks that did not take part.
import CKilnMPI
import Foundation

extension Communicator {
    /// A collective that has started; `Communicator.wait(for:)` finishes it.
    public final class Pending {
        /// What the collective does, for messages ("gradient allreduce of step 12 (bucket 2 of 3)").
        public let name: String
        var request = kiln_mpi_request()
        /// Its number among the collectives this rank started (heartbeats compare them).
        var number: Int64 = 0
        var startTime: UInt64 = 0
        /// Set before `finished` is signalled when it failed or timed out.
        var error: Error?
        let finished = DispatchSemaphore(value: 0)

        init(name: String) { self.name = name }
    }
}

/// The MPI thread: a queue of work and the collectives in flight.
final class MPIThread {
    /// Seconds a collective may wait, and what the timeout message needs; set once MPI has started.
    var timeout = Communicator.defaultTimeout
    var rank = -1
    var hosts: [String] = []
    /// Created on this thread once MPI has started; used only here.
    var heartbeat: Heartbeat?

    private let condition = NSCondition()
    private var work: [() -> Void] = []
    private var waiters = 0
    private var stopped = false
    /// Collectives started and not yet finished; touched only on this thread.
    private var active: [Communicator.Pending] = []

    init() {
        // The thread holds on to this object until `stop()`: MPI lives as long as the process.
        let thread = Thread { [self] in run() }
        thread.name = "kiln.mpi"
        thread.start()
    }

    /// Runs `body` on this thread and returns its result.
    func sync<T>(_ body: @escaping () throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        var result: Result<T, Error>?
        enqueue {
            result = Result { try body() }
            done.signal()
        }
        done.wait()
        guard let result else { throw DistributedError.setting("the MPI thread returned no result") }
        return try result.get()
    }

    /// Starts `operation` on this thread with `call` (an MPI_I... function filling in the request).
    func start(_ operation: Communicator.Pending, _ call: @escaping (inout kiln_mpi_request) -> Int32) {
        enqueue { [self] in
            do {
                operation.number = try heartbeat?.begin() ?? 0
                operation.startTime = DispatchTime.now().uptimeNanoseconds
                try MPICall.check(call(&operation.request), operation.name, rank: rank)
                active.append(operation)
            } catch {
                operation.error = error
                operation.finished.signal()
            }
        }
    }

    /// Waits until `operation` has finished; throws its error or its timeout.
    func wait(_ operation: Communicator.Pending) throws {
        condition.lock()
        waiters += 1
        condition.signal()
        condition.unlock()
        operation.finished.wait()
        operation.finished.signal()  // so a second wait returns at once
        condition.lock()
        waiters -= 1
        condition.unlock()
        if let error = operation.error { throw error }
    }

    /// Runs `body` on this thread without waiting for it.
    func enqueue(_ body: @escaping () -> Void) {
        condition.lock()
        work.append(body)
        condition.signal()
        condition.unlock()
    }

    /// Ends the thread once its queued work is done.
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            // Idle, it still wakes up for the heartbeat, so the other ranks know this process is alive.
            while work.isEmpty, active.isEmpty, !stopped {
                if !condition.wait(until: Date(timeIntervalSinceNow: Heartbeat.interval)) { break }
            }
            if stopped, work.isEmpty, active.isEmpty {
                condition.unlock()
                return
            }
            let items = work
            work = []
            let someoneWaits = waiters > 0
            condition.unlock()
            for item in items { item() }
            do {
                try heartbeat?.keepAlive()
            } catch {
                fail(active, with: error)
                active = []
            }
            guard !active.isEmpty else { continue }
            progress()
            // While the training thread waits for a collective, poll as fast as possible (each round of a ring
            // needs a call); while it works, poll every 50 µs and leave the cores to it and the device.
            if someoneWaits { sched_yield() } else { usleep(50) }
        }
    }

    /// Tests every active collective once, finishing those done, failed or out of time.
    private func progress() {
        let now = DispatchTime.now().uptimeNanoseconds
        active = active.filter { operation in
            var done: Int32 = 0
            do {
                try MPICall.check(kiln_mpi_test(&operation.request, &done), "MPI_Test", rank: rank)
            } catch {
                fail([operation], with: error)
                return false
            }
            if done != 0 {
                operation.finished.signal()
                return false
            }
            let waited = Double(now - operation.startTime) / 1e9
            guard waited > timeout else { return true }
            // A live rank is heard from every half second; four times that is silence.
            let late = heartbeat?.lateRanks(for: operation.number, silence: min(4 * Heartbeat.interval, timeout / 2))
            // Rank 0 hears from every rank, so the others give it a head start to name the late one.
            guard late != nil || waited > timeout + min(10, timeout / 4) else { return true }
            fail(
                [operation],
                with: DistributedError.timeout(rank: rank, operation: operation.name, seconds: waited, lateRanks: late, hosts: hosts))
            return false
        }
    }

    private func fail(_ operations: [Communicator.Pending], with error: Error) {
        for operation in operations {
            operation.error = error
            operation.finished.signal()
        }
    }
}
