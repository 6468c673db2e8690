// The bench's workload descriptions: every one builds on the reference backend, the list matches the
// issue's, and the check refuses to time a workload whose results differ from the reference.
import Kiln
import KilnBenchmarks
import KilnCheck
import XCTest

final class BenchmarkWorkloadTests: XCTestCase {
    func testTheListMatchesTheIssue() {
        XCTAssertEqual(
            Workload.all.map(\.name),
            [
                "sgemm_256", "sgemm_512", "sgemm_1024", "sgemm_2048", "sgemm_64x128x3136", "conv1_fwd", "conv1_fwdbwd",
                "conv2_fwd", "conv2_fwdbwd", "pool1_fwdbwd", "pool2_fwdbwd", "lstm_fwdbwd", "cnn_train_step", "mlp_train_step",
                "resnet_train_step", "charlstm_train_step",
            ])
        XCTAssertEqual(Workload.named("SGEMM_256")?.name, "sgemm_256")
        XCTAssertNil(Workload.named("sgemm_3"))
    }

    /// Builds (compiles the plan of) every workload on the reference backend without running it.
    func testEveryWorkloadBuildsOnTheReferenceBackend() throws {
        let device = Device(ReferenceBackend<Float>())
        for workload in Workload.all {
            let instance = try workload.instantiate(on: device)
            XCTAssertGreaterThan(instance.plan.report.steps, 0, workload.name)
            XCTAssertTrue(workload.flopsPerStep != nil || workload.itemsPerStep != nil || workload.name.hasPrefix("pool"), workload.name)
            guard case .normwise(let fraction) = workload.tolerance.bound else {
                return XCTFail("\(workload.name): the bench checks normwise")
            }
            XCTAssertGreaterThan(fraction, 0, workload.name)
        }
        XCTAssertEqual(Workload.named("conv2_fwdbwd")?.flopsPerStep, 3 * 2 * 64 * 64 * 14 * 14 * 32 * 9)
        XCTAssertEqual(Workload.named("cnn_train_step")?.itemsPerStep, 64)
        XCTAssertEqual(Workload.named("charlstm_train_step")?.itemsPerStep, 64 * 32, "characters: a window of 64 in 32 streams")
    }

    /// `--batch` sets the training steps' batch (the char-LSTM's streams); the kernel workloads keep their shapes.
    func testTrainingBatchSetsTheTrainingStepsOnly() {
        let catalog = Workload.catalog(trainingBatch: 16)
        XCTAssertEqual(catalog.map(\.name), Workload.all.map(\.name))
        let items = Dictionary(uniqueKeysWithValues: catalog.map { ($0.name, $0.itemsPerStep) })
        XCTAssertEqual(items["cnn_train_step"], 16)
        XCTAssertEqual(items["resnet_train_step"], 16)
        XCTAssertEqual(items["charlstm_train_step"], 64 * 16)
        XCTAssertEqual(catalog.first { $0.name == "sgemm_256" }?.flopsPerStep, 2 * 256 * 256 * 256)
    }

    /// `--gemm` takes N or MxNxK with sizes in 1...65536 and names the workload as the catalog does.
    func testGEMMShapesParseOrNameTheProblem() throws {
        XCTAssertEqual(try Workload.gemm("64x128x3136").name, "sgemm_64x128x3136")
        XCTAssertEqual(try Workload.gemm("64x128x3136").flopsPerStep, 2 * 64 * 128 * 3136)
        XCTAssertEqual(try Workload.gemm("4096").name, "sgemm_4096")
        XCTAssertEqual(try Workload.gemm("7X1X13").name, "sgemm_7x1x13", "an upper-case X is read too")
        for bad in ["", "0", "64x128", "64x128x3136x2", "ax3x4", "64xx3", "-4", "70000", "1x1x65537", " 64"] {
            XCTAssertThrowsError(try Workload.gemm(bad), bad) { error in
                XCTAssertEqual(error as? BenchError, .gemmShape(bad))
                XCTAssertTrue(String(describing: error).contains("--gemm '\(bad)'"), "\(error)")
            }
        }
    }

