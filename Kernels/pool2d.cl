// pool2d.cl: 2-D max and average pooling (NCHW) and their gradients, float32.
//
// Layouts (contiguous, row-major): x, dx [N, C, H, W]; y, dy [N, C, OH, OW]. Batch and channel fold into one
// plane index P = N * C, since pooling treats every plane alike.
// Window (oh, ow) tap (kh, kw) reads input row ih = oh*SH - PT + kh*DH and column iw = ow*SW - PL + kw*DW;
// taps outside the input (the padding) are skipped: padding never wins a max and adds nothing to a sum.
// Reference: MaxPool2D, MaxPool2DBackward, AvgPool2D, AvgPool2DBackward
// (Sources/KilnCore/Ops/Pooling.swift).
// Tests: Tests/KilnOpenCLTests/PoolingKernelTests.swift and the catalog's pooling cases (max and average in both
// count modes, padding up to the window's extent, ceil mode, dilation, overlapping windows, the 6x6 course example,
// the first-maximum tie rule).
//
// pool2d_forward_avg:  one work item per y element: the sum of the inside taps divided by the number of taps inside
//                      the padded input when countIncludePadding (KH*KW unless a ceil-mode window reaches past the
//                      bottom or right padding PB, PR), else by the number of inside taps (0 when there are none).
// pool2d_backward_max: one work item per dx element: a gather over the windows that read it, adding a window's
//                      dy when this element is that window's first maximum (recomputed). No atomics.
// pool2d_forward_max_rows: one work item per y row (plane, oh), no division per element: each output is the
//                      first largest tap in row-major tap order (a later equal value does not displace it).
// pool2d_forward_max_2x2: 2x2 windows at stride 2, no padding or dilation: one work item per y row, reading the
//                      two input rows it covers (8 outputs at a time as float16 loads, 4 in rows of 4 to 7).
// pool2d_backward_max_disjoint_rows: the same result as pool2d_backward_max when windows cannot overlap
//                      ((KH-1)*DH < SH and (KW-1)*DW < SW): one work item per dy row finds each window's first
//                      maximum once and writes dy there and 0 to the window's other taps. Elements that no
//                      window reads are left alone: the host zeroes dx first unless the windows tile it.
// pool2d_backward_max_2x2: the same for 2x2 windows at stride 2 without padding or dilation, one work item
//                      per dy row (writes the two dx rows under it, 8 or 4 windows at a time as vector stores).
// pool2d_backward_avg: one work item per dx element: a gather of dy / divisor over the windows that read it.
//
// Tunables: none (direct kernels; launch local size chosen by OpenCLBackend+Pooling.swift).

#include "common.cl"

// The geometry arguments every entry point takes, in this order.
#define POOL_GEOMETRY                                                                                          \
    const int P, const int H, const int W, const int OH, const int OW, const int KH, const int KW, const int SH, \
        const int SW, const int PT, const int PL, const int DH, const int DW

// The taps (ih, iw) of window (oh, ow) inside the input, in row-major tap order: common.cl's window walk.
#define POOL_FOR_EACH_TAP(ih, iw, oh, ow)                                                                      \
    KILN_FOR_TAPS(ih, kh, (oh) * SH - PT, DH, KH, H) KILN_FOR_TAPS(iw, kw, (ow) * SW - PL, DW, KW, W)

// The windows (oh, ow) that read input element (ih, iw): common.cl's gather walk.
#define POOL_FOR_EACH_WINDOW(oh, ow, ih, iw)                                                                   \
    KILN_FOR_WINDOWS(oh, kh, ih, PT, DH, KH, SH, OH) KILN_FOR_WINDOWS(ow, kw, iw, PL, DW, KW, SW, OW)

// The index inside plane `x` of window (oh, ow)'s first maximum, or -1 when no tap lies inside the input.
static int pool2d_first_maximum(__global const float *x, const int oh, const int ow, POOL_GEOMETRY) {
    int winner = -1;
    float best = 0.0f;
    POOL_FOR_EACH_TAP(ih, iw, oh, ow) {
        const float value = x[ih * W + iw];
        // Strictly greater, so ties keep the first maximum.
        if (winner < 0 || value > best) {
            winner = ih * W + iw;
            best = value;
        }
    }
    return winner;
}

