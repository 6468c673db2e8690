// PoolingKernelTests: pool2d.cl's kernels that the automatic choice does not pick on a geometry, on the catalog's
// pooling cases: the gather backward (`pool2d_backward_max`) where windows cannot overlap, and the general row
// kernels where the fixed 2×2 ones serve. The geometries themselves are catalog cases (Catalog+Pooling.swift) that
// CatalogKernelTests runs on every device.
import Kiln
import KilnTestSupport
import XCTest

@testable import KilnOpenCL

final class PoolingKernelTests: XCTestCase {
    private var maxPoolingCases: [OpCase] {
        OpCatalog.cases(in: .pooling).filter { opCase in
            guard opCase.tier <= TestDevices.tier, case .op(let op) = opCase.computation else { return false }
            switch op {
            case .maxPool2d, .maxPool2dBackward: return true
            default: return false
            }
        }
    }

    /// Every max-pooling backward case through the gather kernel, which serves overlapping and disjoint windows alike.
    func testGatherBackwardOnEveryGeometry() throws {
        let variants = try TestDevices.requireOpenCL().map { backend in
            KernelVariant(backend, variant: "the gather max-pool backward") { op, x, out, _ in
                guard case .maxPool2dBackward(let attributes) = op else { return false }
                try backend.maxPool2dBackward(attributes, x: x[0], dy: x[1], out, allowDisjoint: false)
                return true
            }
        }
        TestDevices.check(maxPoolingCases, on: variants)
    }

    /// Every max-pooling case through the general row kernels, in place of the fixed 2×2 ones where those serve.
    func testRowKernelsInPlaceOfTheFixedOnes() throws {
        XCTAssertTrue(OpenCLBackend.isPlain2x2(Pooling2D(kernel: [2, 2])))
        XCTAssertFalse(OpenCLBackend.isPlain2x2(Pooling2D(kernel: [2, 2], padding: [1, 1, 1, 1])))
        // A ceil-mode window over an odd size reaches past the input, which the fixed kernels would read.
        XCTAssertFalse(OpenCLBackend.isPlain2x2(Pooling2D(kernel: [2, 2], ceilMode: true)))
        let variants = try TestDevices.requireOpenCL().map { backend in
            KernelVariant(backend, variant: "the general max-pool row kernels") { op, x, out, shape in
                switch op {
                case .maxPool2d(let attributes): try backend.pool2d(attributes, maximum: true, x: x[0], out, shape, allowFixed: false)
                case .maxPool2dBackward(let attributes):
                    try backend.maxPool2dBackward(attributes, x: x[0], dy: x[1], out, allowDisjoint: true, allowFixed: false)
                default: return false
                }
                return true
            }
        }
        TestDevices.check(maxPoolingCases, on: variants)
    }
}