    /// The plan's peak memory is reported with the timing.
    func testPeakMemoryIsReported() {
        let result = BenchRunner(settings: BenchSettings(replicates: 1, warmup: 0)).run(
            Workload(case: OpCatalog.sgemm(8, 5, 7)), on: .reference)
        XCTAssertEqual(result.status, .ok, result.error ?? "")
        XCTAssertGreaterThanOrEqual(result.peakMemoryBytes ?? 0, (8 * 7 + 7 * 5 + 8 * 5) * 4, "inputs and output at least")
    }

    /// A small SGEMM goes through the whole bench on `cpu`: checked against Double, then timed.
    func testSmallWorkloadIsCheckedAndTimed() {
        let runner = BenchRunner(settings: BenchSettings(replicates: 2, warmup: 1))
        let result = runner.run(Workload(case: OpCatalog.sgemm(8, 5, 7)), on: .reference)
        XCTAssertEqual(result.status, .ok, result.error ?? "")
        XCTAssertEqual(result.workload, "sgemm_8x5x7")
        XCTAssertEqual(result.checkedValues, 40)
        XCTAssertLessThan(result.maxAbsErr ?? .infinity, 1e-5)
        XCTAssertEqual(result.replicates, 2)
        XCTAssertNotNil(result.gflops)
        XCTAssertNotNil(result.medianMs)
    }

    /// A workload whose device results differ from the reference fails its check and is not timed.
    func testWrongResultsAreNotTimed() {
        let wrong = Workload(
            name: "wrong", summary: "a sum the reference disagrees with", flopsPerStep: 1, tolerance: .exact,
            build: { device in
                let x = try Tensor([1, 2, 3] as [Float], shape: [3], on: device)
                let plan = try Plan(inputs: [], outputs: [x.sum()], updates: [])
                return WorkloadInstance(plan: plan, outputCount: 1)
            },
            reference: { CheckedValues(values: [7]) })
        let result = BenchRunner().run(wrong, on: .reference)
        XCTAssertEqual(result.status, .failed)
        XCTAssertTrue(result.error?.contains("differs from the reference") ?? false, result.error ?? "")
        XCTAssertNil(result.medianMs)
        XCTAssertEqual(result.maxAbsErr, 1)
        let checkOnly = BenchRunner(settings: BenchSettings(checkOnly: true)).run(wrong, on: .reference)
        XCTAssertEqual(checkOnly.status, .failed, "--check-only still fails a wrong result")
    }

    /// `--check-only` runs only the check's smaller variant where the workload has one: a timed size that cannot even
    /// be built does not stop it (under oclgrind the timed char-LSTM step alone outgrew 24 GB).
    func testCheckOnlyBuildsOnlyTheCheckedVariant() {
        let sum = { (device: Device) throws -> WorkloadInstance in
            let x = try Tensor([1, 2, 3] as [Float], shape: [3], on: device)
            return WorkloadInstance(plan: try Plan(inputs: [], outputs: [x.sum()], updates: []), outputCount: 1)
        }
        let workload = Workload(
            name: "checked_variant", summary: "a timed size that fails to build, checked on a small variant", flopsPerStep: 1,
            tolerance: .exact, build: { _ in throw BenchError.check("the timed size was built") }, check: sum)
        let result = BenchRunner(settings: BenchSettings(checkOnly: true)).run(workload, on: .reference)
        XCTAssertEqual(result.status, .checked, result.error ?? "")
        XCTAssertEqual(result.maxAbsErr, 0)
        XCTAssertEqual(BenchRunner().run(workload, on: .reference).status, .failed, "timing builds the timed size")
    }

    func testBaselineFlagsOnlySlowdownsBeyondTheSpread() {
        var saved = BenchResult(workload: "w", device: "cpu", deviceName: "cpu")
        (saved.medianMs, saved.minMs, saved.maxMs) = (10, 9, 11)
        var current = saved
        (current.medianMs, current.minMs, current.maxMs) = (10.5, 8, 13)
        current.compare(with: [saved])
        XCTAssertEqual(current.regression, false)
        (current.medianMs, current.minMs, current.maxMs) = (14, 12, 15)
        current.compare(with: [saved])
        XCTAssertEqual(current.regression, true)
        XCTAssertEqual(current.baselineRatio ?? 0, 1.4, accuracy: 1e-12)
    }
}
