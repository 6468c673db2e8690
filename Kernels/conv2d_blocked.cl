// conv2d_blocked.cl: the forward pass of stride-1 convolutions (any kernel size and padding, dilation 1, groups 1),
// register-blocked, without the GEMM path's column matrix, float32.
//
// Why it exists: the GEMM path writes and reads back a column matrix of C * KH * KW rows by N * OH * OW columns (29
// MB for 16 channels of 64 images of 28x28 at 3x3), so with few output channels to share it the convolution is
// bound by that memory traffic. Here a work item keeps BLOCKED_CHANNELS output channels of a segment of BLOCKED_WIDTH
// outputs in two adjacent output rows in registers and streams the taps: each tap loads one input vector per row
// and broadcasts one weight per output channel for both, the register blocking of gemm.cl (2 * BLOCKED_CHANNELS
// fmas per BLOCKED_CHANNELS + 2 loads).
//
// Layouts (contiguous, row-major): xp [N, C, HP, WP], x zero-padded by conv2d_narrow.cl's conv2d_narrow_pad with
// WP >= segments * BLOCKED_WIDTH + KW - 1, so every vector load lies inside its row (the lanes past OW are computed
// and not stored); w [O, C, KH, KW]; b [O]; y [N, O, OH, OW].
// conv2d_blocked_forward: work item (segment * channel blocks, row pair, n) computes y[n, o0 ..< o0 + BLOCKED_CHANNELS,
//   2 * pair ..< +2, segment] from b[o] (when hasBias), then the activation `activation` (a KILN_UNARY_* code, slope
//   for leakyRelu). Output channels past O repeat channel O - 1, and an odd OH's last row its row above; neither is
//   stored.
// conv2d_blocked_flip_weight: flipped [C, O, KH, KW] from w [O, C, KH, KW], flipped[c, o, kh, kw] =
//   w[o, c, KH - 1 - kh, KW - 1 - kw], one work item per element: the weight that makes a stride-1 convolution's input
//   gradient the forward pass of dy.
// Reference: Conv2D and Conv2DBackwardInput (Sources/KilnCore/Ops/Convolution.swift). Tests: the convolution catalog
// (Sources/KilnCheck/Catalog+Convolution.swift) on every device.
// Tunables: BLOCKED_CHANNELS (output channels per work item: 4 or 8, default 8); BLOCKED_WIDTH (outputs per
// segment, the vector width: 8 or 16, default 16).

#include "common.cl"

#ifndef BLOCKED_CHANNELS
#define BLOCKED_CHANNELS 8
#endif
#ifndef BLOCKED_WIDTH
#define BLOCKED_WIDTH 16
#endif
#if BLOCKED_CHANNELS != 4 && BLOCKED_CHANNELS != 8
#error "BLOCKED_CHANNELS must be 4 or 8"
#endif
#if BLOCKED_WIDTH != 8 && BLOCKED_WIDTH != 16
#error "BLOCKED_WIDTH must be 8 or 16"
#endif
#define blocked_vector KILN_JOIN(float, BLOCKED_WIDTH)
#define blocked_vload KILN_JOIN(vload, BLOCKED_WIDTH)

KILN_DEFINE_UNARY(blocked_vector)

/// The first `lanes` values of `value` into `target`.
inline void blocked_store(const blocked_vector value, __global float *target, const int lanes) {
    if (lanes == BLOCKED_WIDTH) {
        KILN_JOIN(vstore, BLOCKED_WIDTH)(value, 0, target);
    } else {
        float values[BLOCKED_WIDTH];
        KILN_JOIN(vstore, BLOCKED_WIDTH)(value, 0, values);
        for (int lane = 0; lane < lanes; ++lane) {
            target[lane] = values[lane];
        }
    }
}

// BLOCKED_EACH(X) expands X(0) ... X(BLOCKED_CHANNELS - 1), one named accumulator per output channel (pocl keeps
// private arrays in memory).
#if BLOCKED_CHANNELS == 4
#define BLOCKED_EACH(X) X(0) X(1) X(2) X(3)
#else
#define BLOCKED_EACH(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#endif

__kernel void conv2d_blocked_forward(
    __global const float *xp, __global const float *w, __global const float *b, const int hasBias, __global float *y,
    const int activation, const float slope, const int C, const int O, const int OH, const int OW, const int HP,
    const int WP, const int KH, const int KW) {
    const int segments = (OW + BLOCKED_WIDTH - 1) / BLOCKED_WIDTH;
    int segment;
    const int block = kiln_divide((int)get_global_id(0), segments, &segment);
    const int oh = (int)get_global_id(1) * 2, n = (int)get_global_id(2);
    const int o0 = block * BLOCKED_CHANNELS;
    if (o0 >= O || oh >= OH) {
        return;
    }
    // The second row of an odd OH's last pair repeats the first and is not stored.
    const int rowStep = oh + 1 < OH ? WP : 0;
    const int taps = C * KH * KW;
#define BLOCKED_START(j)                                                                                            \
    __global const float *w##j = w + (size_t)min(o0 + j, O - 1) * taps;                                            \
    const float bias##j = hasBias ? b[min(o0 + j, O - 1)] : 0.0f;                                                  \
    blocked_vector upper##j = (blocked_vector)(bias##j), lower##j = (blocked_vector)(bias##j);
    BLOCKED_EACH(BLOCKED_START)

    __global const float *plane = xp + ((size_t)n * C * HP + oh) * WP + segment * BLOCKED_WIDTH;
    int tap = 0;
    for (int c = 0; c < C; ++c, plane += (size_t)HP * WP) {
        __global const float *row = plane;
        for (int kh = 0; kh < KH; ++kh, row += WP) {
            for (int kw = 0; kw < KW; ++kw, ++tap) {
                const blocked_vector upper = blocked_vload(0, row + kw), lower = blocked_vload(0, row + rowStep + kw);
#define BLOCKED_TAP(j)                                                                                              \
    {                                                                                                              \
        const blocked_vector weight = (blocked_vector)(w##j[tap]);                                                   \
        upper##j = fma(weight, upper, upper##j);                                                                   \
        lower##j = fma(weight, lower, lower##j);                                                                   \
    }
                BLOCKED_EACH(BLOCKED_TAP)
            }
        }
    }

    const int ow0 = segment * BLOCKED_WIDTH;
    const int lanes = min(BLOCKED_WIDTH, OW - ow0);
#define BLOCKED_STORE(j)                                                                                            \
    if (o0 + j < O) {                                                                                              \
        __global float *target = y + (((size_t)n * O + o0 + j) * OH + oh) * OW + ow0;                              \
        blocked_store(KILN_JOIN(kiln_unary_, blocked_vector)(activation, upper##j, slope), target, lanes);           \
        if (rowStep != 0) {                                                                                        \
            blocked_store(KILN_JOIN(kiln_unary_, blocked_vector)(activation, lower##j, slope), target + OW, lanes);  \
        }                                                                                                          \
    }
    BLOCKED_EACH(BLOCKED_STORE)
}

__kernel void conv2d_blocked_flip_weight(__global const float *w, __global float *flipped, const int O, const int C,
                                         const int KH, const int KW) {
    const int index = (int)get_global_id(0);
    if (index >= O * C * KH * KW) {
        return;
    }
    int kw, kh, o;
    const int c = kiln_divide(kiln_divide(kiln_divide(index, KW, &kw), KH, &kh), O, &o);
    flipped[index] = w[(((size_t)o * C + c) * KH + KH - 1 - kh) * KW + KW - 1 - kw];
}