// What window (oh, ow)'s sum is divided by: the number of its taps inside the padded input (PB and PR the bottom and
// right padding; KH*KW unless ceil mode lets the window reach past them), or inside the input.
static int pool2d_divisor(const int oh, const int ow, const int countIncludePadding, const int PB, const int PR,
                          POOL_GEOMETRY) {
    if (countIncludePadding) {
        return kiln_taps_inside(oh * SH, DH, KH, PT + H + PB) * kiln_taps_inside(ow * SW, DW, KW, PL + W + PR);
    }
    return kiln_taps_inside(oh * SH - PT, DH, KH, H) * kiln_taps_inside(ow * SW - PL, DW, KW, W);
}

__kernel void pool2d_forward_avg(__global const float *x, __global float *y, const int countIncludePadding,
                                 const int PB, const int PR, POOL_GEOMETRY) {
    const int index = (int)get_global_id(0);
    if (index >= P * OH * OW) {
        return;
    }
    int ow, oh;
    const int plane = kiln_divide(kiln_divide(index, OW, &ow), OH, &oh);
    __global const float *xPlane = x + (size_t)plane * H * W;
    float sum = 0.0f;
    POOL_FOR_EACH_TAP(ih, iw, oh, ow) {
        sum += xPlane[ih * W + iw];
    }
    const int divisor = pool2d_divisor(oh, ow, countIncludePadding, PB, PR, P, H, W, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW);
    y[index] = divisor > 0 ? sum / (float)divisor : 0.0f;
}

__kernel void pool2d_backward_max(__global const float *x, __global const float *dy, __global float *dx,
                                  POOL_GEOMETRY) {
    const int index = (int)get_global_id(0);
    if (index >= P * H * W) {
        return;
    }
    int iw, ih;
    const int plane = kiln_divide(kiln_divide(index, W, &iw), H, &ih);
    __global const float *xPlane = x + (size_t)plane * H * W;
    __global const float *dyPlane = dy + (size_t)plane * OH * OW;
    const int self = ih * W + iw;
    float sum = 0.0f;
    POOL_FOR_EACH_WINDOW(oh, ow, ih, iw) {
        if (pool2d_first_maximum(xPlane, oh, ow, P, H, W, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW) == self) {
            sum += dyPlane[oh * OW + ow];
        }
    }
    dx[index] = sum;
}

__kernel void pool2d_backward_avg(__global const float *dy, __global float *dx, const int countIncludePadding,
                                  const int PB, const int PR, POOL_GEOMETRY) {
    const int index = (int)get_global_id(0);
    if (index >= P * H * W) {
        return;
    }
    int iw, ih;
    const int plane = kiln_divide(kiln_divide(index, W, &iw), H, &ih);
    __global const float *dyPlane = dy + (size_t)plane * OH * OW;
    float sum = 0.0f;
    POOL_FOR_EACH_WINDOW(oh, ow, ih, iw) {
        const int divisor = pool2d_divisor(oh, ow, countIncludePadding, PB, PR, P, H, W, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW);
        sum += dyPlane[oh * OW + ow] / (float)divisor;
    }
    dx[index] = sum;
}

__kernel void pool2d_forward_max_rows(__global const float *x, __global float *y, POOL_GEOMETRY) {
    const int r = (int)get_global_id(0);
    if (r >= P * OH) {
        return;
    }
    const int plane = r / OH;
    const int oh = r - plane * OH;
    __global const float *xPlane = x + (size_t)plane * H * W;
    __global float *yRow = y + (size_t)r * OW;
    for (int ow = 0; ow < OW; ++ow) {
        const int winner = pool2d_first_maximum(xPlane, oh, ow, P, H, W, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW);
        yRow[ow] = winner >= 0 ? xPlane[winner] : 0.0f;
    }
}

// The odd lanes of a float16 (common.cl's KILN_ODD16, a device quirk's switch) and of a float8.
#define pool2d_odd16(v) KILN_ODD16(v)
#define pool2d_odd8(v) ((v).odd)

