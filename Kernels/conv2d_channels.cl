// conv2d_channels.cl: the forward pass of convolutions with many taps per output (groups 1, any stride, padding and
// dilation), vectorised across 16 output channels, float32.
//
// Why it exists: conv2d_blocked.cl vectorises along an output row, which wastes lanes on rows that are not a multiple
// of its segments (7 of 8 lanes on 7-wide rows, 14 of 16 on 14-wide) and loads each input vector unaligned. Here a
// work item keeps 16 output channels of up to CHANNELS_PIXELS outputs of a row in registers (one float16 per output)
// and streams the taps: each tap loads one vector of 16 weights and broadcasts one input per output, so every lane
// does useful work whenever O is a multiple of 16. On pocl (2 cores, AVX-512) with 32 or more input channels at 3x3 it
// runs at 170-200 GFLOP/s against conv2d_blocked.cl's 130-175; with 16 input channels (144 taps) the per-row
// stores weigh more and conv2d_blocked.cl stays faster.
//
// The inputs a row's outputs broadcast are adjacent in memory. With the loops over the taps rolled and the strides
// constant, LLVM's SLP vectoriser once fused them into vector loads and lane permutes, which compete with the fmas for
// the same ports (AVX-512, 2026-12-06: 112 against 194 GFLOP/s with the strides as arguments). With the taps unrolled
// (the weight's size, the column stride and the dilations are build defines), each broadcast is one load at a constant
// offset from a pixel's row and no permutes appear; as arguments, the per-tap addresses spilled to the stack (pocl with
// AVX2, 2026-12-07, conv2's forward over 6-8 interleaved rounds: 0.78x the time with constant dilations, then 0.85x
// with the column stride constant too). Not re-measured on an AVX-512 device.
//
// Layouts (contiguous, row-major): xp [N, C, HP, WP], x zero-padded by conv2d_narrow.cl's conv2d_narrow_pad with
// HP >= (OH - 1) * SH + (KH - 1) * DH + 1 and WP >= (OW - 1) * SW + (KW - 1) * DW + 1, so every load lies inside its
// row; wt [C, KH, KW, OP] with OP = O rounded up to 16 and zeros past O (conv2d_channels_weight); b [O];
// y [N, O, OH, OW].
// conv2d_channels_forward: work item (block of 16 output channels, oh, n) computes y[n, o0 ..< o0 + 16, oh, :] in
//   segments of CHANNELS_PIXELS outputs and a last one of CHANNELS_TAIL (OW = segments * CHANNELS_PIXELS +
//   CHANNELS_TAIL), from b[o] (when hasBias), then the activation `activation` (a KILN_UNARY_* code, slope for
//   leakyRelu). With the last segment as long as the others, a 14-wide row took 15 outputs' work (conv2's forward and
//   input gradient on pocl with AVX2: 0.94 of their time with a 4-output tail, median of 8 interleaved event-timed runs).
// conv2d_channels_weight: wt from a weight w [A, B, KH, KW]: wt[b, kh, kw, a] = w[a, b, kh, kw] for the forward pass
//   (A = O, B = C), or with `gradient` set wt[a, kh, kw, b] = w[a, b, KH - 1 - kh, KW - 1 - kw], the weight that
//   makes a stride-1 convolution's input gradient the forward pass of dy (its outputs are w's B input channels); JP is
//   the output count rounded up to 16, the entries past it zero. One work item per element of wt.
// Reference: Conv2D and Conv2DBackwardInput (Sources/KilnCore/Ops/Convolution.swift). Tests: the convolution catalog
// (Sources/KilnCheck/Catalog+Convolution.swift) on every device.
// Geometry defines, what a program is built for (OpenCLBackend+Convolution.swift's ChannelsGeometry picks them from the
// device's float vector width, so the accumulators stay in registers): CHANNELS_PIXELS (outputs per segment of the
// forward pass, 1 to 8: the host picks the fewest segments of at most 8 outputs on 16-lane devices, 5 on narrower ones,
// all CHANNELS_PIXELS long but the last, CHANNELS_TAIL, which takes the rest) and CHANNELS_TAP_GROUP (taps per work
// item of the weight gradient, 1 to 9: 9 on 16-lane devices, 6 on narrower); and
// for the forward pass, the weight's height and width (CHANNELS_KH, CHANNELS_KW), the column stride (CHANNELS_SW) and
// the dilations (CHANNELS_DH, CHANNELS_DW), so its loops over a channel's taps unroll into loads at constant offsets
// (with the sizes as arguments, the loop over a 3-wide row of taps and its outer loop took about a quarter of the
// kernel's samples on pocl with AVX2, and conv2's forward ran about 10% slower; see above for the strides).

