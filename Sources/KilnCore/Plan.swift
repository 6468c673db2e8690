// Plan: a graph compiled once and replayed. Compilation lowers the ops the backend does not implement through their
// decompositions, orders the nodes, folds constants, assigns every
// intermediate a buffer slot that is reused once its last reader has run, writes variable updates in place
// where that is safe, and allocates everything up front; a replay binds new input values and enqueues the same launches with no allocation, no graph
// building and no host round trip until an output is read.

/// A compiled graph: inputs bound per run, outputs to read, and variables overwritten by each run.
public final class Plan {
    /// What compilation decided, for reports.
    public struct Report: CustomStringConvertible, Codable, Equatable {
        /// Ops run per run, copies of variable updates not written in place included. A backend may launch
        /// several kernels for one op (a transpose before a product, im2col before a convolution's GEMM):
        /// `Plan.kernelLaunchesPerRun` counts those.
        public var steps: Int
        /// Bytes of device memory for intermediates with slot reuse (the peak a run needs beyond inputs and variables).
        public var intermediateBytes: Int
        /// Bytes the same intermediates would take with a buffer each.
        public var intermediateBytesWithoutReuse: Int
        /// Bytes held by variables, inputs and folded constants.
        public var persistentBytes: Int
        /// Rewrites that merged several nodes into one launch, in words.
        public var fusions: [String]
        /// Kernel launches and device copies per run, where the backend can count them before a run.
        public var launches: Int?

        public var peakBytes: Int { intermediateBytes + persistentBytes }
        public var peakBytesWithoutReuse: Int { intermediateBytesWithoutReuse + persistentBytes }

        public var description: String {
            let mib = { (bytes: Int) in "\(Double(bytes * 100 / 1_048_576) / 100) MiB" }
            return "\(steps) op steps"
                + (launches.map { " (\($0) kernel launches and copies)" } ?? "")
                + " per run; device memory at peak \(mib(peakBytes)) "
                + "(\(mib(peakBytesWithoutReuse)) without buffer reuse); fusions: "
                + (fusions.isEmpty ? "none" : fusions.joined(separator: "; "))
        }
    }

    private struct Step {
        var op: Op
        let operands: [Operand]
        let output: any DeviceStorage
        let shape: Shape
    }

    public let device: Device
    public private(set) var report: Report
    private let inputs: [any DeviceStorage]
    private let inputShapes: [Shape]
    private var steps: [Step]
    private let outputs: [(storage: any DeviceStorage, shape: Shape)]
    private let updates: [(source: any DeviceStorage, destination: any DeviceStorage)]
    /// The steps from this index on are the closing optimizer updates, enqueued together (`Backend.executeUpdates`).
    private let closingUpdatesStart: Int
    /// Dropout masks get a fresh seed each run: (step index, base seed).
    private let dropoutSteps: [(index: Int, seed: UInt64)]
    /// Kernel launches and device copies one run enqueues: counted when the plan is compiled where the backend can
    /// (`Backend.countingLaunches`), else during the first run (nil before it).
    public private(set) var kernelLaunchesPerRun: Int?
    /// The outputs whose values are final once each step has been enqueued (by step index; outputs no step
    /// writes are under -1), so a run can hand them on while later steps still run.
    private let outputsReadyAfterStep: [Int: [Int]]

