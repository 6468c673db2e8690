// MomentumDemo: plain SGD, SGD with momentum (heavy ball) and Nesterov compared on an ill-conditioned
// quadratic, where the minimum and the best step sizes are known, and on the course's MLP on
// Fashion-MNIST. Everything runs through Kiln's graph, autodiff, optimizers and plans on the chosen device;
// `kiln demo momentum` prints the tables and writes the charts.
import Foundation
import Kiln

/// The three update rules compared (PyTorch's SGD with `momentum` and `nesterov`).
public enum MomentumMethod: String, CaseIterable, Codable, Sendable {
    case sgd, momentum, nesterov

    /// The name in tables and legends.
    public var title: String {
        switch self {
        case .sgd: "plain SGD"
        case .momentum: "momentum"
        case .nesterov: "Nesterov"
        }
    }

    /// The optimizer, with `momentum` ignored for plain SGD.
    func optimizer(momentum: Double) -> SGD {
        switch self {
        case .sgd: SGD()
        case .momentum: SGD(momentum: momentum)
        case .nesterov: SGD(momentum: momentum, nesterov: true)
        }
    }
}

/// A bad setting for a demo, with the option to change.
public struct DemoError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One method's run: its settings, the loss at every step, and when it reached the target.
public struct OptimizerRun: Codable, Sendable {
    /// The name in tables and legends.
    public var label: String
    public var method: MomentumMethod
    public var learningRate: Double
    /// The momentum coefficient μ (0 for plain SGD).
    public var momentum: Double
    /// Quadratic: `losses[k]` is f(x_k), k = 0...steps. MLP: the loss of the batch step k + 1 trained on.
    public var losses: [Double]
    /// The curve the target is checked on: the losses themselves (quadratic) or their trailing mean (MLP).
    public var tracked: [Double]
    /// For each target, the first step at which the tracked loss is at or below it; nil when it never is.
    public var stepsToTargets: [Int?]
    /// Steps to the first (or only) target.
    public var stepsToTarget: Int? { stepsToTargets.first ?? nil }
    /// Quadratic only: the worst-case rate ρ at which the distance to the minimum shrinks per step.
    public var rate: Double?
    /// Quadratic only: the steps ρ predicts, log(target/f₀) / (2 log ρ) (f falls like the distance squared).
    public var predictedSteps: Double?
    /// MLP only: accuracy on the test set after the last step.
    public var testAccuracy: Double?
}

/// Helpers for the demos' plain-text tables.
enum DemoTable {
    /// A table row: cells left-aligned in columns of 18 characters, the first `firstWidth` wide.
    static func row(_ cells: [String], firstWidth: Int = 18) -> String {
        cells.enumerated().map { index, cell in
            let width = index == 0 ? firstWidth : 18
            return cell.count < width ? cell + String(repeating: " ", count: width - cell.count) : cell + " "
        }.joined().trimmingCharacters(in: .whitespaces)
    }

    /// `value` with `digits` decimals.
    static func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

    /// `value` in scientific notation with 2 significant digits.
    static func scientific(_ value: Double) -> String { String(format: "%.1e", value) }

    /// The first index whose value is at or below `target`.
    static func firstIndex(of values: [Double], atOrBelow target: Double) -> Int? {
        values.firstIndex { $0 <= target }
    }
}

/// Momentum against plain SGD, measured.
public enum MomentumDemo {
    // MARK: The quadratic

    /// f(x) = ½ xᵀAx with A = Q·diag(λ)·Qᵀ, λ log-spaced from 1 to κ and Q a seeded random rotation, so
    /// the steep and shallow directions are not the coordinate axes. The minimum is f(0) = 0.
    public struct Quadratic: Sendable {
        public let dimension: Int
        public let conditionNumber: Double
        /// Eigenvalues, smallest (μ = 1) to largest (L = κ).
        public let eigenvalues: [Double]
        /// A, row-major `[dimension, dimension]`.
        public let matrix: [Double]
        /// x₀ = Q·(1, …, 1): one unit along every eigenvector, so f(x₀) = ½ Σλ.
        public let start: [Double]

