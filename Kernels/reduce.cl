// reduce.cl: reductions along one (merged) axis, and softmax / log-softmax along an axis.
//
// Layout: x is float32, contiguous, seen as [O, R, I]: O = product of the axes before the reduced ones,
// R = product of the reduced axes (adjacent), I = product of the axes after them. The host
// (OpenCLBackend+Reduce.swift) merges adjacent axes of the same kind and reduces one run of reduced
// axes per pass, the last run first, into scratch memory: [N, C, H, W] over [0, 2, 3] is [N*C, H*W]
// reduced along its rows (reduce_rows), then [N, C] over N (reduce_forward, I = C). No transposes.
//
// reduce_forward: x [O, R, I] -> out [O, P, I], P = parts. Part p reduces r in [p*chunk, min(R, (p+1)*chunk)):
//     out[o, p, i] = (sum over r of x[o, r, i]) / divisor    (maximum = 0)
//     out[o, p, i] = max over r of x[o, r, i]                (maximum = 1; Swift.max order: v >= m ? v : m)
//   With P = 1 that is the result. When O * I is too small to fill the device and R is long, the host
//   runs it twice: P parts of `chunk` elements into a scratch [O, P, I], then P -> 1 (mean divides
//   only in the second pass). One work item per (o, p) and block of REDUCE_WIDTH adjacent columns i, read
//   as one vector per row (a bias gradient's sum over the batch, [64, 256] over rows, took 90 us with a
//   work item per column, its one compensated chain bound by the adds' latency, and now takes a few).
//   Precision: sums are Kahan-compensated in float, so the error is about 2 eps * sum |x| whatever
//   the order or R (eps = 2^-24), better than the sqrt(R) eps growth Tolerance.accumulation allows.
//   Once the running sum is infinite the compensation is dropped, so infinities propagate as in the
//   reference (inf + -inf = NaN).
// reduce_rows: reduce_forward for I = 1 (the reduced run is the last one, so each output sums a
//   contiguous row): x [O, R] -> out [O, P], one work item per (o, p), reading REDUCE_WIDTH floats per
//   step with vector loads and one Kahan (or max) accumulator per lane; the lanes are combined at the
//   end (the sum, then the lanes' compensations), so the error bound above still holds. pocl runs work
//   items as loops, and a work item per output of a gather across rows cannot use vector loads.
// softmax_forward: x [O, S, I] -> out [O, S, I], one work item per (o, i) row of S elements:
//     m = max_s x, e_s = exp(x_s - m), out = e_s / sum_s e_s, or (x_s - m) - log(sum_s e_s) when
//     logarithm != 0. The sum is 1 + rest, rest = the other terms (Kahan-compensated, all in [0, 1]),
//     and log(sum) = log1p(rest): log-softmax of a dominant class (about -rest) keeps its relative
//     precision instead of rounding to a multiple of eps.
// Reference: Sources/KilnCore/Ops/Reduce.swift (Reduce) and Softmax.swift.
// Tests: Tests/KilnOpenCLTests/ReduceKernelTests.swift.
// Tunables: REDUCE_WIDTH, the vector width of reduce_rows and reduce_forward: 4, 8 or 16 (default 8). Launches are rounded up
// past the work-item count: every kernel bounds-checks.

#include "common.cl"

#ifndef REDUCE_WIDTH
#define REDUCE_WIDTH 8
#endif
#if REDUCE_WIDTH != 4 && REDUCE_WIDTH != 8 && REDUCE_WIDTH != 16
#error "REDUCE_WIDTH must be 4, 8 or 16"
#endif
#define reduce_vector KILN_JOIN(float, REDUCE_WIDTH)
#define reduce_vload KILN_JOIN(vload, REDUCE_WIDTH)

/// KAHAN_ADD on every lane of a reduce_vector.
#define KAHAN_ADD_VECTOR(sum, compensation, value) KILN_KAHAN_ADD_VECTOR(reduce_vector, sum, compensation, value)

