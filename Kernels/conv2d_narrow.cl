// conv2d_narrow.cl: stride-1 convolution with few taps per output (C * KH * KW small, e.g. a network's first
// layer over 1 or 3 input channels), forward and weight gradient, float32, 8 adjacent outputs per work item.
//
// Why it exists: with K = C * KH * KW of 9 the GEMM path spends its time moving memory (im2col, a product
// with K = 9, a layout pass), and pocl does not vectorise one-output-per-work-item direct kernels. Here a work
// item computes row segments of 8 outputs as float8 values, reading its input vectors from a zero-padded copy
// of x (no bounds checks in the loops), for every output channel.
//
// Build-time defines: NARROW_C (input channels), NARROW_KH, NARROW_KW (kernel height and width), so the loops over
// taps unroll and the sums live in registers, and NARROW_ACTIVATION, the forward pass's fused activation (a
// KILN_UNARY_* code, KILN_UNARY_NONE for none). Defaults: one channel, 3x3, no activation (the variant warmUp builds).
// Layouts (contiguous, row-major): x [N, C, H, W]; xp [N, C, HP, WP] with HP = OH + KH - 1, WP = OW + KW - 1;
// w [O, C, KH, KW]; b [O]; y, dy [N, O, OH, OW]. Stride and dilation are 1, groups 1; padding is any
// (PT, PL top and left; the bottom and right padding follow from OH and OW). Requires OW >= 8.
// A row's last segment starts at OW - 8 (it overlaps the one before when OW is not a multiple of 8), so every
// load and store is a whole float8 inside the row.
// Reference: Conv2D and Conv2DBackwardWeight (Sources/KilnCore/Ops/Convolution.swift).
// Tests: Tests/KilnOpenCLTests/NarrowConvolutionKernelTests.swift.
//
// conv2d_narrow_pad:             one work item per xp row: x, or 0 in the padding (0.03 ms for the CNN's first
//                                layer, 0.09 ms with one work item per element).
// conv2d_narrow_forward:         work item (pair of segments, oh, n): y[n, :, oh, both segments] for every output
//                                channel, from its bias (when hasBias), then NARROW_ACTIVATION's function.
// conv2d_narrow_backward_weight: work item (o, s): the weight gradient of output channel o summed over the images
//                                of slice s (SN images each), written as part[s][c, kh, kw][o], the layout
//                                conv2d.cl's conv2d_weight_slices_sum adds up.

#include "common.cl"

#ifndef NARROW_C
#define NARROW_C 1
#endif
#ifndef NARROW_KH
#define NARROW_KH 3
#endif
#ifndef NARROW_KW
#define NARROW_KW 3
#endif
#ifndef NARROW_ACTIVATION
#define NARROW_ACTIVATION KILN_UNARY_NONE
#endif
#define NARROW_TAPS (NARROW_C * NARROW_KH * NARROW_KW)

#if NARROW_C < 1 || NARROW_KH < 1 || NARROW_KW < 1
#error "NARROW_C, NARROW_KH and NARROW_KW must be at least 1"
#endif
#if NARROW_ACTIVATION < KILN_UNARY_NONE
#error "NARROW_ACTIVATION must be KILN_UNARY_NONE or a KILN_UNARY_* code"
#endif

__kernel void conv2d_narrow_pad(__global const float *x, __global float *xp, const int H, const int W, const int PT,
                                const int PL, const int HP, const int WP, const int planes) {
    const int row = (int)get_global_id(0), plane = (int)get_global_id(1);
    if (row >= HP || plane >= planes) {
        return;
    }
    const int ih = row - PT;
    const bool inside = ih >= 0 && ih < H;
    __global float *target = xp + ((size_t)plane * HP + row) * WP;
    __global const float *source = x + ((size_t)plane * H + (inside ? ih : 0)) * W - PL;
    // Columns [start, end) come from x; the rest are padding.
    const int start = inside ? min(PL, WP) : WP, end = inside ? min(PL + W, WP) : WP;
    for (int column = 0; column < start; ++column) {
        target[column] = 0.0f;
    }
    for (int column = start; column < end; ++column) {
        target[column] = source[column];
    }
    for (int column = max(end, start); column < WP; ++column) {
        target[column] = 0.0f;
    }
}

// The activation, chosen at build time (NARROW_ACTIVATION): common.cl's function with a constant code folds to the one
// case; a switch at run time kept the sums out of registers (0.52 ms instead of 0.25).
KILN_DEFINE_UNARY(float8)
#define NARROW_EPILOGUE(x) kiln_unary_float8(NARROW_ACTIVATION, (x), slope)