    /// Compiles the graph from `inputs` (data tensors whose values each run replaces) to `outputs`
    /// and to the new value of each variable in `updates`.
    public init(inputs: [Tensor], outputs: [Tensor], updates: [(variable: Variable, value: Tensor)]) throws {
        let roots = outputs + updates.map(\.value)
        guard let device = roots.first?.device ?? inputs.first?.device else {
            preconditionFailure("[plan] nothing to compile")
        }
        if let stranger = (roots + inputs + updates.map(\.variable.value)).first(where: { $0.device !== device }) {
            throw TensorError.deviceMismatch(op: "plan", devices: [device.description, stranger.device.description])
        }
        for (variable, value) in updates where variable.shape != value.shape {
            throw ShapeError(op: "plan", "a variable's new value has a different shape", shapes: [variable.shape, value.shape])
        }
        self.device = device
        let backend = device.backend
        for input in inputs {
            guard case .data = input.node.op else { preconditionFailure("[plan] inputs must be data tensors, got \(input.node.op.name)") }
        }
        // The graph the backend runs: ops it does not implement replaced by their decompositions.
        let lowering = try Lowering(roots: roots.map(\.node), keeping: { _ in false })
        let rootNodes = roots.map { lowering[$0.node] }
        let order = Graph.postorder(from: rootNodes) { _ in true }

        // A node varies between runs when it depends on data (inputs are rebound, variables are updated
        // by this or other plans) or draws a dropout mask; the rest (subgraphs of `fill` constants) is
        // computed once here.
        var varies = Set<ObjectIdentifier>()
        for node in order {
            switch node.op {
            case .data, .dropoutMask: varies.insert(ObjectIdentifier(node))
            default: if node.inputs.contains(where: { varies.contains(ObjectIdentifier($0)) }) { varies.insert(ObjectIdentifier(node)) }
            }
        }
        let constants = order.filter { !varies.contains(ObjectIdentifier($0)) && $0.storage == nil }
        try Executor.evaluate(constants)

        let computed = order.filter { node in
            if case .data = node.op { return false }
            return varies.contains(ObjectIdentifier(node))
        }
        let fusion = Fusion(computed: computed, roots: rootNodes, backend: backend)
        let (nodes, closingCount) = Self.closingUpdates(fusion.nodes)

        // Storage roots: a fused chain's links name the fused node's output; a reshape shares its input's buffer.
        var root: [ObjectIdentifier: Node] = fusion.replaced
        func rootOf(_ node: Node) -> Node { root[ObjectIdentifier(node)].map(rootOf) ?? node }
        for node in nodes { if case .reshape = node.op { root[ObjectIdentifier(node)] = rootOf(node.inputs[0]) } }

        // The last step that reads each root, and each storage held before the plan (variables, inputs,
        // constants); outputs and update values live to the end.
        var lastUse: [ObjectIdentifier: Int] = [:]
        var lastPersistentRead: [ObjectIdentifier: Int] = [:]
        for (index, node) in nodes.enumerated() {
            for input in node.inputs {
                let source = rootOf(input)
                lastUse[ObjectIdentifier(source)] = index
                if let held = source.storage { lastPersistentRead[ObjectIdentifier(held)] = index }
            }
        }
        for node in rootNodes { lastUse[ObjectIdentifier(rootOf(node))] = Int.max }

        // An update whose value an elementwise step computes is written straight into the variable when no
        // later step reads the variable's old value (elementwise kernels read element i before writing it,
        // so the step may read the variable itself); the others are copied after the run.
        let position = Dictionary(
            nodes.enumerated().map { (ObjectIdentifier($0.element), $0.offset) }, uniquingKeysWith: { first, _ in first })
        var inPlace: [ObjectIdentifier: any DeviceStorage] = [:]
        for (variable, value) in updates {
            let node = rootOf(lowering[value.node])
            let id = ObjectIdentifier(node)
            guard node.op.writesInPlaceSafely, inPlace[id] == nil, let index = position[id],
                lastPersistentRead[ObjectIdentifier(variable.storage), default: -1] <= index
            else { continue }
            inPlace[id] = variable.storage
        }

        // Slots: a buffer is reused, by exact size, once its last reader has run.
        var storage: [ObjectIdentifier: any DeviceStorage] = [:]
        var free: [Int: [any DeviceStorage]] = [:]
        var releasing: [Int: [(count: Int, storage: any DeviceStorage)]] = [:]
        var intermediateBytes = 0
        var withoutReuse = 0
        var steps: [Step] = []
        var dropoutSteps: [(Int, UInt64)] = []
        func storageOf(_ node: Node) -> any DeviceStorage {
            let source = rootOf(node)
            if let slot = storage[ObjectIdentifier(source)] { return slot }
            guard let held = source.storage else { preconditionFailure("[plan] \(node.op.name) used before it was computed") }
            return held
        }
        let limits = backend.memoryLimits
        for (index, node) in nodes.enumerated() {
            let id = ObjectIdentifier(node)
            if case .reshape = node.op {
                // Aliases its input: no launch, no buffer.
            } else {
                // Checked before it is allocated, naming the tensor: a driver may abort rather than fail.
                let name = "[plan] step \(steps.count + 1) (\(node.op.name)) output"
                let bytes = try limits.check(name, node.shape.dimensions, on: backend.name)
                let count = node.shape.count
                withoutReuse += count * 4
                let slot: any DeviceStorage
                if let variable = inPlace[id] {
                    slot = variable
                } else if var pool = free[count], let reused = pool.popLast() {
                    free[count] = pool
                    slot = reused
                } else {
                    try limits.checkTotal(name, node.shape.dimensions, bytes: bytes, inUse: intermediateBytes, on: backend.name)
                    slot = try backend.allocate(count: count)
                    intermediateBytes += count * 4
                }
                storage[id] = slot
                if case .dropoutMask(_, let seed, _) = node.op { dropoutSteps.append((steps.count, seed)) }
                steps.append(
                    Step(
                        op: node.op, operands: node.inputs.map { Operand(storage: storageOf($0), shape: $0.shape) },
                        output: slot, shape: node.shape))
                let last = lastUse[id] ?? index
                if last != Int.max, inPlace[id] == nil { releasing[max(last, index), default: []].append((count, slot)) }
            }
            // Buffers whose last reader is this step become free for the next steps.
            for (count, slot) in releasing.removeValue(forKey: index) ?? [] { free[count, default: []].append(slot) }
        }

        self.inputs = inputs.map { input in
            guard let storage = input.node.storage else { preconditionFailure("[plan] inputs must be data tensors") }
            return storage
        }
        self.inputShapes = inputs.map(\.shape)
        self.steps = steps
        self.closingUpdatesStart = steps.count - closingCount
        self.dropoutSteps = dropoutSteps
        self.outputs = outputs.map { (storageOf(lowering[$0.node]), $0.shape) }
        self.updates = updates.compactMap { update in
            let source = storageOf(lowering[update.value.node])
            return source === update.variable.storage ? nil : (source, update.variable.storage)
        }
        // An output's slot lives to the end of the run, so the last step that writes it completes it (or the
        // copies after the steps, for an output that is also a variable this plan updates).
        var readyAfter: [Int: [Int]] = [:]
        for (index, output) in self.outputs.enumerated() {
            let copied = self.updates.contains { $0.destination === output.storage }
            let writer = copied ? steps.count : steps.lastIndex { $0.output === output.storage } ?? -1
            readyAfter[writer, default: []].append(index)
        }
        self.outputsReadyAfterStep = readyAfter
        // Variables, inputs and folded constants: every storage the graph held before this plan's slots.
        var persistentStorages = Set<ObjectIdentifier>()
        var persistentBytes = 0
        let computedIDs = Set(computed.map(ObjectIdentifier.init))
        for node in order where !computedIDs.contains(ObjectIdentifier(node)) {
            if let held = node.storage, persistentStorages.insert(ObjectIdentifier(held)).inserted { persistentBytes += held.count * 4 }
        }
        self.report = Report(
            steps: steps.count + self.updates.count, intermediateBytes: intermediateBytes,
            intermediateBytesWithoutReuse: withoutReuse, persistentBytes: persistentBytes, fusions: fusion.descriptions)
        kernelLaunchesPerRun = try backend.countingLaunches { try enqueueSteps() }
        report.launches = kernelLaunchesPerRun
    }

