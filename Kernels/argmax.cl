// argmax.cl: the index of the first maximum along one axis (the op `argMax`), one work item per row.
//
// Layout: x is float32, contiguous, seen as [O, S, I]: O = product of the axes before the reduced one,
// S = its size, I = product of the axes after it. out [O, I] holds the indices as floats (exact below 2^24):
//   argmax_forward   out[o, i] = the first s with x[o, s, i] the row's maximum. NaN counts as larger than every
//                    number, so a row holding NaN gives the index of its first NaN (NumPy's and PyTorch's rule).
// Work item id enumerates the rows (o, i); element s of the row is at (o * S + s) * I + i. The launch is
// rounded up past the row count, so the kernel bounds-checks.
// Reference: ArgMax in Sources/KilnCore/Ops/Reduce.swift.
// Tests: Tests/KilnOpenCLTests/ArgMaxKernelTests.swift. Host side: OpenCLBackend+ArgMax.swift.
// Tunables: none.

#include "common.cl"

__kernel void argmax_forward(__global const float *x, __global float *out, const int n, const int size, const int inner) {
    const int id = (int)get_global_id(0);
    if (id >= n) {
        return;
    }
    int i;
    const int o = kiln_divide(id, inner, &i);
    __global const float *row = x + (size_t)o * size * inner + i;
    int best = 0;
    float maximum = row[0];
    // Strictly greater, so a later equal value does not displace the first; once a NaN holds, nothing displaces it.
    for (int s = 1; s < size && !isnan(maximum); ++s) {
        const float v = row[(size_t)s * inner];
        if (isnan(v) || v > maximum) {
            maximum = v;
            best = s;
        }
    }
    out[id] = (float)best;
}
