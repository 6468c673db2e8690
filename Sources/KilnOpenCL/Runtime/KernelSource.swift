// KernelSource: the text of a Kernels/*.cl file, embedded at build time by the EmbedKernels
// plugin, or read from the folder KILN_KERNEL_DIR names for fast kernel iteration.
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
