// CatalogTests: the catalog itself: every op of `Op` has cases, ids are unique and seed the same inputs every
// time, quick cases are small, the bench's workloads are there under their names, and `--op` selections resolve.
import Kiln
import KilnTestSupport
import XCTest

final class CatalogTests: XCTestCase {
    /// The name the catalog reports each op under; exhaustive, so a new op does not compile here until it is named.
    private func catalogName(_ op: Op) -> String? {
        switch op {
        case .data, .reshape: nil  // the executor handles them without a backend
        case .lstmSequenceBackward: "lstm_sequence_backward"  // a graph case: its inputs come from the forward
        case .fill, .unary, .unaryGradient, .binary, .broadcast, .transpose, .slice, .pad, .concatenate, .reduce, .argMax, .softmax,
            .logSoftmax,
            .matmul, .biasAdd, .linear, .conv2d, .conv2dBackwardInput, .conv2dBackwardWeight, .maxPool2d, .maxPool2dBackward, .avgPool2d,
            .avgPool2dBackward, .lstmCell, .lstmCellBackward, .lstmSequence, .oneHot, .dropoutMask, .softmaxCrossEntropy,
            .softmaxCrossEntropyBackward, .update, .fusedConv2d, .batchMoments, .batchMomentsBackward, .batchNormalize, .batchNormSums,
            .linearGradient:
            op.checkName
        }
    }

    /// Every unary and binary function: the switches below stop compiling when one is added, so that it is added
    /// here too and the tests ask for its cases.
    private static let everyUnaryFunction: [UnaryFunction] = [
        .negate, .exp, .log, .sqrt, .abs, .relu, .leakyRelu(slope: 0.1), .sigmoid, .tanh, .softplus, .erf, .gelu, .geluTanh, .silu,
    ]
    private static let everyBinaryFunction: [BinaryFunction] = [
        .add, .subtract, .multiply, .divide, .power, .maximum, .minimum, .equal, .greater,
    ]

    /// The name the catalog reports a unary function under.
    private static func name(_ function: UnaryFunction) -> String {
        switch function {
        case .negate: "negate"
        case .exp: "exp"
        case .log: "log"
        case .sqrt: "sqrt"
        case .abs: "abs"
        case .relu: "relu"
        case .leakyRelu: "leakyRelu"
        case .sigmoid: "sigmoid"
        case .tanh: "tanh"
        case .softplus: "softplus"
        case .erf: "erf"
        case .gelu: "gelu"
        case .geluTanh: "geluTanh"
        case .silu: "silu"
        }
    }

    /// The name the catalog reports a binary function under.
    private static func name(_ function: BinaryFunction) -> String {
        switch function {
        case .add: "add"
        case .subtract: "subtract"
        case .multiply: "multiply"
        case .divide: "divide"
        case .power: "power"
        case .maximum: "maximum"
        case .minimum: "minimum"
        case .equal: "equal"
        case .greater: "greater"
        }
    }

    func testEveryFunctionHasCases() {
        let names = Set(OpCatalog.all.map(\.name))
        for function in Self.everyUnaryFunction {
            XCTAssertTrue(names.contains(Self.name(function)) && names.contains(Self.name(function) + "_grad"), "\(function)")
        }
        for function in Self.everyBinaryFunction { XCTAssertTrue(names.contains(Self.name(function)), "\(function)") }
    }

