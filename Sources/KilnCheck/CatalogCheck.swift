// CatalogCheck: a list of cases run on one backend against the reference in Double, summarised per op (the
// name a case is reported under): what `kiln check` prints and the kernel tests assert on.
import Dispatch
import KilnCore

/// One op's cases on one device.
public struct OpSummary: Sendable {
    /// The name the cases are reported under (`conv2d`, `leakyRelu_grad`, `sgemm_1024`).
    public let name: String
    public let results: [CaseResult]

    public var cases: Int { results.count }
    public var failures: [CaseResult] { results.filter { !$0.passed } }
    public var passed: Bool { failures.isEmpty }
    /// The case with the largest error-to-tolerance ratio (a case that could not run counts as infinite).
    public var worst: CaseResult? { results.max { $0.ratio < $1.ratio } }
}

/// The results of a catalog check on one device.
public struct CheckReport: Sendable {
    /// One summary per op, in catalog order.
    public let ops: [OpSummary]
    /// Wall time of the whole check, the reference's work included.
    public let seconds: Double

    public var results: [CaseResult] { ops.flatMap(\.results) }
    public var failures: [CaseResult] { ops.flatMap(\.failures) }
    public var passed: Bool { ops.allSatisfy(\.passed) }
}

public enum CatalogCheck {
    /// Runs `cases` on `backend`, calling `finished` with each op's summary as soon as its last case has run.
    public static func run(_ cases: [OpCase], on backend: any Backend, finished: (OpSummary) -> Void = { _ in }) -> CheckReport {
        let start = DispatchTime.now().uptimeNanoseconds
        var order: [String] = []
        var remaining: [String: Int] = [:]
        for opCase in cases {
            if remaining[opCase.name] == nil { order.append(opCase.name) }
            remaining[opCase.name, default: 0] += 1
        }
        var results: [String: [CaseResult]] = [:]
        for opCase in cases {
            results[opCase.name, default: []] += CaseCheck.run(opCase, on: [backend])
            remaining[opCase.name, default: 1] -= 1
            if remaining[opCase.name] == 0 { finished(OpSummary(name: opCase.name, results: results[opCase.name] ?? [])) }
        }
        let ops = order.map { OpSummary(name: $0, results: results[$0] ?? []) }
        return CheckReport(ops: ops, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    /// The names and ids `selection` stands for: op names and case ids (`matmul 12`, as the table's worst-case column
    /// prints them) as they are, a family's name (`convolution`, `products`) for every op in it. Throws for anything
    /// else, listing the names there are.
    public static func names(_ selection: [String]) throws -> Set<String> {
        var names = Set<String>()
        for requested in selection {
            if OpCatalog.names.contains(requested) || OpCatalog.named(requested) != nil {
                names.insert(requested)
            } else if let family = OpFamily(rawValue: requested.lowercased()) {
                names.formUnion(OpCatalog.cases(in: family).map(\.name))
            } else {
                throw CheckError.unknownOp(requested, known: OpFamily.allCases.map(\.rawValue) + OpCatalog.names)
            }
        }
        return names
    }
}
