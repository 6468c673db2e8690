// PreludeKernelTests: Kernels/common.cl and the function codes generated from the Swift enums: the index helpers and
// window walks against Swift loops, every kernel file building on its own with its defaults, the code table, and the
// fused epilogues computing what the elementwise kernel computes for every unary function.
import Kiln
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

final class PreludeKernelTests: XCTestCase {
    /// Test kernels over common.cl's helpers, one work item each.
    static let helperKernels = """
        __kernel void divide(__global const int *x, __global const int *d, __global int *out, const int n) {
            const int i = (int)get_global_id(0);
            if (i < n) {
                int remainder;
                out[2 * i] = kiln_divide(x[i], d[i], &remainder);
                out[2 * i + 1] = remainder;
            }
        }
        // (position, tap) of every tap KILN_FOR_TAPS visits, in order, then -1.
        __kernel void taps(__global int *out, const int start, const int step, const int taps, const int limit) {
            int count = 0;
            KILN_FOR_TAPS(position, k, start, step, taps, limit) {
                out[2 * count] = position;
                out[2 * count + 1] = k;
                ++count;
            }
            out[2 * count] = -1;
        }
        // (window, tap) of every pair KILN_FOR_WINDOWS visits, in order, then -1.
        __kernel void windows(__global int *out, const int i, const int pad, const int dilation, const int taps,
                              const int stride, const int outputs) {
            int count = 0;
            KILN_FOR_WINDOWS(o, k, i, pad, dilation, taps, stride, outputs) {
                out[2 * count] = o;
                out[2 * count + 1] = k;
                ++count;
            }
            out[2 * count] = -1;
        }
        """

    private func helperProgram(_ backend: OpenCLBackend) throws -> OpenCLProgram {
        let source = KernelCodes.header + (try KernelSource.program(of: "common.cl")) + "\n" + Self.helperKernels
        return try OpenCLProgram(context: backend.context, file: "prelude-tests", source: source, options: "-cl-std=CL1.2")
    }

    private func ints(_ backend: OpenCLBackend, _ values: [Int32]) throws -> OpenCLBuffer {
        let buffer = try OpenCLBuffer(context: backend.context, byteCount: values.count * 4)
        try values.withUnsafeBytes { try buffer.write(from: $0) }
        return buffer
    }

    private func read(_ buffer: OpenCLBuffer, count: Int) throws -> [Int32] {
        var values = [Int32](repeating: 0, count: count)
        try values.withUnsafeMutableBytes { try buffer.read(into: $0) }
        return values
    }

    /// kiln_divide gives C's truncating quotient and remainder, negative numerators included.
    func testDivideMatchesSwift() throws {
        for backend in try TestDevices.requireOpenCL() { try checkDivide(backend) }
    }

    private func checkDivide(_ backend: OpenCLBackend) throws {
        let kernel = try helperProgram(backend).kernel("divide")
        let pairs: [(Int32, Int32)] = [
            (0, 1), (1, 1), (17, 5), (20, 5), (-17, 5), (-1, 3), (7, 7), (6, 7), (2_147_483_647, 3), (1_000_003, 1024), (13, 1),
        ]
        let x = try ints(backend, pairs.map(\.0))
        let d = try ints(backend, pairs.map(\.1))
        let out = try ints(backend, [Int32](repeating: -99, count: 2 * pairs.count))
        try kernel.setArgument(0, x)
        try kernel.setArgument(1, d)
        try kernel.setArgument(2, out)
        try kernel.setArgument(3, int32: Int32(pairs.count))
        try kernel.enqueue(global: [pairs.count], local: nil)
        let result = try read(out, count: 2 * pairs.count)
        for (index, (numerator, denominator)) in pairs.enumerated() {
            XCTAssertEqual(result[2 * index], numerator / denominator, "\(backend.name): \(numerator) / \(denominator)")
            XCTAssertEqual(result[2 * index + 1], numerator % denominator, "\(backend.name): \(numerator) % \(denominator)")
        }
    }

    /// KILN_FOR_TAPS visits the taps inside 0..<limit in order, with their tap index (padding, dilation, a window
    /// wholly outside, one tap).
    func testTapWalkMatchesSwift() throws {
        for backend in try TestDevices.requireOpenCL() { try checkTapWalk(backend) }
    }