/// `sum` and `compensation` (of type T) from the compensated vector sum `wideSum`, `wideCompensation` of twice T's
/// width: its `LOW` lanes plus its `HIGH` lanes (swizzles such as s0123 and s4567).
#define REDUCE_HALVE(T, sum, compensation, wideSum, wideCompensation, LOW, HIGH)                        \
    T sum = (wideSum).LOW, compensation = (wideCompensation).LOW;                                        \
    KILN_KAHAN_ADD_VECTOR(T, sum, compensation, (wideSum).HIGH);                                         \
    KILN_KAHAN_ADD_VECTOR(T, sum, compensation, -(wideCompensation).HIGH);

__kernel void reduce_rows(
    __global const float *x, __global float *out, const int n, const int reduced, const int parts, const int chunk,
    const int maximum, const float divisor) {
    const int id = (int)get_global_id(0);
    if (id >= n) {
        return;
    }
    // id enumerates out [O, P].
    int p;
    const int o = kiln_divide(id, parts, &p);
    const int start = p * chunk;
    const int end = min(reduced, start + chunk);
    const int vectorEnd = start + (end - start) / REDUCE_WIDTH * REDUCE_WIDTH;
    __global const float *row = x + (size_t)o * reduced;
    if (maximum) {
        reduce_vector lanes = (reduce_vector)(-INFINITY);
        for (int r = start; r < vectorEnd; r += REDUCE_WIDTH) {
            const reduce_vector v = reduce_vload(0, row + r);
            lanes = select(lanes, v, v >= lanes);
        }
        float m = -INFINITY;
        #pragma unroll
        for (int lane = 0; lane < REDUCE_WIDTH; ++lane) {
            const float v = lanes[lane];
            m = v >= m ? v : m;
        }
        for (int r = vectorEnd; r < end; ++r) {
            const float v = row[r];
            m = v >= m ? v : m;
        }
        out[id] = m;
    } else {
        // Four independent compensated chains over consecutive vectors, in named variables (pocl keeps
        // private arrays in memory): one chain's dependent adds bound the loop by their latency, measured
        // 0.50 ms with one chain vs 0.12-0.14 ms with four for 2048 rows of 784 on pocl.
        reduce_vector sum0 = 0.0f, sum1 = 0.0f, sum2 = 0.0f, sum3 = 0.0f;
        reduce_vector compensation0 = 0.0f, compensation1 = 0.0f, compensation2 = 0.0f, compensation3 = 0.0f;
        const int chainEnd = start + (vectorEnd - start) / (4 * REDUCE_WIDTH) * (4 * REDUCE_WIDTH);
        int r = start;
        for (; r < chainEnd; r += 4 * REDUCE_WIDTH) {
            KAHAN_ADD_VECTOR(sum0, compensation0, reduce_vload(0, row + r));
            KAHAN_ADD_VECTOR(sum1, compensation1, reduce_vload(0, row + r + REDUCE_WIDTH));
            KAHAN_ADD_VECTOR(sum2, compensation2, reduce_vload(0, row + r + 2 * REDUCE_WIDTH));
            KAHAN_ADD_VECTOR(sum3, compensation3, reduce_vload(0, row + r + 3 * REDUCE_WIDTH));
        }
        for (; r < vectorEnd; r += REDUCE_WIDTH) {
            KAHAN_ADD_VECTOR(sum0, compensation0, reduce_vload(0, row + r));
        }
        // The chains join as vectors, then the lanes pairwise, halving the vector down to four lanes: a serial scalar
        // chain over all 4 x 2 x REDUCE_WIDTH values cost more than the row itself (0.42 ms above), and one over the
        // 2 x REDUCE_WIDTH lanes still cost about half of a 196-float row (a convolution's bias gradient).
        KAHAN_ADD_VECTOR(sum0, compensation0, sum1);
        KAHAN_ADD_VECTOR(sum0, compensation0, sum2);
        KAHAN_ADD_VECTOR(sum0, compensation0, sum3);
        KAHAN_ADD_VECTOR(sum0, compensation0, -(compensation1 + compensation2 + compensation3));
#if REDUCE_WIDTH == 16
        REDUCE_HALVE(float8, eightSum, eightCompensation, sum0, compensation0, s01234567, s89abcdef)
#elif REDUCE_WIDTH == 8
        const float8 eightSum = sum0, eightCompensation = compensation0;
#endif
#if REDUCE_WIDTH >= 8
        REDUCE_HALVE(float4, fourSum, fourCompensation, eightSum, eightCompensation, s0123, s4567)
#else
        const float4 fourSum = sum0, fourCompensation = compensation0;
#endif
        // Then the four lanes and their compensations as scalars: halving further, into two lanes, crashed Oclgrind
        // 21.10 (in float2, and in float4 with two lanes set).
        float sum = 0.0f, compensation = 0.0f;
        KAHAN_ADD(sum, compensation, fourSum.x);
        KAHAN_ADD(sum, compensation, fourSum.y);
        KAHAN_ADD(sum, compensation, fourSum.z);
        KAHAN_ADD(sum, compensation, fourSum.w);
        KAHAN_ADD(sum, compensation, -fourCompensation.x);
        KAHAN_ADD(sum, compensation, -fourCompensation.y);
        KAHAN_ADD(sum, compensation, -fourCompensation.z);
        KAHAN_ADD(sum, compensation, -fourCompensation.w);
        for (int r = vectorEnd; r < end; ++r) {
            KAHAN_ADD(sum, compensation, row[r]);
        }
        out[id] = sum / divisor;
    }
}

