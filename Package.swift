// swift-tools-version: 6.1
// Kiln: a deep-learning engine in Swift on OpenCL, with a CPU reference backend that defines the semantics.
import PackageDescription

let package = Package(
    name: "Kiln",
    products: [
        .library(name: "Kiln", targets: ["Kiln"]),
        .library(name: "KilnDistributed", targets: ["KilnDistributed"]),
        .executable(name: "kiln", targets: ["kiln"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: System
        .systemLibrary(name: "COpenCL", path: "Sources/COpenCL"),

        // MARK: Core (knows no device)
        .target(name: "KilnCore", path: "Sources/KilnCore"),

        // MARK: Backends (depend on the core, never the reverse)
        .target(name: "KilnReference", dependencies: ["KilnCore"], path: "Sources/KilnReference"),
        .target(
            name: "KilnOpenCL",
            dependencies: ["KilnCore", "COpenCL"],
            path: "Sources/KilnOpenCL",
            plugins: ["EmbedKernels"]
        ),

        // MARK: Neural-network layers, losses and optimizers (know no device)
        .target(name: "KilnNN", dependencies: ["KilnCore"], path: "Sources/KilnNN"),

        // MARK: Data: data sets and checkpoints
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .target(name: "KilnData", dependencies: ["KilnCore", "CZlib", "CPNG"], path: "Sources/KilnData"),

        // MARK: Umbrella for embedders
        .target(name: "Kiln", dependencies: ["KilnCore", "KilnReference", "KilnOpenCL", "KilnNN", "KilnData"], path: "Sources/Kiln"),

        // MARK: Distributed: data-parallel training over MPI (libmpi loaded at run time, only under mpirun)
        .target(name: "CKilnMPI", path: "Sources/CKilnMPI", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "KilnDistributed", dependencies: ["Kiln", "CKilnMPI"], path: "Sources/KilnDistributed"),

        // MARK: Benchmarks: the workloads `kiln bench` runs (shared with the tests)
        .target(name: "KilnBenchmarks", dependencies: ["Kiln"], path: "Benchmarks", exclude: ["compare-peers.sh", "mpi-scaling.sh"]),

        // MARK: Command line
        .executableTarget(
            name: "kiln",
            dependencies: ["Kiln", "KilnDistributed", "KilnBenchmarks", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/kiln"
        ),

        // MARK: Build tooling: embeds Kernels/*.cl into the KilnOpenCL binary
        .executableTarget(name: "KernelEmbedder", path: "Sources/KernelEmbedder"),
        .plugin(name: "EmbedKernels", capability: .buildTool(), dependencies: ["KernelEmbedder"], path: "Plugins/EmbedKernels"),

        // MARK: Tests
        .target(name: "KilnTestSupport", dependencies: ["KilnCore"], path: "Tests/KilnTestSupport"),
        .testTarget(name: "KilnCoreTests", dependencies: ["KilnCore", "KilnTestSupport"], path: "Tests/KilnCoreTests"),
        .testTarget(
            name: "KilnReferenceTests",
            dependencies: ["KilnCore", "KilnReference", "KilnTestSupport"],
            path: "Tests/KilnReferenceTests"
        ),
        .testTarget(
            name: "KilnOpenCLTests",
            dependencies: ["Kiln", "KilnTestSupport"],
            path: "Tests/KilnOpenCLTests"
        ),
        .testTarget(
            name: "KilnGradientTests",
            dependencies: ["KilnCore", "KilnReference", "KilnNN", "KilnTestSupport"],
            path: "Tests/KilnGradientTests"
        ),
        .testTarget(name: "KilnDataTests", dependencies: ["KilnData", "CPNG"], path: "Tests/KilnDataTests"),
        .testTarget(name: "KilnTests", dependencies: ["Kiln", "KilnBenchmarks", "KilnTestSupport"], path: "Tests/KilnTests"),
        .testTarget(name: "KilnCLITests", dependencies: ["kiln", "KilnData"], path: "Tests/KilnCLITests"),
        .testTarget(name: "KilnDistributedTests", dependencies: ["KilnDistributed"], path: "Tests/KilnDistributedTests"),
    ],
    swiftLanguageModes: [.v5]
)
