// Optimizer updates with the update kernels of Kernels/elementwise.cl: one launch per `UpdateRule` application, or
// for a plan's closing group of SGD updates, up to `updateSlots` tensors (with their momentum buffers) per launch.
import KilnCore

extension OpenCLBackend {
    /// The new value of `x[0]` under `rule` (the scalars tensor last where the rule takes one); a gradient with rows
    /// is summed into a workspace first.
    func update(_ rule: UpdateRule, _ inputs: [OpenCLOperand], _ out: OpenCLBuffer) throws {
        let count = inputs[0].shape.count
        var x = inputs
        if let gradient = rule.gradientInput, x[gradient].shape.count != count {
            let sums = try workspace(.gradientSums, count: count)
            try reduce(.sum, x[gradient].buffer, sums, outer: 1, reduced: x[gradient].shape.count / count, inner: count, divisor: 1)
            x[gradient] = OpenCLOperand(buffer: sums, shape: x[0].shape)
        }
        let buffers: [KernelArgument]
        let attributes: [KernelArgument]
        let entry: String
        switch rule {
        case .momentumBuffer(let momentum, let decay):
            entry = "update_momentum_buffer"
            buffers = [.buffer(x[0].buffer), .buffer(x[1].buffer), .buffer(x[2].buffer)]
            attributes = [.float(Float(momentum)), .float(Float(decay))]
        case .sgdParameter(let momentum, let nesterov, let decay):
            entry = "update_sgd"
            let buffer = momentum == 0 ? x[0] : x[2]
            buffers = [.buffer(x[0].buffer), .buffer(x[1].buffer), .buffer(buffer.buffer), .buffer(x[x.count - 1].buffer)]
            let mode = momentum == 0 ? 0 : (nesterov ? 2 : 1)
            attributes = [.int(mode), .float(Float(momentum)), .float(Float(decay))]
        case .adamMoment(let beta, let squared, let decay):
            entry = "update_adam_moment"
            buffers = [.buffer(x[0].buffer), .buffer(x[1].buffer), .buffer(x[2].buffer)]
            attributes = [.float(Float(beta)), .float(Float(1 - beta)), .int(squared ? 1 : 0), .float(Float(decay))]
        case .adamParameter(let epsilon):
            entry = "update_adam"
            buffers = [.buffer(x[0].buffer), .buffer(x[1].buffer), .buffer(x[2].buffer), .buffer(x[3].buffer)]
            attributes = [.float(Float(epsilon))]
        }
        try vectorElementwise(entry, buffers + [.buffer(out), .int(count)] + attributes, count: count)
    }
}

extension OpenCLBackend {
    /// Tensors `update_sgd_multi` updates per launch (`KILN_UPDATE_SLOTS`).
    static let updateSlots = 8

    /// One parameter's SGD update, with its momentum buffer's update when it has one, as a slot of `update_sgd_multi`.
    private struct SGDSlot {
        let parameter: OpenCLBuffer
        /// The gradient, or `gradientRows` rows of it to sum (a bias's gradient over a batch).
        let gradient: OpenCLBuffer
        let gradientRows: Int
        /// The buffer read and the buffer written (the parameter, neither read nor written, without momentum).
        let velocity: (read: OpenCLBuffer, written: OpenCLBuffer)
        let out: OpenCLBuffer
        let count: Int
    }

    /// The kernel's uniform arguments: a launch holds slots that agree on them.
    private struct SGDLaunch: Hashable {
        let mode: Int
        let momentum: Double
        let decay: Double
        let scalars: ObjectIdentifier
    }