/// reduce_vector's lanes from `row[0 ..< lanes]` (all REDUCE_WIDTH of them with one vector load when lanes is the
/// width), the lanes past `lanes` set to `fill`.
inline reduce_vector kiln_reduce_lanes(__global const float *row, const int lanes, const float fill) {
    if (lanes == REDUCE_WIDTH) {
        return reduce_vload(0, row);
    }
    reduce_vector v = (reduce_vector)(fill);
    #pragma unroll
    for (int lane = 0; lane < REDUCE_WIDTH; ++lane) {
        if (lane < lanes) {
            v[lane] = row[lane];
        }
    }
    return v;
}

__kernel void reduce_forward(
    __global const float *x, __global float *out, const int n, const int reduced, const int inner, const int parts,
    const int chunk, const int maximum, const float divisor) {
    const int id = (int)get_global_id(0);
    if (id >= n) {
        return;
    }
    // id enumerates [O, P, blocks] with blocks of REDUCE_WIDTH adjacent columns; the last block may be partial.
    const int blocks = (inner + REDUCE_WIDTH - 1) / REDUCE_WIDTH;
    int block, p;
    const int o = kiln_divide(kiln_divide(id, blocks, &block), parts, &p);
    const int column = block * REDUCE_WIDTH;
    const int lanes = min(REDUCE_WIDTH, inner - column);
    const int start = p * chunk;
    const int end = min(reduced, start + chunk);
    __global const float *block0 = x + (size_t)o * reduced * inner + column;
    reduce_vector result;
    if (maximum) {
        result = (reduce_vector)(-INFINITY);
        for (int r = start; r < end; ++r) {
            const reduce_vector v = kiln_reduce_lanes(block0 + (size_t)r * inner, lanes, -INFINITY);
            result = select(result, v, v >= result);
        }
    } else {
        reduce_vector sum;
        KILN_KAHAN_SUM_ROWS(reduce_vector, sum, start, end, r, kiln_reduce_lanes(block0 + (size_t)r * inner, lanes, 0.0f));
        result = sum / divisor;
    }
    __global float *target = out + ((size_t)o * parts + p) * inner + column;
    #pragma unroll
    for (int lane = 0; lane < REDUCE_WIDTH; ++lane) {
        if (lane < lanes) {
            target[lane] = result[lane];
        }
    }
}

__kernel void softmax_forward(
    __global const float *x, __global float *out, const int n, const int size, const int inner, const int logarithm) {
    const int id = (int)get_global_id(0);
    if (id >= n) {
        return;
    }
    // id enumerates the rows (o, i); element s of the row is at (o * size + s) * inner + i.
    int i;
    const int o = kiln_divide(id, inner, &i);
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