#include "common.cl"

#ifndef CHANNELS_PIXELS
#define CHANNELS_PIXELS 8
#endif
#if CHANNELS_PIXELS < 1 || CHANNELS_PIXELS > 8
#error "CHANNELS_PIXELS must be 1 to 8"
#endif
#ifndef CHANNELS_TAIL
#define CHANNELS_TAIL CHANNELS_PIXELS
#endif
#if CHANNELS_TAIL < 1 || CHANNELS_TAIL > CHANNELS_PIXELS
#error "CHANNELS_TAIL must be 1 to CHANNELS_PIXELS"
#endif
#ifndef CHANNELS_KH
#define CHANNELS_KH 3
#endif
#ifndef CHANNELS_KW
#define CHANNELS_KW 3
#endif
#ifndef CHANNELS_SW
#define CHANNELS_SW 1
#endif
#ifndef CHANNELS_DH
#define CHANNELS_DH 1
#endif
#ifndef CHANNELS_DW
#define CHANNELS_DW 1
#endif
#if CHANNELS_KH < 1 || CHANNELS_KW < 1 || CHANNELS_SW < 1 || CHANNELS_DH < 1 || CHANNELS_DW < 1
#error "CHANNELS_KH, CHANNELS_KW, CHANNELS_SW, CHANNELS_DH and CHANNELS_DW must be at least 1"
#endif
#ifndef CHANNELS_TAP_GROUP
#define CHANNELS_TAP_GROUP 9
#endif
#if CHANNELS_TAP_GROUP < 1 || CHANNELS_TAP_GROUP > 9
#error "CHANNELS_TAP_GROUP must be 1 to 9"
#endif
#ifndef CHANNELS_BLOCKS
#define CHANNELS_BLOCKS 1
#endif
#if CHANNELS_BLOCKS != 1 && CHANNELS_BLOCKS != 2
#error "CHANNELS_BLOCKS must be 1 or 2"
#endif
// Output channels per work item, and CHANNELS_SECOND(code): the code for the second block of 16 channels, if any.
#define CHANNELS_LANES (16 * CHANNELS_BLOCKS)
#if CHANNELS_BLOCKS == 2
#define CHANNELS_SECOND(...) __VA_ARGS__
#else
#define CHANNELS_SECOND(...)
#endif

KILN_DEFINE_UNARY(float16)