__kernel void pool2d_forward_max_2x2(__global const float *x, __global float *y, const int P, const int H, const int W,
                                     const int OH, const int OW) {
    const int r = (int)get_global_id(0);
    if (r >= P * OH) {
        return;
    }
    const int plane = r / OH;
    const int oh = r - plane * OH;
    __global const float *top = x + (size_t)plane * H * W + (size_t)(2 * oh) * W;
    __global const float *bottom = top + W;
    __global float *yRow = y + (size_t)r * OW;
    // Taps in row-major order; a later tap wins only when strictly greater (the first maximum). A row of at least
    // 8 outputs ends with a block at OW - 8 that overlaps the one before, so only rows shorter than 4 take the scalar
    // loop.
    for (int step = 0; OW >= 8 && step < OW; step += 8) {
        const int ow = min(step, OW - 8);
        const float16 t = vload16(0, top + 2 * ow);
        const float16 u = vload16(0, bottom + 2 * ow);
        const float8 tOdd = pool2d_odd16(t), uOdd = pool2d_odd16(u);
        float8 best = t.even;
        best = select(best, tOdd, tOdd > best);
        best = select(best, u.even, u.even > best);
        best = select(best, uOdd, uOdd > best);
        vstore8(best, 0, yRow + ow);
    }
    // Rows of 4 to 7 outputs: the same with 4 at a time.
    for (int step = 0; OW >= 4 && OW < 8 && step < OW; step += 4) {
        const int ow = min(step, OW - 4);
        const float8 t = vload8(0, top + 2 * ow);
        const float8 u = vload8(0, bottom + 2 * ow);
        float4 best = t.even;
        best = select(best, t.odd, t.odd > best);
        best = select(best, u.even, u.even > best);
        best = select(best, u.odd, u.odd > best);
        vstore4(best, 0, yRow + ow);
    }
    for (int ow = 0; OW < 4 && ow < OW; ++ow) {
        float best = top[2 * ow];
        best = top[2 * ow + 1] > best ? top[2 * ow + 1] : best;
        best = bottom[2 * ow] > best ? bottom[2 * ow] : best;
        best = bottom[2 * ow + 1] > best ? bottom[2 * ow + 1] : best;
        yRow[ow] = best;
    }
}

__kernel void pool2d_backward_max_disjoint_rows(__global const float *x, __global const float *dy, __global float *dx,
                                                POOL_GEOMETRY) {
    const int r = (int)get_global_id(0);
    if (r >= P * OH) {
        return;
    }
    const int plane = r / OH;
    const int oh = r - plane * OH;
    __global const float *xPlane = x + (size_t)plane * H * W;
    __global float *dxPlane = dx + (size_t)plane * H * W;
    __global const float *dyRow = dy + (size_t)r * OW;
    for (int ow = 0; ow < OW; ++ow) {
        const int winner = pool2d_first_maximum(xPlane, oh, ow, P, H, W, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW);
        const float gradient = dyRow[ow];
        POOL_FOR_EACH_TAP(ih, iw, oh, ow) {
            dxPlane[ih * W + iw] = ih * W + iw == winner ? gradient : 0.0f;
        }
    }
}

// The lanes of `even` and `odd` (WIDTH each) interleaved into one vector of twice the width, written as a vector
// literal (common.cl's KILN_INTERLEAVE16 for 8 lanes): assignments to `.even` and `.odd` become shuffles with
// undefined lanes, which crash oclgrind 21.10's uninitialized-value checker
// (Tools/oclgrind-repros/shuffle-undef-uninitialized.c).
inline float8 pool2d_interleave4(const float4 even, const float4 odd) {
    return (float8)(even.s0, odd.s0, even.s1, odd.s1, even.s2, odd.s2, even.s3, odd.s3);
}
#define pool2d_interleave8(even, odd) KILN_INTERLEAVE16(even, odd)