    /// SGD updates (a momentum buffer's update joined to the parameter update that reads it) run `updateSlots`
    /// tensors per launch of `update_sgd_multi`; the others run one launch each, in order, after them. An update joins
    /// a launch only when no other update of the group writes what it reads or reads what it writes, so the order
    /// does not matter, and when the kernel sums its gradient's rows as `reduce` would (`reducesRowsInOnePass`; the
    /// others reduce first), so a plan that folded a bias gradient's reduction into its update gets the values the
    /// reduction gives.
    public func executeUpdates(_ updates: [UpdateStep]) throws {
        let written = updates.map { ObjectIdentifier($0.output) }
        var momentumStep: [ObjectIdentifier: Int] = [:]
        for (index, update) in updates.enumerated() {
            if case .momentumBuffer = update.rule { momentumStep[ObjectIdentifier(update.output)] = index }
        }
        var joined = Set<Int>()
        var launches: [SGDLaunch: (scalars: OpenCLBuffer, slots: [SGDSlot])] = [:]
        var launchOrder: [SGDLaunch] = []
        for (index, update) in updates.enumerated() {
            guard case .sgdParameter(let momentum, let nesterov, let decay) = update.rule else { continue }
            let (p, g, scalars) = (update.inputs[0], update.inputs[1], update.inputs[update.inputs.count - 1])
            let rows = g.shape.count / update.shape.count
            guard rows == 1 || Self.reducesRowsInOnePass(outputs: update.shape.count, reduced: rows) else { continue }
            var members = [index]
            var velocity = (read: try own(p.storage).buffer, written: try own(p.storage).buffer)
            var reads = [p.storage, g.storage]
            if momentum != 0 {
                guard let bufferIndex = momentumStep[ObjectIdentifier(update.inputs[2].storage)],
                    case .momentumBuffer(momentum, decay) = updates[bufferIndex].rule,
                    updates[bufferIndex].inputs[1].storage === g.storage, updates[bufferIndex].inputs[2].storage === p.storage
                else { continue }
                let buffer = updates[bufferIndex]
                members.append(bufferIndex)
                reads.append(buffer.inputs[0].storage)
                velocity = (try own(buffer.inputs[0].storage).buffer, try own(buffer.output).buffer)
            }
            let ownOutputs = Set(members.map { written[$0] })
            let others = updates.indices.filter { !members.contains($0) }
            let othersWrite = Set(others.map { written[$0] })
            let othersRead = Set(others.flatMap { updates[$0].inputs.map { ObjectIdentifier($0.storage) } })
            guard (reads + [scalars.storage]).allSatisfy({ !othersWrite.contains(ObjectIdentifier($0)) }),
                ownOutputs.isDisjoint(with: othersRead), !joined.contains(index), members.allSatisfy({ !joined.contains($0) })
            else { continue }
            joined.formUnion(members)
            let key = SGDLaunch(
                mode: momentum == 0 ? 0 : (nesterov ? 2 : 1), momentum: momentum, decay: decay, scalars: ObjectIdentifier(scalars.storage))
            if launches[key] == nil {
                launchOrder.append(key)
                launches[key] = (try own(scalars.storage).buffer, [])
            }
            launches[key]?.slots.append(
                SGDSlot(
                    parameter: try own(p.storage).buffer, gradient: try own(g.storage).buffer,
                    gradientRows: rows, velocity: velocity, out: try own(update.output).buffer,
                    count: update.shape.count))
        }
        for key in launchOrder {
            guard let (scalars, slots) = launches[key] else { continue }
            for start in stride(from: 0, to: slots.count, by: Self.updateSlots) {
                try sgdMulti(slots[start..<min(start + Self.updateSlots, slots.count)], key, scalars: scalars)
            }
        }
        for (index, update) in updates.enumerated() where !joined.contains(index) {
            try execute(.update(update.rule), inputs: update.inputs, output: update.output, outputShape: update.shape)
        }
    }

    /// One launch of `update_sgd_multi` over `slots` (at most `updateSlots`); unused slots get n = 0.
    private func sgdMulti(_ slots: ArraySlice<SGDSlot>, _ launch: SGDLaunch, scalars: OpenCLBuffer) throws {
        var arguments: [KernelArgument] = []
        let run = try checkedRun(slots.reduce(0) { $0 + $1.count }, kernel: "update_sgd_multi")
        var items = 0
        for slot in slots {
            arguments += [
                .buffer(slot.parameter), .buffer(slot.gradient), .buffer(slot.velocity.read), .buffer(slot.out),
                .buffer(slot.velocity.written), .int(slot.count), .int(slot.gradientRows),
            ]
            items += (slot.count + run - 1) / run
        }
        for _ in slots.count..<Self.updateSlots { arguments += Array(repeating: .buffer(scalars), count: 5) + [.int(0), .int(1)] }
        arguments += [
            .buffer(scalars), .int(launch.mode), .float(Float(launch.momentum)), .float(Float(launch.decay)), .int(run),
        ]
        if items > 0 { try elementwise("update_sgd_multi", arguments, count: items) }
    }
}