// CHANNELS_EACH(X) expands X(0) ... X(CHANNELS_PIXELS - 1), one named accumulator per output (pocl keeps private
// arrays in memory); CHANNELS_EACH_TAP(X) X(0) ... X(CHANNELS_TAP_GROUP - 1), one per tap.
#define CHANNELS_EACH_1(X) X(0)
#define CHANNELS_EACH_2(X) CHANNELS_EACH_1(X) X(1)
#define CHANNELS_EACH_3(X) CHANNELS_EACH_2(X) X(2)
#define CHANNELS_EACH_4(X) CHANNELS_EACH_3(X) X(3)
#define CHANNELS_EACH_5(X) CHANNELS_EACH_4(X) X(4)
#define CHANNELS_EACH_6(X) CHANNELS_EACH_5(X) X(5)
#define CHANNELS_EACH_7(X) CHANNELS_EACH_6(X) X(6)
#define CHANNELS_EACH_8(X) CHANNELS_EACH_7(X) X(7)
#define CHANNELS_EACH_9(X) CHANNELS_EACH_8(X) X(8)
#define CHANNELS_EACH KILN_JOIN(CHANNELS_EACH_, CHANNELS_PIXELS)
#define CHANNELS_EACH_TAIL KILN_JOIN(CHANNELS_EACH_, CHANNELS_TAIL)
#define CHANNELS_EACH_TAP KILN_JOIN(CHANNELS_EACH_, CHANNELS_TAP_GROUP)

// Stores the first `lanes` lanes of `values`, one output channel each, `plane` floats apart from `target`.
inline void channels_store_outputs(const float16 values, const int lanes, __global float *target, const size_t plane) {
    float stored[16];
    vstore16(values, 0, stored);
    for (int lane = 0; lane < lanes; ++lane) {
        target[lane * plane] = stored[lane];
    }
}