// WIDTH windows of pool2d_backward_max_2x2 from window `start` (DOUBLE = 2 * WIDTH input columns): each window's
// winning tap (0 top left, 1 top right, 2 bottom left, 3 bottom right; a later tap wins only when strictly greater, so
// ties keep the first maximum), then dy to the winner and 0 to the other three taps, stored as interleaved vectors
// (pool2d_interleave4/8 below). The winner is an index compared with each tap rather than masks combined with `&` and
// `~`: oclgrind 21.10 evaluates the negated comparison masks that LLVM makes of `a & ~b` wrongly and routed gradients
// to the wrong tap (Tools/oclgrind-repros/vector-mask-not.c).
#define POOL_2X2_BACKWARD_BLOCK(WIDTH, DOUBLE, start)                                                          \
    do {                                                                                                       \
        const int ow = (start);                                                                                \
        const float##DOUBLE t = vload##DOUBLE(0, top + 2 * ow);                                               \
        const float##DOUBLE u = vload##DOUBLE(0, bottom + 2 * ow);                                            \
        const float##WIDTH g = vload##WIDTH(0, dyRow + ow);                                                   \
        const float##WIDTH zero = (float##WIDTH)(0.0f);                                                        \
        const float##WIDTH tOdd = pool2d_odd##DOUBLE(t), uOdd = pool2d_odd##DOUBLE(u);                        \
        float##WIDTH best = t.even;                                                                            \
        int##WIDTH winner = (int##WIDTH)(0);                                                                   \
        const int##WIDTH beats1 = tOdd > best;                                                                 \
        best = select(best, tOdd, beats1);                                                                     \
        winner = select(winner, (int##WIDTH)(1), beats1);                                                      \
        const int##WIDTH beats2 = u.even > best;                                                               \
        best = select(best, u.even, beats2);                                                                   \
        winner = select(winner, (int##WIDTH)(2), beats2);                                                      \
        winner = select(winner, (int##WIDTH)(3), uOdd > best);                                                 \
        vstore##DOUBLE(pool2d_interleave##WIDTH(select(zero, g, winner == (int##WIDTH)(0)),                   \
                                              select(zero, g, winner == (int##WIDTH)(1))),                     \
                       0, dxTop + 2 * ow);                                                                     \
        vstore##DOUBLE(pool2d_interleave##WIDTH(select(zero, g, winner == (int##WIDTH)(2)),                     \
                                              select(zero, g, winner == (int##WIDTH)(3))),                     \
                       0, dxBottom + 2 * ow);                                                                  \
    } while (0)

__kernel void pool2d_backward_max_2x2(__global const float *x, __global const float *dy, __global float *dx,
                                      const int P, const int H, const int W, const int OH, const int OW) {
    const int r = (int)get_global_id(0);
    if (r >= P * OH) {
        return;
    }
    const int plane = r / OH;
    const int oh = r - plane * OH;
    const size_t offset = (size_t)plane * H * W + (size_t)(2 * oh) * W;
    __global const float *top = x + offset;
    __global const float *bottom = top + W;
    __global float *dxTop = dx + offset;
    __global float *dxBottom = dxTop + W;
    __global const float *dyRow = dy + (size_t)r * OW;
    // 8 (or, in rows of 4 to 7 windows, 4) windows at a time: POOL_2X2_BACKWARD_BLOCK. A row ends with a block at
    // OW - 8 (OW - 4) that overlaps the one before (rewriting the same values), so only rows shorter than 4 take
    // the scalar loop, which cost ten times the vector blocks on pocl.
    if (OW >= 8) {
        for (int step = 0; step < OW; step += 8) {
            POOL_2X2_BACKWARD_BLOCK(8, 16, min(step, OW - 8));
        }
    } else if (OW >= 4) {
        for (int step = 0; step < OW; step += 4) {
            POOL_2X2_BACKWARD_BLOCK(4, 8, min(step, OW - 4));
        }
    }
    for (int ow = 0; OW < 4 && ow < OW; ++ow) {
        const float t00 = top[2 * ow], t01 = top[2 * ow + 1], t10 = bottom[2 * ow], t11 = bottom[2 * ow + 1];
        // The first maximum in row-major tap order: a later tap wins only when strictly greater.
        int winner = 0;
        float best = t00;
        if (t01 > best) { best = t01; winner = 1; }
        if (t10 > best) { best = t10; winner = 2; }
        if (t11 > best) { winner = 3; }
        const float g = dyRow[ow];
        dxTop[2 * ow] = winner == 0 ? g : 0.0f;
        dxTop[2 * ow + 1] = winner == 1 ? g : 0.0f;
        dxBottom[2 * ow] = winner == 2 ? g : 0.0f;
        dxBottom[2 * ow + 1] = winner == 3 ? g : 0.0f;
    }
}