    func testEveryOpHasCases() {
        let convolution = Convolution2D()
        let pooling = Pooling2D(kernel: [2, 2])
        var ops: [Op] = [
            .fill(value: 0, shape: [1]), .broadcast([1]), .transpose(permutation: [0]), .slice(axis: 0, start: 0, length: 1),
            .pad(axis: 0, before: 0, after: 0), .concatenate(axis: 0), .argMax(axis: 0), .softmax(axis: 0), .logSoftmax(axis: 0),
            .biasAdd,
            .conv2d(convolution), .conv2dBackwardInput(convolution, inputShape: [1]), .conv2dBackwardWeight(convolution, weightShape: [1]),
            .maxPool2d(pooling), .maxPool2dBackward(pooling), .avgPool2d(pooling), .avgPool2dBackward(pooling, inputShape: [1]), .lstmCell,
            .lstmCellBackward, .lstmSequence, .lstmSequenceBackward, .oneHot(classes: 1), .dropoutMask(probability: 0, seed: 0, shape: [1]),
            .softmaxCrossEntropy, .softmaxCrossEntropyBackward, .batchMoments, .batchMomentsBackward, .batchNormalize(epsilon: 1e-5),
            .batchNormSums(epsilon: 1e-5),
        ]
        ops += Self.everyUnaryFunction.flatMap { [Op.unary($0), .unaryGradient($0)] }
        ops += Self.everyBinaryFunction.map { .binary($0) }
        ops += [Reduction.sum, .mean, .max].map { .reduce($0, axes: [0], keepDimensions: false) }
        ops += [false, true].flatMap { a in [false, true].map { b in Op.matmul(transposeA: a, transposeB: b) } }
        let fusible = Self.everyUnaryFunction.filter(\.isFusibleActivation)
        let activations: [UnaryFunction?] = [nil] + fusible.map { $0 }
        ops += activations.map { .linear(transposeA: false, transposeB: false, activation: $0) }
        ops += fusible.map { .fusedConv2d(convolution, activation: $0) }
        ops += fusible.map { .linearGradient(transposeA: false, transposeB: false, activation: $0) }
        ops += [
            UpdateRule.momentumBuffer(momentum: 0.9, weightDecay: 0), .sgdParameter(momentum: 0, nesterov: false, weightDecay: 0),
            .adamMoment(beta: 0.9, squared: false, weightDecay: 0), .adamParameter(epsilon: 1e-8),
        ].map { .update($0) }
        let names = Set(OpCatalog.all.map(\.name))
        for op in ops {
            guard let name = catalogName(op) else { continue }
            XCTAssertTrue(names.contains(name), "no case for \(op.name)")
            XCTAssertTrue(OpCatalog.all.contains { $0.name == name && $0.tier == .quick }, "no quick case for \(op.name)")
        }
        // Every update rule and every linear activation appears with its attributes.
        let opsInCases = OpCatalog.all.compactMap { opCase -> Op? in
            if case .op(let op) = opCase.computation { return op }
            return nil
        }
        for rule in OpCatalog.updateRules { XCTAssertTrue(opsInCases.contains(.update(rule)), "\(rule)") }
        for activation in activations {
            XCTAssertTrue(
                opsInCases.contains { if case .linear(_, _, activation) = $0 { return true } else { return false } },
                "linear \(String(describing: activation))")
        }
        for activation in fusible {
            XCTAssertTrue(
                opsInCases.contains { if case .linearGradient(_, _, activation) = $0 { return true } else { return false } },
                "linear_gradient \(activation)")
        }
    }

    func testIdsAreUniqueAndSeedTheSameInputs() throws {
        XCTAssertEqual(Set(OpCatalog.all.map(\.id)).count, OpCatalog.all.count)
        for id in ["matmul 1", "conv2d 3", "lstm_cell_backward 2", "one_hot 5"] {
            let opCase = try XCTUnwrap(OpCatalog.named(id), id)
            // Bit patterns: labels hold NaN, which equals nothing.
            XCTAssertEqual(
                try opCase.drawInputs().map { $0.values.map(\.bitPattern) }, try opCase.drawInputs().map { $0.values.map(\.bitPattern) }, id
            )
        }
        // Values are Float32 numbers, so every device reads exactly what the reference reads.
        let inputs = try XCTUnwrap(OpCatalog.named("exp 5")).drawInputs()
        XCTAssertEqual(inputs[0].values, inputs[0].values.map { Double(Float($0)) })
    }