__kernel void conv2d_channels_forward(
    __global const float *xp, __global const float *wt, __global const float *b, const int hasBias, __global float *y,
    const int activation, const float slope, const int C, const int O, const int OP, const int OH, const int OW,
    const int HP, const int WP, const int SH) {
    const int o0 = (int)get_global_id(0) * CHANNELS_LANES, oh = (int)get_global_id(1), n = (int)get_global_id(2);
    if (o0 >= O || oh >= OH) {
        return;
    }
    float16 initial = (float16)(0.0f);
    CHANNELS_SECOND(float16 initialSecond = (float16)(0.0f);)
    if (hasBias) {
        float biases[CHANNELS_LANES];
        for (int lane = 0; lane < CHANNELS_LANES; ++lane) {
            biases[lane] = b[min(o0 + lane, O - 1)];
        }
        initial = vload16(0, biases);
        CHANNELS_SECOND(initialSecond = vload16(1, biases);)
    }
    // Channels of each block below O (none in a second block past O).
    const int lanes = min(16, O - o0);
    CHANNELS_SECOND(const int lanesSecond = min(16, O - o0 - 16);)
    __global float *outputs = y + (((size_t)n * O + o0) * OH + oh) * OW;
    const size_t outputPlane = (size_t)OH * OW;
    __global const float *image = xp + ((size_t)n * C * HP + (size_t)oh * SH) * WP;

// One segment of EACH's outputs starting at column ow0 (EACH is CHANNELS_EACH or CHANNELS_EACH_TAIL).
#define CHANNELS_SEGMENT(EACH)                                                                                      \
    {                                                                                                              \
        EACH(CHANNELS_START)                                                                                       \
        __global const float *plane = image + (size_t)ow0 * CHANNELS_SW;                                           \
        __global const float *weights = wt + o0;                                                                   \
        for (int c = 0; c < C; ++c, plane += (size_t)HP * WP) {                                                    \
            __global const float *row = plane;                                                                     \
            _Pragma("unroll") for (int kh = 0; kh < CHANNELS_KH; ++kh, row += (size_t)CHANNELS_DH * WP) {          \
                _Pragma("unroll") for (int kw = 0; kw < CHANNELS_KW; ++kw, weights += OP) {                        \
                    const float16 weight = vload16(0, weights);                                                    \
                    CHANNELS_SECOND(const float16 weightSecond = vload16(1, weights);)                             \
                    __global const float *inputs = row + kw * CHANNELS_DW;                                         \
                    EACH(CHANNELS_TAP)                                                                             \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
        EACH(CHANNELS_STORE)                                                                                       \
    }
#define CHANNELS_START(p)                                                                                           \
    float16 acc##p = initial;                                                                                      \
    CHANNELS_SECOND(float16 accSecond##p = initialSecond;)
#define CHANNELS_TAP(p)                                                                                             \
    {                                                                                                              \
        const float16 input = (float16)(inputs[p * CHANNELS_SW]);                                                  \
        acc##p = fma(input, weight, acc##p);                                                                       \
        CHANNELS_SECOND(accSecond##p = fma(input, weightSecond, accSecond##p);)                                    \
    }
#define CHANNELS_STORE(p)                                                                                           \
    channels_store_outputs(kiln_unary_float16(activation, acc##p, slope), lanes, outputs + ow0 + p, outputPlane);  \
    CHANNELS_SECOND(channels_store_outputs(kiln_unary_float16(activation, accSecond##p, slope), lanesSecond,       \
                                           outputs + 16 * outputPlane + ow0 + p, outputPlane);)
    int ow0 = 0;
    for (; ow0 < OW - CHANNELS_TAIL; ow0 += CHANNELS_PIXELS) {
        CHANNELS_SEGMENT(CHANNELS_EACH)
    }
    CHANNELS_SEGMENT(CHANNELS_EACH_TAIL)
}

__kernel void conv2d_channels_weight(__global const float *w, __global float *wt, const int A, const int B, const int KH,
                                     const int KW, const int gradient, const int JP, const int count) {
    const int index = (int)get_global_id(0);
    if (index >= count) {
        return;
    }
    // wt's element [i, kh, kw, j] of [I, KH, KW, JP]: the forward pass takes i = b, j = a; the gradient i = a, j = b.
    int j, kw, kh;
    const int i = kiln_divide(kiln_divide(kiln_divide(index, JP, &j), KW, &kw), KH, &kh);
    const int a = gradient ? i : j, bIndex = gradient ? j : i;
    float value = 0.0f;
    if (j < (gradient ? B : A)) {
        const int sourceH = gradient ? KH - 1 - kh : kh, sourceW = gradient ? KW - 1 - kw : kw;
        value = w[(((size_t)a * B + bIndex) * KH + sourceH) * KW + sourceW];
    }
    wt[index] = value;
}

// ---- Weight gradient ----
//
// dw[o, c, kh, kw] = sum over n, oh, ow of dy[n, o, oh, ow] * xp[n, c, oh * SH + kh * DH, ow * SW + kw * DW], the
// same product the GEMM path computes through a column matrix of C * KH * KW rows by N * OH * OW columns (29 MB for 16
// channels of 64 images of 28x28 at 3x3, written and read back), here without it: a work item keeps 16 output
// channels of CHANNELS_TAP_GROUP taps (flattened (c, kh, kw) indices) in registers and walks the outputs of a slice of
// whole images, loading dy's 16 channels at each output as one vector (from dyT) and broadcasting one input per tap.
// The taps' input offsets are computed at run time, so LLVM does not fuse the broadcasts into vector loads.
// conv2d_channels_gradient_rows: dyT [N * OH * OW, OP] from dy [N, O, OH, OW], zero past O; work item (block of 16
//   outputs, block of 16 channels, n) moves one 16x16 tile through private memory, reading its rows as vectors.
// conv2d_channels_backward_weight: work item (block of 16 output channels, group of taps, slice s) writes
//   part[s][q][o] for its taps q and channels o < O: the sum over the slice's SN images, the layout conv2d.cl's
//   conv2d_weight_slices_sum adds up into dw [O, Q].

__kernel void conv2d_channels_gradient_rows(__global const float *dy, __global float *dyT, const int O, const int OP,
                                            const int P) {
    const int p0 = (int)get_global_id(0) * 16, o0 = (int)get_global_id(1) * 16, n = (int)get_global_id(2);
    if (p0 >= P || o0 >= OP) {
        return;
    }
    const int pixels = min(16, P - p0);
    // tile[o][p]: whole rows of 16 as vectors; a tile at the edge element by element, zero past O and P.
    float tile[16][16];
    for (int o = 0; o < 16; ++o) {
        __global const float *source = dy + ((size_t)n * O + o0 + o) * P + p0;
        if (o0 + o < O && pixels == 16) {
            vstore16(vload16(0, source), 0, tile[o]);
        } else {
            for (int p = 0; p < 16; ++p) {
                tile[o][p] = o0 + o < O && p < pixels ? source[p] : 0.0f;
            }
        }
    }
    for (int p = 0; p < pixels; ++p) {
        __global float *target = dyT + ((size_t)n * P + p0 + p) * OP + o0;
        for (int o = 0; o < 16; ++o) {
            target[o] = tile[o][p];
        }
    }
}

__kernel void conv2d_channels_backward_weight(
    __global const float *xp, __global const float *dyT, __global float *part, const int SN, const int C, const int O,
    const int OP, const int OH, const int OW, const int HP, const int WP, const int KH, const int KW, const int SH,
    const int SW, const int DH, const int DW) {
    const int o0 = (int)get_global_id(0) * CHANNELS_LANES, q0 = (int)get_global_id(1) * CHANNELS_TAP_GROUP;
    const int s = (int)get_global_id(2);
    const int Q = C * KH * KW;
    if (o0 >= O || q0 >= Q) {
        return;
    }
    // Each tap's offset in an image of xp; the group's taps past Q repeat tap Q - 1 and are not stored.
#define CHANNELS_TAP_OFFSET(t)                                                                                      \
    int offset##t;                                                                                                 \
    {                                                                                                              \
        int kw, kh;                                                                                                \
        const int c = kiln_divide(kiln_divide(min(q0 + t, Q - 1), KW, &kw), KH, &kh);                              \
        offset##t = (c * HP + kh * DH) * WP + kw * DW;                                                             \
    }                                                                                                              \
    float16 acc##t = (float16)(0.0f);                                                                              \
    CHANNELS_SECOND(float16 accSecond##t = (float16)(0.0f);)
    CHANNELS_EACH_TAP(CHANNELS_TAP_OFFSET)

    const size_t imagePlanes = (size_t)C * HP * WP;
    __global const float *gradients = dyT + (size_t)s * SN * OH * OW * OP + o0;
    for (int m = 0; m < SN; ++m) {
        __global const float *image = xp + ((size_t)s * SN + m) * imagePlanes;
        for (int oh = 0; oh < OH; ++oh) {
            __global const float *row = image + (size_t)oh * SH * WP;
            for (int ow = 0; ow < OW; ++ow, gradients += OP) {
                const float16 gradient = vload16(0, gradients);
                CHANNELS_SECOND(const float16 gradientSecond = vload16(1, gradients);)
                __global const float *inputs = row + ow * SW;
#define CHANNELS_WEIGHT_TAP(t)                                                                                      \
    {                                                                                                              \
        const float16 input = (float16)(inputs[offset##t]);                                                        \
        acc##t = fma(input, gradient, acc##t);                                                                     \
        CHANNELS_SECOND(accSecond##t = fma(input, gradientSecond, accSecond##t);)                                  \
    }
                CHANNELS_EACH_TAP(CHANNELS_WEIGHT_TAP)
            }
        }
    }
    const int lanes = min(16, O - o0);
    CHANNELS_SECOND(const int lanesSecond = min(16, O - o0 - 16);)
#define CHANNELS_WEIGHT_STORE(t)                                                                                    \
    if (q0 + t < Q) {                                                                                              \
        __global float *target = part + ((size_t)s * Q + q0 + t) * O + o0;                                         \
        channels_store_outputs(acc##t, lanes, target, 1);                                                          \
        CHANNELS_SECOND(channels_store_outputs(accSecond##t, lanesSecond, target + 16, 1);)                        \
    }
    CHANNELS_EACH_TAP(CHANNELS_WEIGHT_STORE)
}
