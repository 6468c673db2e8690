// KernelSource: the text of a Kernels/*.cl file, embedded at build time by the EmbedKernels
// plugin, or read from the folder KILN_KERNEL_DIR names for fast kernel iteration; and a file with the
// files it `#include`s expanded in place, the source a program is built from.
import Foundation

/// Kernel source files by name ("gemm.cl").
public enum KernelSource {
    /// The text of `file`: from `$KILN_KERNEL_DIR/file` when that variable is set (and then only
    /// from there, so an edit is never silently replaced by the embedded copy), else embedded.
    public static func text(of file: String) throws(OpenCLError) -> String {
        try text(of: file, kernelDirectory: processKernelDirectory())
    }

    /// `text(of:)` with the environment given (for tests).
    public static func text(of file: String, environment: [String: String]) throws(OpenCLError) -> String {
        try text(of: file, kernelDirectory: environment["KILN_KERNEL_DIR"])
    }

    /// The source of a program built from `file`: its text with every `#include "NAME"` line replaced by NAME's
    /// text (from the same place, expanded likewise, each file at most once), and `#line` directives so build logs
    /// and checkers name the right file and line. Kernel files stay valid OpenCL C for a compiler given `-I Kernels`.
    public static func program(of file: String) throws(OpenCLError) -> String {
        let kernelDirectory = processKernelDirectory()
        var included: Set<String> = []
        return try expanded(file, kernelDirectory: kernelDirectory, included: &included)
    }

    /// `program(of:)` with the environment given (for tests).
    public static func program(of file: String, environment: [String: String]) throws(OpenCLError) -> String {
        var included: Set<String> = []
        return try expanded(file, kernelDirectory: environment["KILN_KERNEL_DIR"], included: &included)
    }

    private static func expanded(_ file: String, kernelDirectory: String?, included: inout Set<String>) throws(OpenCLError)
        -> String
    {
        included.insert(file)
        var lines = ["#line 1 \"\(file)\""]
        for (index, line) in try text(of: file, kernelDirectory: kernelDirectory).split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated()
        {
            guard let name = includedName(line) else {
                lines.append(String(line))
                continue
            }
            if !included.contains(name) {
                lines.append(try expanded(name, kernelDirectory: kernelDirectory, included: &included))
            }
            lines.append("#line \(index + 2) \"\(file)\"")
        }
        return lines.joined(separator: "\n")
    }

    /// NAME of a line `#include "NAME"` (spaces allowed around the tokens), else nil.
    private static func includedName(_ line: Substring) -> String? {
        var rest = line.drop { $0 == " " || $0 == "\t" }
        guard rest.hasPrefix("#") else { return nil }
        rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" }
        guard rest.hasPrefix("include") else { return nil }
        rest = rest.dropFirst("include".count).drop { $0 == " " || $0 == "\t" }
        guard rest.hasPrefix("\""), let end = rest.dropFirst().firstIndex(of: "\"") else { return nil }
        return String(rest[rest.index(after: rest.startIndex)..<end])
    }

    /// The names of the kernel files available, sorted: those in `$KILN_KERNEL_DIR` when set,
    /// else the embedded ones.
    public static var fileNames: [String] { fileNames(kernelDirectory: processKernelDirectory()) }

    /// `fileNames` with the environment given (for tests).
    public static func fileNames(environment: [String: String]) -> [String] {
        fileNames(kernelDirectory: environment["KILN_KERNEL_DIR"])
    }

    private static func text(of file: String, kernelDirectory: String?) throws(OpenCLError) -> String {
        if let folder = folderURL(kernelDirectory) {
            let url = folder.appendingPathComponent(file)
            guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                throw .kernelSourceMissing(file: url.path)
            }
            return text
        }
        guard let text = EmbeddedKernels.sources[file] else { throw .kernelSourceMissing(file: file) }
        return text
    }

    private static func fileNames(kernelDirectory: String?) -> [String] {
        if let folder = folderURL(kernelDirectory) {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            return names.filter { $0.hasSuffix(".cl") }.sorted()
        }
        return EmbeddedKernels.sources.keys.sorted()
    }

    /// Read with getenv on each call: cheap, unlike copying the whole environment, and still
    /// follows a variable set while the program runs.
    private static func processKernelDirectory() -> String? {
        getenv("KILN_KERNEL_DIR").map { String(cString: $0) }
    }

    private static func folderURL(_ path: String?) -> URL? {
        guard let path, !path.isEmpty else { return nil }
        return URL(fileURLWithPath: path, isDirectory: true)
    }
}