    /// Runs the plan once with `inputValues` (one array per input, in order) and leaves the outputs
    /// on the device; read them with `output(_:)`. Dropout masks are drawn from their seed mixed with
    /// `salt` (a training step passes its step number, so a resumed run draws the same masks).
    ///
    /// `outputsReady`, when given, is called with the indices of the outputs that are complete as soon as
    /// the step that finishes them has been enqueued, before the later steps are: reading them then waits
    /// only for the work before them, and whatever the caller starts with them (a gradient allreduce)
    /// overlaps the rest of the run. It must not run other plans.
    public func run(_ inputValues: [[Float]], salt: UInt64 = 0, outputsReady: (([Int]) throws -> Void)? = nil) throws {
        guard inputValues.count == inputs.count else {
            throw TensorError.valueCount(expected: inputs.count, got: inputValues.count, shape: [inputs.count])
        }
        let backend = device.backend
        for (index, values) in inputValues.enumerated() {
            guard values.count == inputShapes[index].count else {
                throw TensorError.valueCount(expected: inputShapes[index].count, got: values.count, shape: inputShapes[index])
            }
            try backend.write(values, to: inputs[index])
        }
        for (index, seed) in dropoutSteps {
            if case .dropoutMask(let probability, _, let shape) = steps[index].op {
                steps[index].op = .dropoutMask(probability: probability, seed: seed &+ salt &* 0x9E37_79B9_7F4A_7C15, shape: shape)
            }
        }
        let launchesBefore = backend.launchCount
        if let outputsReady, let ready = outputsReadyAfterStep[-1] { try outputsReady(ready) }
        for (index, step) in steps[..<closingUpdatesStart].enumerated() {
            try backend.execute(step.op, inputs: step.operands, output: step.output, outputShape: step.shape)
            if let outputsReady, let ready = outputsReadyAfterStep[index] { try outputsReady(ready) }
        }
        try backend.executeUpdates(closingUpdates)
        if let outputsReady {
            for index in closingUpdatesStart..<steps.count { if let ready = outputsReadyAfterStep[index] { try outputsReady(ready) } }
        }
        for update in updates { try backend.copy(update.source, to: update.destination) }
        if let outputsReady, let ready = outputsReadyAfterStep[steps.count] { try outputsReady(ready) }
        if kernelLaunchesPerRun == nil { kernelLaunchesPerRun = backend.launchCount - launchesBefore }
    }

