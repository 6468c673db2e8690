// swift-tools-version: 6.1
// Kiln: a deep-learning engine in Swift on OpenCL, with a CPU reference backend that defines the semantics.
import PackageDescription

let package = Package(
    name: "Kiln",
    products: [
        .library(name: "Kiln", targets: ["Kiln"]),
        .library(name: "KilnONNX", targets: ["KilnONNX"]),
        // The C API: libKilnC.so with Sources/KilnC/include/kiln.h.
        .library(name: "KilnC", type: .dynamic, targets: ["KilnC"]),
        .library(name: "KilnDistributed", targets: ["KilnDistributed"]),
        .executable(name: "kiln", targets: ["kiln"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // MARK: System
        .systemLibrary(name: "COpenCL", path: "Sources/COpenCL"),

        // MARK: Core (knows no device)
        .target(name: "KilnCore", path: "Sources/KilnCore"),

        // MARK: Files: the one safe writer and the bounded reader every module uses
        .target(name: "KilnFiles", path: "Sources/KilnFiles"),

        // MARK: Backends (depend on the core, never the reverse)
        .target(name: "KilnReference", dependencies: ["KilnCore"], path: "Sources/KilnReference"),
        .target(
            name: "KilnOpenCL",
            dependencies: ["KilnCore", "KilnFiles", "COpenCL"],
            path: "Sources/KilnOpenCL",
            plugins: ["EmbedKernels"]
        ),

        // MARK: Neural-network layers, losses and optimizers (know no device)
        .target(name: "KilnNN", dependencies: ["KilnCore"], path: "Sources/KilnNN"),

        // MARK: Data: data sets and checkpoints
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG"),
        .target(name: "KilnData", dependencies: ["KilnCore", "KilnFiles", "CZlib", "CPNG", "CTurboJPEG"], path: "Sources/KilnData"),

        // MARK: Training: the compiled step, the training loop, evaluation, checkpoints, model strings, device selection
        .target(
            name: "KilnTraining",
            dependencies: ["KilnCore", "KilnFiles", "KilnReference", "KilnOpenCL", "KilnNN", "KilnData"],
            path: "Sources/KilnTraining"
        ),

        // MARK: Umbrella for embedders (re-exports the library modules, holds nothing of its own)
        .target(
            name: "Kiln",
            dependencies: ["KilnCore", "KilnFiles", "KilnReference", "KilnOpenCL", "KilnNN", "KilnData", "KilnTraining"],
            path: "Sources/Kiln"
        ),

        // MARK: Examples: the course's demos, the GAN, the character LSTM, charts and feature pictures
        .target(name: "KilnExamples", dependencies: ["Kiln"], path: "Sources/KilnExamples"),

        // MARK: Checking: the catalog of op cases (shapes, seeded inputs, tolerances with their reasons) that the kernel
        // tests, the bench and `kiln check` run against the reference backend in Double
        .target(name: "KilnCheck", dependencies: ["KilnCore", "KilnReference"], path: "Sources/KilnCheck"),

        // MARK: Interchange: ONNX import and export (onnx.proto's Swift code is generated and committed)
        .target(
            name: "KilnONNX",
            dependencies: ["KilnCore", "KilnFiles", "KilnNN", "KilnData", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Sources/KilnONNX"
        ),

        // MARK: The C API for embedders in other languages (a dynamic library and kiln.h)
        .target(name: "KilnC", dependencies: ["Kiln", "KilnONNX"], path: "Sources/KilnC", exclude: ["include"]),

        // MARK: Distributed: data-parallel training over MPI (libmpi loaded at run time, only under mpirun)
        .target(name: "CKilnMPI", path: "Sources/CKilnMPI", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "KilnDistributed", dependencies: ["Kiln", "CKilnMPI"], path: "Sources/KilnDistributed"),

        // MARK: Benchmarks: the workloads `kiln bench` runs (the catalog's benchmark cases and whole training steps) and its
        // scaling charts
        .target(
            name: "KilnBenchmarks", dependencies: ["Kiln", "KilnCheck", "KilnExamples"], path: "Benchmarks",
            exclude: ["compare-peers.sh", "mpi-scaling.sh", "scaling.sh", "time-to-accuracy.sh", "cold-start.sh", "peers"]),

        // MARK: Command line
        .executableTarget(
            name: "kiln",
            dependencies: [
                "Kiln", "KilnExamples", "KilnCheck", "KilnONNX", "KilnDistributed", "KilnBenchmarks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/kiln"
        ),

        // MARK: Build tooling: embeds Kernels/*.cl into the KilnOpenCL binary
        .executableTarget(name: "KernelEmbedder", path: "Sources/KernelEmbedder"),
        .plugin(name: "EmbedKernels", capability: .buildTool(), dependencies: ["KernelEmbedder"], path: "Plugins/EmbedKernels"),

        // MARK: Tests
        .target(name: "KilnTestSupport", dependencies: ["Kiln", "KilnCheck"], path: "Tests/KilnTestSupport"),
        .testTarget(name: "KilnCheckTests", dependencies: ["Kiln", "KilnCheck", "KilnTestSupport"], path: "Tests/KilnCheckTests"),
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
        .testTarget(name: "KilnDataTests", dependencies: ["KilnData", "CPNG", "CTurboJPEG", "CZlib"], path: "Tests/KilnDataTests"),
        .testTarget(name: "KilnFilesTests", dependencies: ["KilnFiles"], path: "Tests/KilnFilesTests"),
        .testTarget(
            name: "KilnTests", dependencies: ["Kiln", "KilnExamples", "KilnBenchmarks", "KilnTestSupport"], path: "Tests/KilnTests"),
        .testTarget(name: "KilnCLITests", dependencies: ["kiln", "Kiln", "KilnTestSupport"], path: "Tests/KilnCLITests"),
        .testTarget(
            name: "KilnONNXTests", dependencies: ["Kiln", "KilnONNX", "KilnTestSupport"], path: "Tests/KilnONNXTests", exclude: ["Data"]),
        .testTarget(name: "KilnCTests", dependencies: ["Kiln", "KilnC"], path: "Tests/KilnCTests", exclude: ["Programs"]),
        .testTarget(name: "KilnDistributedTests", dependencies: ["KilnDistributed"], path: "Tests/KilnDistributedTests"),
    ],
    swiftLanguageModes: [.v5]
)
