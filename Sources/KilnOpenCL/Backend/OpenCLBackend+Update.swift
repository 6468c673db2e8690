// Optimizer updates: one launch per `UpdateRule` application, with the update kernels of Kernels/elementwise.cl.
import KilnCore

extension OpenCLBackend {
    /// The new value of `x[0]` under `rule` (the scalars tensor last where the rule takes one).
    func update(_ rule: UpdateRule, _ x: [OpenCLOperand], _ out: OpenCLBuffer) throws {
        let count = x[0].shape.count
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
