// Arbitrary SGEMM shapes as bench workloads (`kiln bench --gemm MxNxK`), for the scaling charts: the catalog's
// sgemm case at that shape, checked against the reference like the fixed ones.
import Kiln
import KilnCheck

extension Workload {
    /// The SGEMM workload of `text`: `N` for N×N×N or `MxNxK` for `C[M,N] = A[M,K]·B[K,N]`, each size in
    /// 1...65536 (so that the inputs stay addressable). Throws `BenchError.gemmShape` naming the text otherwise.
    public static func gemm(_ text: String) throws -> Workload {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        let all = parts.compactMap { Int($0) }.filter { (1...65536).contains($0) }
        guard all.count == parts.count, all.count == 1 || all.count == 3 else { throw BenchError.gemmShape(text) }
        let (m, n, k) = all.count == 1 ? (all[0], all[0], all[0]) : (all[0], all[1], all[2])
        return Workload(case: OpCatalog.sgemm(m, n, k))
    }
}
