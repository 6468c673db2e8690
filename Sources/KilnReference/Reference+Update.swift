// Reference optimizer updates: each `UpdateRule` element by element, in the order of operations the
// OpenCL kernels use.

import KilnCore

extension ReferenceBackend {
    /// The new value of `x[0]` under `rule`; `x` holds the op's inputs (the scalars tensor last where the rule takes one).
    func update(_ rule: UpdateRule, _ x: [[Scalar]]) -> [Scalar] {
        let count = x[0].count
        func decayed(_ i: Int, gradient: [Scalar], parameter: [Scalar], decay: Double) -> Scalar {
            decay == 0 ? gradient[i] : gradient[i] + parameter[i] * Scalar(decay)
        }
        switch rule {
        case .momentumBuffer(let momentum, let decay):
            let (buffer, gradient, parameter) = (x[0], x[1], x[2])
            return (0..<count).map { i in buffer[i] * Scalar(momentum) + decayed(i, gradient: gradient, parameter: parameter, decay: decay) }
        case .sgdParameter(let momentum, let nesterov, let decay):
            let (parameter, gradient) = (x[0], x[1])
            let rate = x[x.count - 1][0]
            return (0..<count).map { i in
                var step = decayed(i, gradient: gradient, parameter: parameter, decay: decay)
                if momentum != 0 { step = nesterov ? step + x[2][i] * Scalar(momentum) : x[2][i] }
                return parameter[i] - rate * step
            }
        case .adamMoment(let beta, let squared, let decay):
            let (moment, gradient, parameter) = (x[0], x[1], x[2])
            return (0..<count).map { i in
                let d = decayed(i, gradient: gradient, parameter: parameter, decay: decay)
                return moment[i] * Scalar(beta) + (squared ? d * d : d) * Scalar(1 - beta)
            }
        case .adamParameter(let epsilon):
            let (parameter, first, second, scalars) = (x[0], x[1], x[2], x[3])
            let (rate, firstCorrection, secondCorrection) = (scalars[0], scalars[1], scalars[2])
            return (0..<count).map { i in
                parameter[i] - rate * firstCorrection * first[i] / (second[i].squareRoot() * secondCorrection + Scalar(epsilon))
            }
        }
    }
}
