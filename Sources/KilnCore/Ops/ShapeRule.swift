// ShapeRule: the helpers a shape rule uses to check its inputs and throw errors that name the op and the shapes.

/// The input shapes of one op application, and checks that throw a `ShapeError` naming the op and the shapes.
struct ShapeRule {
    let op: String
    let shapes: [Shape]

    func error(_ reason: String) -> ShapeError { ShapeError(op: op, reason, shapes: shapes) }

    func require(_ condition: Bool, _ reason: @autoclosure () -> String) throws(ShapeError) {
        if !condition { throw error(reason()) }
    }

    func arity(_ count: Int) throws(ShapeError) {
        try require(shapes.count == count, "takes \(count) inputs, got \(shapes.count)")
    }

    /// Runs another op's shape rule, reporting its errors under this op's name and shapes.
    func renamed<T>(_ body: () throws(ShapeError) -> T) throws(ShapeError) -> T {
        do { return try body() } catch { throw self.error(error.reason) }
    }

    func axis(_ axis: Int, rank: Int) throws(ShapeError) {
        try require(axis >= 0 && axis < rank, "axis \(axis) is out of range for rank \(rank)")
    }
}
