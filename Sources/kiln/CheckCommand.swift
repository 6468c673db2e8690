// `kiln check`: runs the op-case catalog on a device against the CPU reference backend in Double and says, per
// op, whether every case is within its tolerance and how close the worst came. What a user runs on a new GPU or
// driver before trusting it: the header says which device, driver and OpenCL version the results are for.
import ArgumentParser
import Foundation
import Kiln
import KilnCheck

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check every op on a device against the CPU reference backend in Double.",
        discussion: """
            Runs the catalog of op cases (every op with awkward shapes: sizes 1, primes, around work-group and \
            tile sizes; seeded inputs; a tolerance with its reason per case) on the device and compares each \
            result with the reference backend computing in Double. Prints one line per op: pass or FAIL, the \
            cases, the worst error-to-tolerance ratio (at most 1 passes) and the case it came from; then every \
            failure with its worst element, and a summary. A kernel that does not build or a launch the device \
            refuses is a failed case with its message.

            Without --quick the bench's workloads at the peers' shapes are checked too (on cpu, where the \
            reference backend runs them for minutes, only those named with --op). --quick keeps the cases small enough for a simulator such as \
            oclgrind. Exit status: 1 when any case failed.
            """)

    @Option(help: "cpu, opencl, opencl:N or opencl:NAME (default: $KILN_DEVICE, else opencl).")
    var device: String?
    @Flag(help: "Only the quick cases (at most a few thousand outputs each), for simulators and interpreters.")
    var quick = false
    @Flag(help: "Print one JSON object per line (the device, each op, the summary) instead of the table.")
    var json = false
    @Option(
        name: .customLong("op"),
        help:
            "An op (as the table names it), a case (as its worst-case column names it) or a family (\(OpFamily.allCases.map(\.rawValue).joined(separator: ", "))) to check; repeat for several (default: all)."
    )
    var ops: [String] = []
    @Option(
        name: .customLong("tunable"),
        help:
            "FILE:NAME=VALUE, a kernel tunable to build with instead of the tuned or default value (e.g. gemm.cl:GEMM_ROWS=4); repeat for several."
    )
    var tunables: [String] = []
    @Flag(help: "List the selected cases (id, tier, what they compute, tolerance) without running them.")
    var list = false

    func validate() throws {
        do { _ = try CheckCommand.names(ops) } catch { throw ValidationError(String(describing: error)) }
        for tunable in tunables { _ = try Self.parse(tunable: tunable) }
    }

    func run() throws {
        let selection = try DeviceSelection.parse(device ?? ProcessInfo.processInfo.environment[Device.environmentVariable] ?? "opencl")
        let names = try Self.names(ops)
        // On cpu the bench's workloads run for minutes: only those named with --op run there.
        let cases = OpCatalog.cases(upTo: quick ? .quick : .benchmark, named: names).filter { opCase in
            !(selection.isReference && opCase.tier == .benchmark && !ops.contains(opCase.id))
        }
        if list {
            for opCase in cases { print("\(opCase.id)\t\(opCase.tier)\t\(opCase.summary)\t\(opCase.tolerance)") }
            return
        }
        let backend = try selection.backend()
        let overrides = try tunables.map(Self.parse(tunable:))
        if !overrides.isEmpty {
            guard let openCL = backend as? OpenCLBackend, case .openCL(let handle) = selection else {
                throw ValidationError("--tunable sets OpenCL kernel defines; \(selection.label) is the CPU reference backend")
            }
            var table = openCL.tuning ?? TuningTable(device: TuningTable.deviceIdentity(handle.info))
            for (file, name, value) in overrides { table.kernels[file, default: [:]][name] = value }
            openCL.tuning = table
        }
        let printer = CheckPrinter(json: json)
        printer.header(selection, backend: backend, cases: cases)
        let report = CatalogCheck.run(cases, on: backend) { printer.line($0) }
        printer.footer(report, device: selection.label)
        if !report.passed { throw ExitCode(1) }
    }

    /// The op names `--op` selects, or nil for all.
    static func names(_ ops: [String]) throws -> Set<String>? {
        ops.isEmpty ? nil : try CatalogCheck.names(ops)
    }

    /// `FILE:NAME=VALUE` of a kernel file there is, a define its source reads, and an integer.
    static func parse(tunable: String) throws -> (file: String, name: String, value: Int) {
        let parts = tunable.split(separator: ":", maxSplits: 1).map(String.init)
        let assignment = parts.count == 2 ? parts[1].split(separator: "=", maxSplits: 1).map(String.init) : []
        guard parts.count == 2, assignment.count == 2, let value = Int(assignment[1]) else {
            throw ValidationError("--tunable \(tunable): expected FILE:NAME=VALUE with an integer value, e.g. gemm.cl:GEMM_ROWS=4")
        }
        let (file, name) = (parts[0], assignment[0])
        guard KernelSource.fileNames.contains(file) else {
            throw ValidationError(
                "--tunable \(tunable): no kernel file \(file); kernel files: \(KernelSource.fileNames.joined(separator: ", "))")
        }
        guard let source = try? KernelSource.text(of: file), source.contains(name) else {
            throw ValidationError("--tunable \(tunable): \(file) reads no define \(name)")
        }
        return (file, name, value)
    }
}