    /// Quick cases stay small enough for an interpreter: at most 8192 outputs and 20,000 input values each.
    func testQuickCasesAreSmall() throws {
        let quick = OpCatalog.cases(upTo: .quick)
        XCTAssertGreaterThan(quick.count, 400)
        for opCase in quick {
            XCTAssertLessThanOrEqual(opCase.inputs.map(\.shape.count).reduce(0, +), 20_000, opCase.description)
            let outputs = try XCTUnwrap(try opCase.expectedValues(opCase.drawInputs())).values
            XCTAssertLessThanOrEqual(outputs.count, 8192, opCase.description)
        }
    }

    func testBenchmarkCasesCarryTheBenchNames() {
        XCTAssertEqual(
            OpCatalog.benchmarkCases.map(\.id),
            [
                "sgemm_256", "sgemm_512", "sgemm_1024", "sgemm_2048", "sgemm_64x128x3136", "conv1_fwd", "conv1_fwdbwd", "conv2_fwd",
                "conv2_fwdbwd", "pool1_fwdbwd", "pool2_fwdbwd", "lstm_fwdbwd",
            ])
        XCTAssertEqual(OpCatalog.named("conv2_fwdbwd")?.flops, 3 * 2 * 64 * 64 * 14 * 14 * 32 * 9)
        XCTAssertTrue(OpCatalog.benchmarkCases.allSatisfy { $0.tier == .benchmark })
    }

    func testSelectionsResolveFamiliesAndNames() throws {
        XCTAssertEqual(
            try CatalogCheck.names(["products"]),
            [
                "matmul", "matmul_sampled", "linear", "matmul_relu_grad", "matmul_leakyRelu_grad", "matmul_sigmoid_grad",
                "matmul_tanh_grad", "matmul_gelu_grad", "matmul_geluTanh_grad", "matmul_silu_grad", "sgemm_256", "sgemm_512",
                "sgemm_1024", "sgemm_2048", "sgemm_64x128x3136",
            ])
        XCTAssertEqual(try CatalogCheck.names(["relu_grad", "conv2d", "matmul"]), ["relu_grad", "conv2d", "matmul"])
        XCTAssertEqual(OpCatalog.cases(upTo: .benchmark, named: try CatalogCheck.names(["matmul 12"])).map(\.id), ["matmul 12"])
        XCTAssertThrowsError(try CatalogCheck.names(["conv3d"])) { error in
            XCTAssertTrue(String(describing: error).contains("unknown op 'conv3d'"), "\(error)")
        }
    }

    /// A kernel that cannot run is a failed result carrying the error, not a crash of the check.
    func testErrorsAreFailedResults() throws {
        let broken = ThrowingBackend()
        let results = CaseCheck.run(try XCTUnwrap(OpCatalog.named("matmul 1")), on: [broken, ReferenceBackend<Float>()])
        XCTAssertFalse(results[0].passed)
        XCTAssertTrue(results[0].failureDescription.contains("no kernels here"), results[0].failureDescription)
        XCTAssertTrue(results[0].failureDescription.contains("throwing"), "names the device: \(results[0].failureDescription)")
        XCTAssertTrue(results[1].passed, results[1].failureDescription)
    }
}

/// A backend whose every op fails, as a device whose kernels do not build.
private final class ThrowingBackend: Backend {
    struct Failure: Error, CustomStringConvertible { var description: String { "no kernels here" } }
    final class Storage: DeviceStorage {
        let count: Int
        init(_ count: Int) { self.count = count }
    }
    let name = "throwing"
    var launchCount = 0
    func allocate(count: Int) throws -> any DeviceStorage { Storage(count) }
    func write(_ values: [Float], to storage: any DeviceStorage) throws {}
    func write(_ values: [Double], to storage: any DeviceStorage) throws {}
    func readFloats(_ storage: any DeviceStorage) throws -> [Float] { [] }
    func readDoubles(_ storage: any DeviceStorage) throws -> [Double] { [] }
    func copy(_ source: any DeviceStorage, to destination: any DeviceStorage) throws {}
    func implements(_ op: Op) -> Bool { true }
    func execute(_ op: Op, inputs: [Operand], output: any DeviceStorage, outputShape: Shape) throws { throw Failure() }
    func synchronize() throws {}
}
