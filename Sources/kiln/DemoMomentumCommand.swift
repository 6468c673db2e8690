// `kiln demo momentum`: plain SGD, momentum and Nesterov on an ill-conditioned quadratic and on the MLP.
import ArgumentParser
import Foundation
import Kiln
import KilnExamples

struct DemoMomentumCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "momentum",
        abstract: "Compare plain SGD, momentum and Nesterov on an ill-conditioned quadratic and on the MLP.",
        discussion: """
            The quadratic is f(x) = ½xᵀAx with eigenvalues of A log-spaced from 1 to the condition number and \
            rotated off the axes; each method runs at its classical best learning rate and momentum for that \
            spectrum. The MLP trains on Fashion-MNIST from the same weights and batch order with lr 0.01 and \
            momentum 0.9, and once more with plain SGD at lr 0.1 (= 0.01 / (1 − 0.9)) as a control. \
            Writes momentum-quadratic.svg, momentum-mlp.svg and momentum.json to --out.
            """
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "Folder for the charts and the measurements.")
    var out = "kiln-demo"
    @Option(help: "Steps on the quadratic.")
    var steps = 400
    @Option(help: "Condition number κ of the quadratic (largest over smallest eigenvalue).")
    var condition = 100.0
    @Option(help: "Dimensions of the quadratic.")
    var dimensions = 10
    @Option(help: "Target for the quadratic, as a fraction of the initial loss.")
    var target = 1e-6
    @Option(help: "Training steps of the MLP (batch 64); 0 skips the MLP.")
    var mlpSteps = 500
    @Option(parsing: .upToNextOption, help: "Target training losses for the MLP (mean of the last 25 batch losses).")
    var mlpTargets = [1.5, 1.0, 0.6]
    @Option(help: "Seed for the rotation, the MLP's weights and the batch order.")
    var seed: UInt64 = 0

    func validate() throws {
        guard steps > 0 else { throw ValidationError("--steps must be a positive number of steps, got \(steps)") }
        guard condition > 1, condition.isFinite else { throw ValidationError("--condition must be a number above 1, got \(condition)") }
        guard dimensions >= 2 else { throw ValidationError("--dimensions must be at least 2, got \(dimensions)") }
        guard target > 0, target < 1 else { throw ValidationError("--target must be a fraction between 0 and 1, got \(target)") }
        guard mlpSteps >= 0 else { throw ValidationError("--mlp-steps must be zero or positive, got \(mlpSteps)") }
        guard !mlpTargets.isEmpty, mlpTargets.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw ValidationError("--mlp-targets must be one or more positive losses, got \(mlpTargets)")
        }
    }

    func run() throws {
        let device = try common.openDevice()
        let folder = URL(fileURLWithPath: out)
        try OutputFolder.create(folder)

        let quadratic = try MomentumDemo.Quadratic(dimension: dimensions, conditionNumber: condition, seed: seed)
        var start = Date()
        let onQuadratic = try MomentumDemo.compareOnQuadratic(quadratic, steps: steps, targetFraction: target, on: device)
        print("quadratic ½xᵀAx, κ = \(condition), \(dimensions) dimensions, \(steps) steps on \(device) (\(elapsed(since: start)))")
        print(onQuadratic.table)
        try onQuadratic.chart().write(to: folder.appendingPathComponent("momentum-quadratic.svg"))
        start = Date()
        let sweep = try MomentumDemo.sweepConditionNumbers(
            [10, 100, 1000], dimension: dimensions, targetFraction: target, seed: seed, on: device)
        print("\n\(sweep.table)\n(\(elapsed(since: start)))")

        var onNetwork: MomentumDemo.NetworkComparison?
        if mlpSteps > 0 {
            let data = try common.loadDataset()
            start = Date()
            let comparison = try MomentumDemo.compareOnNetwork(
                data: data, steps: mlpSteps, targets: mlpTargets, seed: seed, on: device)
            print("\nmlp, \(mlpSteps) steps of batch 64 from the same weights and batch order, on \(device) (\(elapsed(since: start)))")
            print(comparison.table)
            try comparison.chart().write(to: folder.appendingPathComponent("momentum-mlp.svg"))
            onNetwork = comparison
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(
            try encoder.encode(DemoMomentumRecord(quadratic: onQuadratic, sweep: sweep, network: onNetwork)),
            to: folder.appendingPathComponent("momentum.json"))
        print("\nwrote \(folder.path)/momentum-quadratic.svg\(onNetwork == nil ? "" : ", momentum-mlp.svg"), momentum.json")
    }
}

/// What `kiln demo momentum` writes to momentum.json.
struct DemoMomentumRecord: Encodable {
    var quadratic: MomentumDemo.QuadraticComparison
    var sweep: MomentumDemo.ConditionSweep
    var network: MomentumDemo.NetworkComparison?
}

/// Seconds since `start`, for progress lines.
func elapsed(since start: Date) -> String { String(format: "%.1f s", Date().timeIntervalSince(start)) }
