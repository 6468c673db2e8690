// The training loop: it runs a task's batches from the position it keeps (mid-epoch after a resume), takes
// each epoch's learning rate from the schedule, calls the hooks, stops between batches when asked, refuses an
// epoch without batches, and stops at a NaN loss before any hook records it.
import Kiln
import XCTest

final class TrainingLoopTests: XCTestCase {
    /// A task whose batch losses are given, recording what the loop asked of it.
    final class ScriptedTask: TrainingTask {
        let losses: [Float]
        var calls: [String] = []
        init(_ losses: [Float]) { self.losses = losses }

        var batchesPerEpoch: Int { losses.count }
        var emptyEpochReason: String { "no batches in this script" }
        func beginEpoch(_ epoch: Int, at batch: Int) throws { calls.append("begin \(epoch) at \(batch)") }
        func trainBatch(_ batch: Int, learningRate: Double) throws -> Float {
            calls.append("batch \(batch) lr \(learningRate)")
            return losses[batch]
        }
        func endEpoch(_ epoch: Int, training: EpochTraining) throws -> Double {
            calls.append("end \(epoch) after \(training.batches)")
            return training.meanLoss
        }
    }

    func testTheLoopRunsFromItsPositionWithTheScheduleAndHooks() throws {
        let task = ScriptedTask([4, 2, 3])
        let loop = TrainingLoop(position: TrainingPosition(epoch: 1, batch: 1))
        var seen: [String] = []
        let hooks = TrainingHooks<Double>(
            learningRate: { 0.5 / Double($0 + 1) },
            batchEnded: { position, batches, loss in seen.append("\(position.epoch).\(position.batch)/\(batches) \(loss)") },
            epochEnded: { seen.append("report \($0)") })
        XCTAssertTrue(try loop.run(task, epochs: 3, hooks: hooks))
        XCTAssertEqual(
            task.calls,
            [
                "begin 1 at 1", "batch 1 lr 0.25", "batch 2 lr 0.25", "end 1 after 2",
                "begin 2 at 0", "batch 0 lr \(0.5 / 3)", "batch 1 lr \(0.5 / 3)", "batch 2 lr \(0.5 / 3)", "end 2 after 3",
            ])
        XCTAssertEqual(seen, ["1.2/3 2.0", "1.3/3 3.0", "report 2.5", "2.1/3 4.0", "2.2/3 2.0", "2.3/3 3.0", "report 3.0"])
        XCTAssertEqual(loop.position, TrainingPosition(epoch: 3, batch: 0))
    }

    func testShouldStopEndsTheEpochBetweenBatches() throws {
        let task = ScriptedTask([1, 1, 1, 1])
        let loop = TrainingLoop()
        var batches = 0
        let hooks = TrainingHooks<Double>(learningRate: { _ in 0.1 }, shouldStop: { batches == 2 }, batchEnded: { _, _, _ in batches += 1 })
        XCTAssertNil(try loop.runEpoch(task, hooks: hooks))
        XCTAssertEqual(loop.position, TrainingPosition(epoch: 0, batch: 2), "the next batch, for a checkpoint")
    }

    func testANonFiniteLossStopsBeforeAnyHookSeesIt() throws {
        for bad in [Float.nan, .infinity] {
            let task = ScriptedTask([1, bad, 1])
            var recorded: [Float] = []
            let hooks = TrainingHooks<Double>(learningRate: { _ in 0.1 }, batchEnded: { _, _, loss in recorded.append(loss) })
            XCTAssertThrowsError(try TrainingLoop().runEpoch(task, hooks: hooks)) { error in
                let diverged = error as? DivergedError
                XCTAssertEqual(diverged?.epoch, 1)
                XCTAssertEqual(diverged?.batch, 2)
                XCTAssertTrue("\(error)".contains("lower the learning rate"), "\(error)")
            }
            XCTAssertEqual(recorded, [1])
        }
    }

    func testAnEpochWithoutBatchesOrAPositionOutsideItIsAnError() throws {
        XCTAssertThrowsError(try TrainingLoop().runEpoch(ScriptedTask([]), hooks: TrainingHooks<Double>(learningRate: { _ in 0.1 }))) {
            XCTAssertEqual($0 as? TrainingError, .noBatches(reason: "no batches in this script"))
        }
        let loop = TrainingLoop(position: TrainingPosition(epoch: 0, batch: 5))
        XCTAssertThrowsError(try loop.runEpoch(ScriptedTask([1, 1]), hooks: TrainingHooks<Double>(learningRate: { _ in 0.1 }))) {
            XCTAssertEqual($0 as? TrainingError, .invalidPosition("batch 5 is outside the 2 batches of an epoch"))
        }
    }
}
