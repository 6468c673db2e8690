// reduce.cl: reductions along one (merged) axis, and softmax / log-softmax along an axis.
//
// Layout: x is float32, contiguous, seen as [O, R, I]: O = product of the axes before the reduced ones,
// R = product of the reduced axes (adjacent), I = product of the axes after them. The host
// (OpenCLBackend+Reduce.swift) transposes x first with movement.cl when the reduced axes are not
// adjacent, so every axis set arrives here in this form.
//
// reduce_forward: x [O, R, I] -> out [O, P, I], P = parts. Part p reduces r in [p*chunk, min(R, (p+1)*chunk)):
//     out[o, p, i] = (sum over r of x[o, r, i]) / divisor    (maximum = 0)
//     out[o, p, i] = max over r of x[o, r, i]                (maximum = 1; Swift.max order: v >= m ? v : m)
//   With P = 1 that is the result. When O * I is too small to fill the device and R is long, the host
//   runs it twice: P parts of `chunk` elements into a scratch [O, P, I], then P -> 1 (mean divides
//   only in the second pass).
//   Precision: sums are Kahan-compensated in float, so the error is about 2 eps * sum |x| whatever
//   the order or R (eps = 2^-24), better than the sqrt(R) eps growth Tolerance.accumulation allows.
//   Once the running sum is infinite the compensation is dropped, so infinities propagate as in the
//   reference (inf + -inf = NaN).
// softmax_forward: x [O, S, I] -> out [O, S, I], one work item per (o, i) row of S elements:
//     m = max_s x, e_s = exp(x_s - m), out = e_s / sum_s e_s, or (x_s - m) - log(sum_s e_s) when
//     logarithm != 0. The sum is 1 + rest, rest = the other terms (Kahan-compensated, all in [0, 1]),
//     and log(sum) = log1p(rest): log-softmax of a dominant class (about -rest) keeps its relative
//     precision instead of rounding to a multiple of eps.
// Reference: Sources/KilnReference/Reference+Reduce.swift (reduce, softmax).
// Tests: Tests/KilnOpenCLTests/ReduceKernelTests.swift.
// Tunables: none. Launches are rounded up past the work-item count: every kernel bounds-checks.

/// One step of Kahan summation; the compensation is reset once the sum is no longer finite.
#define KAHAN_ADD(sum, compensation, value)                                   \
    do {                                                                      \
        const float kahanY = (value) - (compensation);                        \
        const float kahanT = (sum) + kahanY;                                  \
        (compensation) = isfinite(kahanT) ? (kahanT - (sum)) - kahanY : 0.0f; \
        (sum) = kahanT;                                                       \
    } while (0)

__kernel void reduce_forward(
    __global const float *x, __global float *out, const int n, const int reduced, const int inner, const int parts,
    const int chunk, const int maximum, const float divisor) {
    const int id = (int)get_global_id(0);
    if (id >= n) {
        return;
    }
    // id enumerates out [O, P, I].
    const int i = id % inner;
    const int p = (id / inner) % parts;
    const int o = id / (inner * parts);
    const int start = p * chunk;
    const int end = min(reduced, start + chunk);
    __global const float *row = x + o * reduced * inner + i;
    if (maximum) {
        float m = -INFINITY;
        for (int r = start; r < end; ++r) {
            const float v = row[r * inner];
            m = v >= m ? v : m;
        }
        out[id] = m;
    } else {
        float sum = 0.0f;
        float compensation = 0.0f;
        for (int r = start; r < end; ++r) {
            KAHAN_ADD(sum, compensation, row[r * inner]);
        }
        out[id] = sum / divisor;
    }
}

__kernel void softmax_forward(
    __global const float *x, __global float *out, const int n, const int size, const int inner, const int logarithm) {
    const int id = (int)get_global_id(0);
    if (id >= n) {
        return;
    }
    // id enumerates the rows (o, i); element s of the row is at (o * size + s) * inner + i.
    const int i = id % inner;
    const int o = id / inner;
    const int base = o * size * inner + i;
    float m = -INFINITY;
    int largest = 0;
    for (int s = 0; s < size; ++s) {
        const float v = x[base + s * inner];
        if (v >= m) {
            m = v;
            largest = s;
        }
    }
    // The sum of exponentials is 1 (the maximum's own term) + rest; keeping rest apart lets log1p
    // resolve log(1 + rest) when one class dominates and rest is below float's epsilon.
    float rest = 0.0f;
    float compensation = 0.0f;
    for (int s = 0; s < size; ++s) {
        if (s != largest) {
            KAHAN_ADD(rest, compensation, exp(x[base + s * inner] - m));
        }
    }
    if (logarithm) {
        const float logSum = log1p(rest);
        for (int s = 0; s < size; ++s) {
            out[base + s * inner] = (x[base + s * inner] - m) - logSum;
        }
    } else {
        const float sum = 1.0f + rest;
        for (int s = 0; s < size; ++s) {
            out[base + s * inner] = exp(x[base + s * inner] - m) / sum;
        }
    }
}
