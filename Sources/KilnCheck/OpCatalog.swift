// OpCatalog: every case, assembled from the family files (Catalog+Family.swift) with unique ids, and the
// selections the kernel tests, the bench and `kiln check` take from it.
import KilnCore

/// The catalog of op cases: each family's cases in its file's order, then its workloads of the bench.
public enum OpCatalog {
    /// Every family's cases. Ids: the name and a number within the family and name (`matmul 12`), or a benchmark's name.
    public static let byFamily: [(family: OpFamily, cases: [OpCase])] = OpFamily.allCases.map { family in
        var counts: [String: Int] = [:]
        let listed = cases(declaredIn: family).map { opCase in
            counts[opCase.name, default: 0] += 1
            return opCase.listed(as: "\(opCase.name) \(counts[opCase.name, default: 0])")
        }
        return (family, listed + benchmarks(in: family))
    }

    /// Every case, family by family.
    public static let all: [OpCase] = byFamily.flatMap(\.cases)

    /// The cases of `family`, its workloads of the bench included.
    public static func cases(in family: OpFamily) -> [OpCase] {
        byFamily.first { $0.family == family }?.cases ?? []
    }

    /// The cases up to `tier` (`.quick`; `.standard`, the quick ones included; or `.benchmark`: everything), only
    /// those reported under one of `names` or with one of them as their id when given.
    public static func cases(upTo tier: OpCase.Tier, named names: Set<String>? = nil) -> [OpCase] {
        all.filter { opCase in
            opCase.tier <= tier && (names.map { $0.contains(opCase.name) || $0.contains(opCase.id) } ?? true)
        }
    }

    /// The names cases are reported under, in catalog order.
    public static var names: [String] {
        var seen = Set<String>()
        return all.map(\.name).filter { seen.insert($0).inserted }
    }

    /// The bench's workloads at the peers' shapes, in the order the bench runs them.
    public static var benchmarkCases: [OpCase] { all.filter { $0.tier == .benchmark } }

    /// The case with `id`, or nil.
    public static func named(_ id: String) -> OpCase? { all.first { $0.id == id } }

    private static func cases(declaredIn family: OpFamily) -> [OpCase] {
        switch family {
        case .elementwise: elementwise
        case .movement: movement
        case .reduction: reduction
        case .products: products
        case .convolution: convolution
        case .pooling: pooling
        case .recurrent: recurrent
        case .loss: loss
        case .update: update
        case .normalization: normalization
        }
    }
}
