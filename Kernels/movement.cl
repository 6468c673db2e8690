// movement.cl: copies elements without arithmetic; one strided copy serves every movement op.
//
// move_copy: for every coordinate (c0, ..., c5) of a box of shape D0..D5 (rank padded to 6 with leading
// 1s, c5 fastest), n = D0 * ... * D5:
//     out[outOffset + sum ck * ok] = x[xOffset + sum ck * xk]
// Buffers are float32. The host (OpenCLBackend+Movement.swift) expresses each op as one or more boxes:
//   broadcast    box = output shape, x strides from Shape.broadcastStrides(to:) (0 on broadcast axes).
//   transpose    box = output shape, xk = x.strides[permutation[k]].
//   slice        box = output shape, xOffset = start * (stride of the axis), x strides of x.
//   pad          the output zeroed first, then box = x's shape written at before * (stride of the axis).
//   concatenate  one box per input, written at its running offset along the axis.
// Output strides are always the output's own row-major strides, so boxes never overlap.
// Adjacent axes that are contiguous in both x and out are merged on the host first, so ranks above 6
// work whenever they merge down to 6.
//
// Row fast paths for broadcast (chosen on the host by OpenCLBackend.broadcastRows when the merged walk
// matches; move_copy serves every other case). The output is seen as `rows` rows of `inner` elements:
//   move_fill_rows  out[row, k] = x[row % channels]: a value per (outer, middle) row repeated along the
//                   row ([1, C, 1] -> [N, C, I], [C, 1] -> [C, I], and a scalar -> [N] with channels = 1).
//   move_copy_rows  out[row, k] = x[k]: one row copied into every row ([1, K] -> [M, K]).
// Work item j handles the run k = (j % chunks) * run ..< min(+run, inner) of row j / chunks: one division
// per run, none per element.
// move_copy_range: out[outOffset + i] = x[xOffset + i] for i < n, one float per work item: the host's contiguous
//                 copies where a device's quirk keeps them off clEnqueueCopyBuffer (DeviceQuirks.transfersWithKernels).
// Reference: Sources/KilnCore/Ops/Movement.swift (Broadcast, Transpose, Slice, Pad, Concatenate).
// Tests: Tests/KilnOpenCLTests/MovementKernelTests.swift.
// Tunables: none. The launch is rounded up past n (no non-uniform work groups on pocl): bounds-checked.

#include "common.cl"

__kernel void move_copy(
    __global const float *x, __global float *out, const int n, const int xOffset, const int outOffset,
    const int d0, const int d1, const int d2, const int d3, const int d4, const int d5,
    const int x0, const int x1, const int x2, const int x3, const int x4, const int x5,
    const int o0, const int o1, const int o2, const int o3, const int o4, const int o5) {
    const int i = (int)get_global_id(0);
    if (i >= n) {
        return;
    }
    // Peel the coordinates off from the fastest axis (5) to the slowest (0); c0 is what remains.
    int rest = i;
    int c;
    int source = xOffset;
    int target = outOffset;
    rest = kiln_divide(rest, d5, &c); source += c * x5; target += c * o5;
    rest = kiln_divide(rest, d4, &c); source += c * x4; target += c * o4;
    rest = kiln_divide(rest, d3, &c); source += c * x3; target += c * o3;
    rest = kiln_divide(rest, d2, &c); source += c * x2; target += c * o2;
    rest = kiln_divide(rest, d1, &c); source += c * x1; target += c * o1;
    source += rest * x0;
    target += rest * o0;
    (void)d0;
    out[target] = x[source];
}

__kernel void move_fill_rows(
    __global const float *x, __global float *out, const int rows, const int channels, const int inner,
    const int chunks, const int run) {
    const int j = (int)get_global_id(0);
    if (j >= rows * chunks) {
        return;
    }
    const int row = j / chunks;
    const int start = (j - row * chunks) * run;
    const int end = min(start + run, inner);
    const float value = x[row % channels];
    __global float *outRow = out + (size_t)row * inner;
    for (int k = start; k < end; ++k) {
        outRow[k] = value;
    }
}

__kernel void move_copy_rows(
    __global const float *x, __global float *out, const int rows, const int inner, const int chunks,
    const int run) {
    const int j = (int)get_global_id(0);
    if (j >= rows * chunks) {
        return;
    }
    const int row = j / chunks;
    const int start = (j - row * chunks) * run;
    const int end = min(start + run, inner);
    __global float *outRow = out + (size_t)row * inner;
    for (int k = start; k < end; ++k) {
        outRow[k] = x[k];
    }
}

__kernel void move_copy_range(
    __global const float *x, __global float *out, const int n, const int xOffset, const int outOffset) {
    const int i = (int)get_global_id(0);
    if (i < n) {
        out[outOffset + i] = x[xOffset + i];
    }
}