    /// Enqueues every step and the copies after them, as a run does (for counting launches).
    private func enqueueSteps() throws {
        let backend = device.backend
        for step in steps[..<closingUpdatesStart] {
            try backend.execute(step.op, inputs: step.operands, output: step.output, outputShape: step.shape)
        }
        try backend.executeUpdates(closingUpdates)
        for update in updates { try backend.copy(update.source, to: update.destination) }
    }

    /// Runs the plan once, then its steps again waiting for the device after every launch (so variables updated
    /// in place advance twice), and returns the seconds each op kind took (summed over its steps) with the kernel
    /// launches those steps made, slowest first: where a step's time goes.
    public func profile(_ inputValues: [[Float]], clock: () -> Double) throws -> [(op: String, seconds: Double, launches: Int)] {
        try run(inputValues)
        let backend = device.backend
        try backend.synchronize()
        var totals: [String: (seconds: Double, launches: Int)] = [:]
        try forEachOp { name, body in
            let launchesBefore = backend.launchCount
            let start = clock()
            try body()
            try backend.synchronize()
            totals[name, default: (0, 0)].seconds += clock() - start
            totals[name, default: (0, 0)].launches += backend.launchCount - launchesBefore
        }
        return totals.map { ($0.key, $0.value.seconds, $0.value.launches) }.sorted { $0.seconds > $1.seconds }
    }