    private func checkTapWalk(_ backend: OpenCLBackend) throws {
        let kernel = try helperProgram(backend).kernel("taps")
        let cases: [(start: Int, step: Int, taps: Int, limit: Int)] = [
            (0, 1, 3, 5), (-1, 1, 3, 5), (-2, 2, 3, 4), (3, 1, 3, 5), (7, 1, 2, 5), (-5, 1, 2, 5), (0, 3, 4, 7), (2, 1, 1, 3),
        ]
        for (start, step, taps, limit) in cases {
            let out = try ints(backend, [Int32](repeating: -99, count: 2 * taps + 1))
            try kernel.setArgument(0, out)
            for (index, value) in [start, step, taps, limit].enumerated() { try kernel.setArgument(index + 1, int32: Int32(value)) }
            try kernel.enqueue(global: [1], local: nil)
            let expected = (0..<taps).compactMap { k -> [Int32]? in
                let position = start + k * step
                return (0..<limit).contains(position) ? [Int32(position), Int32(k)] : nil
            }.flatMap { $0 }
            let result = try read(out, count: 2 * taps + 1)
            XCTAssertEqual(
                Array(result.prefix(expected.count + 1)), expected + [-1],
                "\(backend.name): start \(start) step \(step) taps \(taps) limit \(limit)")
        }
    }

    /// KILN_FOR_WINDOWS visits exactly the (window, tap) pairs with window * stride - pad + tap * dilation == i,
    /// in tap order, over strides, padding, dilation and positions at both edges.
    func testWindowWalkMatchesSwift() throws {
        for backend in try TestDevices.requireOpenCL() { try checkWindowWalk(backend) }
    }

    private func checkWindowWalk(_ backend: OpenCLBackend) throws {
        let kernel = try helperProgram(backend).kernel("windows")
        var generator = SeededGenerator(seed: 0x11)
        for _ in 0..<60 {
            let (taps, stride, dilation) = (
                Int.random(in: 1...4, using: &generator), Int.random(in: 1...3, using: &generator), Int.random(in: 1...2, using: &generator)
            )
            let pad = Int.random(in: 0...taps, using: &generator)
            let outputs = Int.random(in: 1...6, using: &generator)
            let i = Int.random(in: 0...(outputs * stride + taps), using: &generator)
            let out = try ints(backend, [Int32](repeating: -99, count: 2 * taps + 1))
            try kernel.setArgument(0, out)
            for (index, value) in [i, pad, dilation, taps, stride, outputs].enumerated() {
                try kernel.setArgument(index + 1, int32: Int32(value))
            }
            try kernel.enqueue(global: [1], local: nil)
            let expected = (0..<taps).flatMap { k in
                (0..<outputs).filter { $0 * stride - pad + k * dilation == i }.flatMap { [Int32($0), Int32(k)] }
            }
            let result = try read(out, count: 2 * taps + 1)
            XCTAssertEqual(
                Array(result.prefix(expected.count + 1)), expected + [-1],
                "\(backend.name): i \(i) pad \(pad) dilation \(dilation) taps \(taps) stride \(stride) outputs \(outputs)")
        }
    }

    /// Every kernel file builds on its own, with no defines: each `-D` it reads has a default (conv2d_narrow.cl had
    /// none and stopped at its #error).
    func testEveryKernelFileBuildsWithItsDefaults() throws {
        for backend in try TestDevices.requireOpenCL() {
            for file in KernelSource.fileNames {
                let source = KernelCodes.header + (try KernelSource.program(of: file))
                XCTAssertNoThrow(
                    try OpenCLProgram(context: backend.context, file: file, source: source, options: "-cl-std=CL1.2"),
                    "\(backend.name): \(file)")
            }
        }
    }

    /// The code tables: each function's code is its position, names are distinct, and the header defines them all.
    func testCodesAreOneTable() {
        XCTAssertEqual(UnaryFunction.kernelCases.map(\.kernelCode), Array(0..<UnaryFunction.kernelCases.count))
        XCTAssertEqual(BinaryFunction.kernelCases.map(\.kernelCode), Array(0..<BinaryFunction.kernelCases.count))
        XCTAssertEqual(Set(UnaryFunction.kernelCases.map(\.kernelIdentity.name)).count, UnaryFunction.kernelCases.count)
        XCTAssertEqual(Set(BinaryFunction.kernelCases.map(\.kernelIdentity.name)).count, BinaryFunction.kernelCases.count)
        for function in UnaryFunction.kernelCases {
            XCTAssertTrue(KernelCodes.header.contains("#define KILN_UNARY_\(function.kernelIdentity.name) \(function.kernelCode)\n"))
        }
        for function in BinaryFunction.kernelCases {
            XCTAssertTrue(KernelCodes.header.contains("#define KILN_BINARY_\(function.kernelIdentity.name) \(function.kernelCode)\n"))
        }
        XCTAssertNotEqual(KernelCodes.noActivation, UnaryFunction.relu.kernelCode)
        XCTAssertFalse(UnaryFunction.kernelCases.map(\.kernelCode).contains(KernelCodes.noActivation))
    }