/// `kiln check`'s output: a table for people, JSON lines for machines.
struct CheckPrinter {
    let json: Bool

    private static let columns = [("op", 31), ("result", 6), ("cases", 6), ("worst ratio", 11), ("worst case", 0)]

    func header(_ selection: DeviceSelection, backend: any Backend, cases: [OpCase]) {
        var device: [String: String] = ["kind": "device", "device": selection.label, "name": selection.name]
        var lines = [
            "kiln check: \(cases.count) cases (\(Self.describe(cases))) on \(selection.label) against the CPU reference backend in Double"
        ]
        switch selection {
        case .reference:
            lines.append("device: CPU reference backend (plain Swift, Float32)")
        case .openCL(let handle):
            let info = handle.info
            lines.append(
                "device: \(info.platformName) / \(info.name) (\(info.typeDescription), \(info.computeUnits) compute units at \(info.maxClockMHz) MHz)"
            )
            lines.append("driver: \(info.driverVersion); \(info.deviceVersion); \(info.openCLCVersion)")
            let tuned = (backend as? OpenCLBackend)?.tuning?.kernels.sorted { $0.key < $1.key }.map { file, values in
                "\(file) " + values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            }
            lines.append(
                "tunables: " + (tuned.map { $0.isEmpty ? "the kernels' defaults" : $0.joined(separator: "; ") } ?? "the kernels' defaults"))
            device.merge(
                [
                    "platform": info.platformName, "type": info.typeDescription, "driver": info.driverVersion,
                    "version": info.deviceVersion,
                    "c_version": info.openCLCVersion,
                ]) { $1 }
        }
        if json {
            print(Self.encode(device))
        } else {
            print((lines + ["", Self.row(Self.columns.map(\.0))]).joined(separator: "\n"))
        }
    }

    func line(_ summary: OpSummary) {
        let worst = summary.worst
        if json {
            var object: [String: Any] = [
                "kind": "op", "op": summary.name, "status": summary.passed ? "pass" : "fail", "cases": summary.cases,
                "failed": summary.failures.count, "worst_ratio": Self.number(worst?.ratio), "worst_case": worst?.opCase.id ?? "",
            ]
            if let element = worst?.comparison?.worst {
                object.merge(
                    [
                        "worst_index": element.index, "actual": Self.number(element.actual), "expected": Self.number(element.expected),
                        "allowed": element.allowed,
                    ]
                ) { $1 }
            }
            if let error = worst?.error { object["error"] = error }
            print(Self.encode(object))
        } else {
            let ratio = worst.map { $0.error == nil ? String(format: "%.3g", $0.ratio) : "error" } ?? "-"
            print(Self.row([summary.name, summary.passed ? "pass" : "FAIL", "\(summary.cases)", ratio, worst?.opCase.id ?? "-"]))
        }
    }

    func footer(_ report: CheckReport, device: String) {
        let failedOps = report.ops.filter { !$0.passed }
        let cases = report.results.count
        if json {
            print(
                Self.encode([
                    "kind": "summary", "device": device, "ops": report.ops.count, "cases": cases, "failed": report.failures.count,
                    "failed_ops": failedOps.map(\.name), "seconds": report.seconds,
                ]))
            return
        }
        for op in failedOps {
            print("\nFAILED \(op.name): \(op.failures.count) of \(op.cases) cases")
            for failure in op.failures.prefix(5) { print("  " + failure.failureDescription) }
            if op.failures.count > 5 { print("  ... and \(op.failures.count - 5) more") }
        }
        let verdict =
            failedOps.isEmpty ? "all passed" : "\(report.failures.count) failed (\(failedOps.map(\.name).joined(separator: ", ")))"
        print("\nsummary: \(report.ops.count) ops, \(cases) cases on \(device): \(verdict) in \(String(format: "%.1f", report.seconds)) s")
    }

    /// Which tiers `cases` hold, in words.
    private static func describe(_ cases: [OpCase]) -> String {
        let tiers = Set(cases.map(\.tier))
        if tiers == [.quick] { return "the quick set" }
        return tiers.contains(.benchmark) ? "quick, standard and the bench's workloads" : "quick and standard"
    }

    private static func row(_ cells: [String]) -> String {
        zip(cells, columns).map { cell, column in
            cell.count >= column.1 ? cell : cell + String(repeating: " ", count: column.1 - cell.count)
        }.joined(separator: " ")
    }

    /// A JSON number, or a string for infinities and NaN, which JSON cannot hold.
    private static func number(_ value: Double?) -> Any {
        guard let value else { return NSNull() }
        return value.isFinite ? value : String(describing: value)
    }

    private static func encode(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
