// EmbedKernels: a build-tool plugin that embeds every Kernels/*.cl of the package into the target
// it is applied to (KilnOpenCL), as `EmbeddedKernels.sources`, by running KernelEmbedder.
import Foundation
import PackagePlugin

@main
struct EmbedKernels: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let kernelFolder = context.package.directoryURL.appendingPathComponent("Kernels", isDirectory: true)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: kernelFolder.path)) ?? []
        let kernels = names.filter { $0.hasSuffix(".cl") }.sorted().map { kernelFolder.appendingPathComponent($0) }
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("EmbeddedKernels.swift")
        // SwiftPM reuses these commands until it re-plans the package (Package.swift or a target's
        // file list changes), and a new file in Kernels/ does not make it re-plan. So the embedder
        // lists the folder itself when it runs, and the folder is an input: adding or removing a
        // kernel changes the folder's modification time, which reruns the command. Each file known
        // at planning time is an input too, so editing it reruns the command. Edits to a kernel
        // added since the last re-plan are picked up at the next re-plan (`touch Package.swift`);
        // KILN_KERNEL_DIR avoids the question while iterating on a kernel.
        return [
            .buildCommand(
                displayName: "Embedding OpenCL kernels from Kernels/",
                executable: try context.tool(named: "KernelEmbedder").url,
                arguments: [output.path, kernelFolder.path],
                inputFiles: [kernelFolder] + kernels,
                outputFiles: [output]
            )
        ]
    }
}