    /// Every unary function fused into the GEMM's epilogue and into both convolution epilogues (the narrow kernel's
    /// build-time activation and the GEMM path's) gives what the elementwise kernel gives after the plain op.
    /// Tolerance: 1e-6 relative + 1e-7 absolute, for the elementwise kernel's vector math functions against the
    /// epilogues' scalar ones (each within a few ulp of the exact value); NaN (log, sqrt of negatives) must match NaN.
    func testEpiloguesApplyEveryUnaryFunctionAsTheElementwiseKernel() throws {
        for backend in try TestDevices.requireOpenCL() { try checkEpilogues(backend) }
    }

    private func checkEpilogues(_ backend: OpenCLBackend) throws {
        var generator = SeededGenerator(seed: 0x12)
        func operand(_ shape: Shape) throws -> OpenCLOperand {
            let storage = try XCTUnwrap(try backend.allocate(count: shape.count) as? OpenCLStorage)
            try backend.write(generator.values(shape.count, in: -3...3), to: storage)
            return OpenCLOperand(buffer: storage.buffer, shape: shape)
        }
        func output(_ shape: Shape) throws -> OpenCLBuffer {
            try XCTUnwrap(try backend.allocate(count: shape.count) as? OpenCLStorage).buffer
        }
        func floats(_ buffer: OpenCLBuffer, _ count: Int) throws -> [Float] {
            var values = [Float](repeating: 0, count: count)
            try values.withUnsafeMutableBytes { try buffer.read(into: $0) }
            return values
        }
        let functions = UnaryFunction.kernelCases.map { $0 == .leakyRelu(slope: 0) ? .leakyRelu(slope: 0.2) : $0 }
        // linear [7, 5] . [5, 19] + bias (a full and a partial column block); narrow conv2d [2, 1, 9, 11] with a 3x3
        // kernel; GEMM-path conv2d [2, 4, 6, 6] with a 3x3 kernel (36 taps per output).
        let (a, b, columnBias) = (try operand([7, 5]), try operand([5, 19]), try operand([19]))
        let narrow = (x: try operand([2, 1, 9, 11]), w: try operand([3, 1, 3, 3]), bias: try operand([3]), out: [2, 3, 9, 11] as Shape)
        let wide = (x: try operand([2, 4, 6, 6]), w: try operand([5, 4, 3, 3]), bias: try operand([5]), out: [2, 5, 6, 6] as Shape)
        let convolution = Convolution2D(padding: [1, 1, 1, 1])
        for function in functions {
            var pairs: [(fused: [Float], plain: [Float], what: String)] = []
            let linearFused = try output([7, 19])
            let linearPlain = try output([7, 19])
            try backend.matmul(
                transposeA: false, transposeB: false, a, b, linearFused, [7, 19], tunables: [:], bias: .columns(columnBias.buffer),
                activation: function)
            try backend.matmul(
                transposeA: false, transposeB: false, a, b, linearPlain, [7, 19], tunables: [:], bias: .columns(columnBias.buffer))
            try backend.unary(function, OpenCLOperand(buffer: linearPlain, shape: [7, 19]), linearPlain)
            pairs.append((try floats(linearFused, 133), try floats(linearPlain, 133), "linear"))
            for (name, geometry) in [("narrow conv2d", narrow), ("GEMM-path conv2d", wide)] {
                let fused = try output(geometry.out)
                let plain = try output(geometry.out)
                try backend.conv2d(
                    convolution, x: geometry.x, w: geometry.w, bias: geometry.bias, fused, geometry.out, path: .automatic,
                    activation: function)
                try backend.conv2d(convolution, x: geometry.x, w: geometry.w, bias: geometry.bias, plain, geometry.out, path: .automatic)
                try backend.unary(function, OpenCLOperand(buffer: plain, shape: geometry.out), plain)
                pairs.append((try floats(fused, geometry.out.count), try floats(plain, geometry.out.count), name))
            }
            for (fused, plain, what) in pairs {
                for (index, (value, expected)) in zip(fused, plain).enumerated() {
                    if expected.isNaN {
                        XCTAssertTrue(value.isNaN, "\(backend.name): \(what) \(function) element \(index): \(value), expected NaN")
                    } else {
                        XCTAssertLessThanOrEqual(
                            abs(value - expected), 1e-7 + 1e-6 * abs(expected),
                            "\(backend.name): \(what) \(function) element \(index): \(value) vs \(expected)")
                    }
                }
            }
        }
    }
}