        public init(dimension: Int, conditionNumber: Double, seed: UInt64) throws {
            guard dimension >= 2 else { throw DemoError("the quadratic needs at least 2 dimensions, got \(dimension)") }
            guard conditionNumber > 1, conditionNumber.isFinite else {
                throw DemoError("the condition number must be a finite number above 1, got \(conditionNumber)")
            }
            self.dimension = dimension
            self.conditionNumber = conditionNumber
            let eigenvalues = (0..<dimension).map { Foundation.pow(conditionNumber, Double($0) / Double(dimension - 1)) }
            self.eigenvalues = eigenvalues
            let rotation = Self.rotation(dimension, seed: seed)
            // A[i][j] = Σₖ Q[i][k] λₖ Q[j][k]; column k of Q is the k-th eigenvector.
            var matrix = [Double](repeating: 0, count: dimension * dimension)
            for i in 0..<dimension {
                for j in 0..<dimension {
                    matrix[i * dimension + j] = (0..<dimension).reduce(0) {
                        $0 + rotation[i * dimension + $1] * eigenvalues[$1] * rotation[j * dimension + $1]
                    }
                }
            }
            self.matrix = matrix
            start = (0..<dimension).map { i in (0..<dimension).reduce(0) { $0 + rotation[i * dimension + $1] } }
        }

        public var smallestEigenvalue: Double { eigenvalues[0] }
        public var largestEigenvalue: Double { eigenvalues[dimension - 1] }
        /// f(x₀) = ½ Σλ (x₀ has unit length along every eigenvector).
        public var initialLoss: Double { eigenvalues.reduce(0, +) / 2 }

        /// The classical best constant settings for each method on a quadratic with eigenvalues in [μ, L],
        /// and the worst-case rate ρ at which the distance to the minimum shrinks per step:
        /// gradient descent α = 2/(L+μ), ρ = (κ−1)/(κ+1); heavy ball (Polyak) α = 4/(√L+√μ)²,
        /// μ_m = ((√κ−1)/(√κ+1))², ρ = (√κ−1)/(√κ+1); Nesterov (Lessard, Recht & Packard 2016)
        /// α = 4/(3L+μ), μ_m = (√(3κ+1)−2)/(√(3κ+1)+2), ρ = 1 − 2/√(3κ+1).
        public func bestSettings(for method: MomentumMethod) -> (learningRate: Double, momentum: Double, rate: Double) {
            let (mu, big, kappa) = (smallestEigenvalue, largestEigenvalue, largestEigenvalue / smallestEigenvalue)
            switch method {
            case .sgd:
                return (2 / (big + mu), 0, (kappa - 1) / (kappa + 1))
            case .momentum:
                let root = (kappa.squareRoot() - 1) / (kappa.squareRoot() + 1)
                return (4 / Foundation.pow(big.squareRoot() + mu.squareRoot(), 2), root * root, root)
            case .nesterov:
                let s = (3 * kappa + 1).squareRoot()
                return (4 / (3 * big + mu), (s - 2) / (s + 2), 1 - 2 / s)
            }
        }

        /// A random rotation, row-major: Gram–Schmidt on a seeded matrix of uniform entries.
        static func rotation(_ n: Int, seed: UInt64) -> [Double] {
            var random = RandomSource(seed: seed)
            var columns: [[Double]] = []
            while columns.count < n {
                var v = (0..<n).map { _ in Double.random(in: -1...1, using: &random) }
                for u in columns {
                    let dot = zip(u, v).reduce(0) { $0 + $1.0 * $1.1 }
                    for i in 0..<n { v[i] -= dot * u[i] }
                }
                let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                // A nearly dependent draw is discarded and redrawn.
                if norm > 1e-3 { columns.append(v.map { $0 / norm }) }
            }
            return (0..<n * n).map { columns[$0 % n][$0 / n] }
        }
    }

    /// The quadratic comparison: each method at its best settings from the same start.
    public struct QuadraticComparison: Codable, Sendable {
        public var dimension: Int
        public var conditionNumber: Double
        public var initialLoss: Double
        /// The target loss, `targetFraction · f(x₀)`.
        public var target: Double
        public var targetFraction: Double
        public var steps: Int
        public var device: String
        public var runs: [OptimizerRun]