    /// Runs the plan once, then its steps `runs` more times with their launches queued back to back as training
    /// queues them, and returns per run the device time each op kind's kernels took (or, `byKernel`, each op kind's
    /// kernels one by one) with their launch count, slowest first, and the wall seconds from the first enqueue until
    /// the device finished; nil where the backend cannot time launches (`Backend.timeLaunches`). `runs` below 1 counts
    /// as 1.
    public func deviceProfile(_ inputValues: [[Float]], runs: Int = 1, byKernel: Bool = false, clock: () -> Double) throws -> (
        ops: [(op: String, seconds: Double, launches: Int)], wallSeconds: Double
    )? {
        let runs = max(runs, 1)
        try run(inputValues)
        let backend = device.backend
        try backend.synchronize()
        let start = clock()
        let timed = try backend.timeLaunches { label in
            for _ in 0..<runs {
                try forEachOp { name, body in
                    label(name)
                    try body()
                }
            }
        }
        guard let launches = timed else { return nil }
        let wall = clock() - start
        var totals: [String: (seconds: Double, launches: Int)] = [:]
        for launch in launches {
            let key = byKernel ? launch.label + ": " + launch.kernel : launch.label
            totals[key, default: (0, 0)].seconds += launch.seconds
            totals[key, default: (0, 0)].launches += 1
        }
        let perRun = totals.map { (op: $0.key, seconds: $0.value.seconds / Double(runs), launches: $0.value.launches / runs) }
        return (perRun.sorted { $0.seconds > $1.seconds }, wall / Double(runs))
    }

    /// Calls `around` with each op's name (its kind and operand shapes, or the closing optimizer updates) and a body
    /// that enqueues its work, in plan order; the copies after the steps are left out.
    private func forEachOp(_ around: (String, () throws -> Void) throws -> Void) throws {
        let backend = device.backend
        for step in steps[..<closingUpdatesStart] {
            try around(step.op.name + " " + step.operands.map(\.shape.description).joined(separator: " ")) {
                try backend.execute(step.op, inputs: step.operands, output: step.output, outputShape: step.shape)
            }
        }
        let updates = closingUpdates
        if !updates.isEmpty {
            let rules = Set(updates.map(\.rule.name)).sorted().joined(separator: ", ")
            try around("optimizer updates (\(updates.count): \(rules))") { try backend.executeUpdates(updates) }
        }
    }

    /// The closing optimizer updates as `Backend.executeUpdates` takes them.
    private var closingUpdates: [UpdateStep] {
        steps[closingUpdatesStart...].compactMap { step in
            guard case .update(let rule) = step.op else { return nil }
            return UpdateStep(rule: rule, inputs: step.operands, output: step.output, shape: step.shape)
        }
    }

    /// `nodes` with the optimizer updates that only other updates (or nothing) read moved to the end, in their
    /// order, and how many those are: the plan enqueues them together, so a backend can update many tensors per
    /// launch. Moving them later is safe (no step left before them reads their values; the variables they replace
    /// are read before); their gradients stay allocated until then.
    private static func closingUpdates(_ nodes: [Node]) -> (nodes: [Node], count: Int) {
        var closing = Set(
            nodes.compactMap { node -> ObjectIdentifier? in
                guard case .update = node.op else { return nil }
                return ObjectIdentifier(node)
            })
        var changed = true
        while changed {
            changed = false
            for node in nodes where !closing.contains(ObjectIdentifier(node)) {
                for input in node.inputs where closing.remove(ObjectIdentifier(input)) != nil { changed = true }
            }
        }
        let (last, first) = nodes.reduce(into: ([Node](), [Node]())) { parts, node in
            if closing.contains(ObjectIdentifier(node)) { parts.0.append(node) } else { parts.1.append(node) }
        }
        return (first + last, last.count)
    }

    /// The values of output `index` after the last run (waits for the device).
    public func output(_ index: Int) throws -> [Float] {
        try device.backend.readFloats(outputs[index].storage)
    }
}