// Channels o ..< o + COUNT (COUNT 4 or 1) for both segments, then the activation: each tap's two input vectors are loaded
// once for all COUNT channels, and each weight once for both segments (8 independent sums at COUNT 4). Measured on
// pocl for the CNN's first layer: 0.25 ms, against 0.31 ms with one segment per work item and its taps in registers
// (one weight load per FMA).
#define NARROW_BLOCK(COUNT)                                                                           \
    {                                                                                                          \
        float8 sumA[COUNT], sumB[COUNT];                                                                       \
        _Pragma("unroll") for (int j = 0; j < COUNT; ++j) {                                                    \
            sumA[j] = (float8)(hasBias ? b[o + j] : 0.0f);                                                     \
            sumB[j] = sumA[j];                                                                                 \
        }                                                                                                      \
        __global const float *weights = w + (size_t)o * NARROW_TAPS;                                           \
        _Pragma("unroll") for (int c = 0; c < NARROW_C; ++c) {                                                 \
            _Pragma("unroll") for (int kh = 0; kh < NARROW_KH; ++kh) {                                         \
                __global const float *row = rows + ((size_t)c * HP + kh) * WP;                                 \
                _Pragma("unroll") for (int kw = 0; kw < NARROW_KW; ++kw) {                                     \
                    const int t = (c * NARROW_KH + kh) * NARROW_KW + kw;                                       \
                    const float8 tapA = vload8(0, row + owA + kw), tapB = vload8(0, row + owB + kw);           \
                    _Pragma("unroll") for (int j = 0; j < COUNT; ++j) {                                        \
                        const float8 weight = (float8)(weights[j * NARROW_TAPS + t]);                          \
                        sumA[j] = fma(tapA, weight, sumA[j]);                                                  \
                        sumB[j] = fma(tapB, weight, sumB[j]);                                                  \
                    }                                                                                          \
                }                                                                                              \
            }                                                                                                  \
        }                                                                                                      \
        _Pragma("unroll") for (int j = 0; j < COUNT; ++j) {                                                    \
            __global float *channel = out + (size_t)(o + j) * OH * OW;                                         \
            vstore8(NARROW_EPILOGUE(sumA[j]), 0, channel + owA);                                               \
            vstore8(NARROW_EPILOGUE(sumB[j]), 0, channel + owB);                                               \
        }                                                                                                      \
    }

__kernel void conv2d_narrow_forward(__global const float *xp, __global const float *w, __global const float *b,
                                    const int hasBias, __global float *y, const float slope,
                                    const int N, const int O, const int OH, const int OW) {
    const int pair = (int)get_global_id(0), oh = (int)get_global_id(1), n = (int)get_global_id(2);
    const int segments = (OW + 7) / 8;
    if (pair * 2 >= segments || oh >= OH || n >= N) {
        return;
    }
    const int HP = OH + NARROW_KH - 1, WP = OW + NARROW_KW - 1;
    // The pair's two segments (the same one twice when the row has an odd number of segments).
    const int owA = min(pair * 16, OW - 8), owB = min(pair * 16 + 8, OW - 8);
    __global const float *rows = xp + ((size_t)n * NARROW_C * HP + oh) * WP;
    __global float *out = y + ((size_t)n * O * OH + oh) * OW;
    int o = 0;
    for (; o + 4 <= O; o += 4) NARROW_BLOCK(4)
    for (; o < O; ++o) NARROW_BLOCK(1)
}

__kernel void conv2d_narrow_backward_weight(__global const float *xp, __global const float *dy, __global float *part,
                                            const int SN, const int slices, const int O, const int OH, const int OW) {
    const int o = (int)get_global_id(0), s = (int)get_global_id(1);
    if (o >= O || s >= slices) {
        return;
    }
    const int HP = OH + NARROW_KH - 1, WP = OW + NARROW_KW - 1;
    const int segments = (OW + 7) / 8;
    const float8 lane = (float8)(0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f);
    float8 sums[NARROW_TAPS];
#pragma unroll
    for (int t = 0; t < NARROW_TAPS; ++t) {
        sums[t] = (float8)(0.0f);
    }
    for (int n = s * SN; n < (s + 1) * SN; ++n) {
        for (int oh = 0; oh < OH; ++oh) {
            __global const float *gradients = dy + (((size_t)n * O + o) * OH + oh) * OW;
            for (int segment = 0; segment < segments; ++segment) {
                const int ow0 = min(segment * 8, OW - 8);
                // In the last segment, lanes before segment * 8 belong to the segment before: they count once.
                const float8 g = select(vload8(0, gradients + ow0), (float8)(0.0f),
                                        isless(lane + (float)ow0, (float8)((float)(segment * 8))));
#pragma unroll
                for (int c = 0; c < NARROW_C; ++c) {
#pragma unroll
                    for (int kh = 0; kh < NARROW_KH; ++kh) {
                        __global const float *row = xp + (((size_t)n * NARROW_C + c) * HP + oh + kh) * WP + ow0;
#pragma unroll
                        for (int kw = 0; kw < NARROW_KW; ++kw) {
                            const int t = (c * NARROW_KH + kh) * NARROW_KW + kw;
                            sums[t] = fma(g, vload8(0, row + kw), sums[t]);
                        }
                    }
                }
            }
        }
    }
    __global float *out = part + (size_t)s * NARROW_TAPS * O + o;
#pragma unroll
    for (int t = 0; t < NARROW_TAPS; ++t) {
        out[(size_t)t * O] = kiln_sum8(sums[t]);
    }
}