        /// Loss against step, log scale; points below `floor · f(x₀)` (float32 round-off) are left out.
        public func chart(floor: Double = 1e-12) -> SVGChart {
            SVGChart(
                title: "½xᵀAx, κ = \(Int(conditionNumber)), \(dimension) dimensions, on \(device)", xLabel: "step",
                yLabel: "loss f(x) (log scale)",
                series: runs.map { run in
                    SVGChart.Series(
                        run.label,
                        run.losses.enumerated().filter { $0.element >= floor * initialLoss }.map { (Double($0.offset), $0.element) })
                }, logarithmicY: true)
        }

        /// The table: settings, steps to the target measured and predicted by the rate.
        public var table: String {
            var lines = [
                "target: f(x) <= \(DemoTable.scientific(targetFraction)) x f(x0) = \(DemoTable.scientific(target)) (f(x0) = \(DemoTable.fixed(initialLoss, 2)))",
                DemoTable.row(["method", "lr", "momentum", "rate rho", "steps to target", "predicted by rho"]),
            ]
            for run in runs {
                lines.append(
                    DemoTable.row([
                        run.label, DemoTable.fixed(run.learningRate, 5), DemoTable.fixed(run.momentum, 4),
                        run.rate.map { DemoTable.fixed($0, 4) } ?? "-",
                        run.stepsToTarget.map(String.init) ?? "not reached", run.predictedSteps.map { DemoTable.fixed($0, 0) } ?? "-",
                    ]))
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Runs every method for `steps` steps on `quadratic` at its best settings (see
    /// `Quadratic.bestSettings`), computing f and ∇f through Kiln's graph on `device`.
    public static func compareOnQuadratic(
        _ quadratic: Quadratic, steps: Int, targetFraction: Double = 1e-6, on device: Device
    ) throws -> QuadraticComparison {
        guard steps > 0 else { throw DemoError("the quadratic needs at least one step, got \(steps)") }
        let target = targetFraction * quadratic.initialLoss
        var runs: [OptimizerRun] = []
        for method in MomentumMethod.allCases {
            let settings = quadratic.bestSettings(for: method)
            let losses = try descend(
                quadratic, optimizer: method.optimizer(momentum: settings.momentum), learningRate: settings.learningRate, steps: steps,
                on: device)
            runs.append(
                OptimizerRun(
                    label: method.title, method: method, learningRate: settings.learningRate, momentum: settings.momentum, losses: losses,
                    tracked: losses, stepsToTargets: [DemoTable.firstIndex(of: losses, atOrBelow: target)], rate: settings.rate,
                    predictedSteps: Foundation.log(targetFraction) / (2 * Foundation.log(settings.rate))))
        }
        return QuadraticComparison(
            dimension: quadratic.dimension, conditionNumber: quadratic.conditionNumber, initialLoss: quadratic.initialLoss,
            target: target, targetFraction: targetFraction, steps: steps, device: device.description, runs: runs)
    }

    /// f(x_k) for k = 0...steps: x is a variable, f(x) = ½·Σ x ⊙ (x·A) a graph, its gradient from
    /// autodiff, and the optimizer's update compiled with them into one plan that is replayed per step.
    /// Stops early once f(x_k) ≤ `stopBelow` when given.
    static func descend(
        _ quadratic: Quadratic, optimizer: SGD, learningRate: Double, steps: Int, stopBelow: Double? = nil, on device: Device
    ) throws -> [Double] {
        let n = quadratic.dimension
        let x = try Variable(Tensor(quadratic.start, shape: [1, n], on: device))
        let a = try Tensor(quadratic.matrix, shape: [n, n], on: device)
        let scalars = try Tensor([Float(0)], shape: [1], on: device)
        let loss = try (x.value * x.value.matmul(a)).sum() * 0.5
        let gradient = try gradients(of: loss, withRespectTo: [x.value])
        let updates = try optimizer.updates(parameters: [("x", x)], gradients: gradient, scalars: scalars)
        let plan = try Plan(inputs: [scalars], outputs: [loss], updates: updates)
        let rate = optimizer.scalars(step: 1, learningRate: learningRate)
        var losses: [Double] = []
        // Each run reports f at the current x, then steps; the last run's step is not needed.
        for _ in 0...steps {
            try plan.run([rate])
            losses.append(Double(try plan.output(0)[0]))
            if let stopBelow, losses[losses.count - 1] <= stopBelow { break }
        }
        return losses
    }

    /// Steps each method needs to reach the target at several condition numbers.
    public struct ConditionSweep: Codable, Sendable {
        public struct Entry: Codable, Sendable {
            public var conditionNumber: Double
            /// Steps to the target per method, in `MomentumMethod.allCases` order; nil: not within the step limit.
            public var steps: [Int?]
        }
        public var dimension: Int
        public var targetFraction: Double
        public var entries: [Entry]

        public var table: String {
            var lines = [
                "steps to f(x) <= \(DemoTable.scientific(targetFraction)) x f(x0), \(dimension) dimensions, best settings per method",
                DemoTable.row(["kappa", "sqrt(kappa)"] + MomentumMethod.allCases.map(\.title) + ["SGD / momentum"]),
            ]
            for entry in entries {
                let ratio =
                    entry.steps[0].flatMap { sgd in entry.steps[1].map { DemoTable.fixed(Double(sgd) / Double(max($0, 1)), 1) } } ?? "-"
                lines.append(
                    DemoTable.row(
                        [DemoTable.fixed(entry.conditionNumber, 0), DemoTable.fixed(entry.conditionNumber.squareRoot(), 1)]
                            + entry.steps.map { $0.map(String.init) ?? "not reached" } + [ratio]))
            }
            return lines.joined(separator: "\n")
        }
    }

    /// For each condition number, runs every method at its best settings until f falls to
    /// `targetFraction · f(x₀)` (at most `stepLimit(κ)` steps) and counts the steps.
    public static func sweepConditionNumbers(
        _ conditionNumbers: [Double], dimension: Int = 10, targetFraction: Double = 1e-6, seed: UInt64 = 0,
        stepLimit: (Double) -> Int = { Int(20 * $0) + 100 }, on device: Device
    ) throws -> ConditionSweep {
        var entries: [ConditionSweep.Entry] = []
        for kappa in conditionNumbers {
            let quadratic = try Quadratic(dimension: dimension, conditionNumber: kappa, seed: seed)
            let target = targetFraction * quadratic.initialLoss
            let steps = try MomentumMethod.allCases.map { method in
                let settings = quadratic.bestSettings(for: method)
                let losses = try descend(
                    quadratic, optimizer: method.optimizer(momentum: settings.momentum), learningRate: settings.learningRate,
                    steps: stepLimit(kappa), stopBelow: target, on: device)
                return DemoTable.firstIndex(of: losses, atOrBelow: target)
            }
            entries.append(ConditionSweep.Entry(conditionNumber: kappa, steps: steps))
        }
        return ConditionSweep(dimension: dimension, targetFraction: targetFraction, entries: entries)
    }

    // MARK: The MLP

    /// The MLP comparison: same model, initial weights, data order and learning rate for every method,
    /// plus a control: plain SGD at lr/(1−μ), the step size momentum reaches on a constant gradient.
    public struct NetworkComparison: Codable, Sendable {
        public var model: String
        public var steps: Int
        public var batchSize: Int
        public var learningRate: Double
        public var momentum: Double
        /// Steps are counted to the first step where the mean of the last `window` batch losses is at or below a target.
        public var window: Int
        public var targets: [Double]
        public var device: String
        public var runs: [OptimizerRun]

        /// Training loss (trailing mean over `window` batches) against step.
        public func chart(title: String = "") -> SVGChart {
            SVGChart(
                title: title.isEmpty ? "\(model), batch \(batchSize), same start and batch order, on \(device)" : title, xLabel: "step",
                yLabel: "training loss (mean of last \(window) batches)",
                series: runs.map { run in
                    SVGChart.Series(run.label, run.tracked.enumerated().map { (Double($0.offset + 1), $0.element) })
                })
        }

        /// The table: steps to each target, final smoothed loss, test accuracy.
        public var table: String {
            var lines = [
                "steps until the mean of the last \(window) batch losses is at or below each target",
                DemoTable.row(
                    ["method", "lr", "momentum"] + targets.map { "to \(DemoTable.fixed($0, 2))" } + ["final loss", "test accuracy"]),
            ]
            for run in runs {
                lines.append(
                    DemoTable.row(
                        [run.label, String(format: "%g", run.learningRate), DemoTable.fixed(run.momentum, 2)]
                            + run.stepsToTargets.map { $0.map(String.init) ?? "not reached" }
                            + [
                                DemoTable.fixed(run.tracked.last ?? .nan, 4),
                                run.testAccuracy.map { DemoTable.fixed($0 * 100, 2) + "%" } ?? "-",
                            ]))
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Trains `model` (a `ModelSpec` string) from the same initial weights and batch order with each
    /// method for `steps` steps of `batchSize` at `learningRate`, then (when `control`) plain SGD at
    /// `learningRate / (1 − momentum)`; measures test accuracy after each.
    public static func compareOnNetwork(
        data: IDXDataset, model: String = "mlp", steps: Int, batchSize: Int = 64, learningRate: Double = 0.01,
        momentum: Double = 0.9, targets: [Double], window: Int = 25, control: Bool = true, seed: UInt64 = 0, on device: Device
    ) throws -> NetworkComparison {
        guard steps > 0 else { throw DemoError("the network needs at least one step, got \(steps)") }
        guard data.training.count >= batchSize else {
            throw DemoError("the training set has \(data.training.count) examples, fewer than one batch of \(batchSize)")
        }
        var plan = MomentumMethod.allCases.map { ($0.title, $0, learningRate) }
        if control {
            let rate = learningRate / (1 - momentum)
            plan.append(("plain SGD, lr \(String(format: "%g", rate))", .sgd, rate))
        }
        var runs: [OptimizerRun] = []
        for (label, method, rate) in plan {
            var configuration = TrainingConfiguration()
            configuration.model = model
            configuration.optimizer = method == .sgd ? .sgd : method == .momentum ? .momentum : .nesterov
            configuration.learningRate = rate
            configuration.momentum = momentum
            configuration.batchSize = batchSize
            configuration.seed = seed
            // Inputs in [0, 1], as in the course's material (and Docs/momentum.md's figures); `kiln train` standardises.
            configuration.normalization = .unit
            let trainer = try Trainer(
                configuration: configuration, data: ImageDataset(data, name: "the momentum demo's data"), device: device)
            let batches = trainer.trainingBatches
            var losses: [Double] = []
            var epoch = 0
            while losses.count < steps {
                let order = batches.order(epoch: epoch)
                for index in 0..<batches.count where losses.count < steps {
                    let batch = try batches.batch(index, order: order)
                    losses.append(
                        Double(
                            try trainer.step(
                                inputs: batch.inputs, shape: batches.shape(count: batch.count), targets: batch.labels,
                                learningRate: rate, on: device)))
                }
                epoch += 1
            }
            let tracked = trailingMean(losses, window: window)
            runs.append(
                OptimizerRun(
                    label: label, method: method, learningRate: rate, momentum: method == .sgd ? 0 : momentum, losses: losses,
                    tracked: tracked, stepsToTargets: targets.map { DemoTable.firstIndex(of: tracked, atOrBelow: $0).map { $0 + 1 } },
                    rate: nil,
                    predictedSteps: nil, testAccuracy: try trainer.evaluate(data.test).accuracy))
        }
        return NetworkComparison(
            model: model, steps: steps, batchSize: batchSize, learningRate: learningRate, momentum: momentum, window: window,
            targets: targets, device: device.description, runs: runs)
    }

    /// The mean of each value and up to `window − 1` before it.
    static func trailingMean(_ values: [Double], window: Int) -> [Double] {
        var result: [Double] = []
        var sum = 0.0
        for (index, value) in values.enumerated() {
            sum += value
            if index >= window { sum -= values[index - window] }
            result.append(sum / Double(min(index + 1, window)))
        }
        return result
    }
}
