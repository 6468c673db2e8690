// conv2d.cl: 2-D cross-correlation (NCHW input, OIHW weight) and its two gradients, float32, direct.
//
// Layouts (contiguous, row-major):
//   x  [N, C, H, W]        w  [O, C/G, KH, KW]     b  [O]     y, dy  [N, O, OH, OW]
// with G groups: output channel o belongs to group g = o / (O/G) and reads input channels g*(C/G) ..< (g+1)*(C/G)
// (depthwise: G = C). Output (oh, ow) at tap (kh, kw) reads input row ih = oh*SH - PT + kh*DH and column
// iw = ow*SW - PL + kw*DW; taps in the padding (PT, PL top/left; bottom/right only shape OH, OW) read zero.
// Reference: Conv2D, Conv2DBackwardInput, Conv2DBackwardWeight
// (Sources/KilnCore/Ops/Convolution.swift).
// Tests: Tests/KilnOpenCLTests/ConvolutionKernelTests.swift (stride 1-3, asymmetric padding, dilation 1-2,
// groups 1, 2 and depthwise, non-square kernels, with and without bias, all three passes, convTranspose2d).
//
// conv2d_forward:         one work item per y element; sums C/G * KH * KW products (plus b[o] when hasBias).
// conv2d_backward_input:  one work item per dx element; a gather over the (o, kh, kw) whose windows read it:
//                         oh = (ih + PT - kh*DH) / SH when that divides exactly and lies in 0..<OH. No atomics.
// conv2d_backward_weight: one work item per dw element; a gather over n, oh, ow. No atomics.
// These direct kernels serve every geometry; for groups == 1 the backend prefers the GEMM path at the end of this
// file (conv2d_im2col, conv2d_col2im, conv2d_batch_to_rows, conv2d_weight_slices_sum with gemm.cl), 10-20x faster
// on pocl, and on CPU devices conv2d_narrow.cl, conv2d_blocked.cl or conv2d_channels.cl where they apply.
//
// The geometry travels as one int argument list in a fixed order (see CONV_GEOMETRY below).
// Tunables: none yet (direct kernels; launch local size chosen by OpenCLBackend+Convolution.swift).

#include "common.cl"

// The geometry arguments every entry point takes, in this order.
#define CONV_GEOMETRY                                                                                          \
    const int N, const int C, const int H, const int W, const int O, const int OH, const int OW, const int KH,   \
        const int KW, const int SH, const int SW, const int PT, const int PL, const int DH, const int DW,         \
        const int G

__kernel void conv2d_forward(__global const float *x, __global const float *w, __global const float *b,
                             const int hasBias, __global float *y, CONV_GEOMETRY) {
    const int index = (int)get_global_id(0);
    if (index >= N * O * OH * OW) {
        return;
    }
    int ow, oh, o;
    const int n = kiln_divide(kiln_divide(kiln_divide(index, OW, &ow), OH, &oh), O, &o);
    const int channelsPerGroup = C / G;
    const int group = o / (O / G);
    const int ih0 = oh * SH - PT;
    const int iw0 = ow * SW - PL;

    float sum = hasBias ? b[o] : 0.0f;
    for (int c = 0; c < channelsPerGroup; ++c) {
        __global const float *xPlane = x + ((size_t)n * C + group * channelsPerGroup + c) * H * W;
        __global const float *wTaps = w + ((size_t)o * channelsPerGroup + c) * KH * KW;
        KILN_FOR_TAPS(ih, kh, ih0, DH, KH, H) KILN_FOR_TAPS(iw, kw, iw0, DW, KW, W) {
            sum = fma(xPlane[ih * W + iw], wTaps[kh * KW + kw], sum);
        }
    }
    y[index] = sum;
}

__kernel void conv2d_backward_input(__global const float *dy, __global const float *w, __global float *dx,
                                    CONV_GEOMETRY) {
    const int index = (int)get_global_id(0);
    if (index >= N * C * H * W) {
        return;
    }
    int iw, ih, ci;
    const int n = kiln_divide(kiln_divide(kiln_divide(index, W, &iw), H, &ih), C, &ci);
    const int channelsPerGroup = C / G;
    const int outputsPerGroup = O / G;
    const int group = ci / channelsPerGroup;
    const int c = ci - group * channelsPerGroup; // the channel's index inside its group, the I of OIHW

    float sum = 0.0f;
    // The windows (oh, ow) whose tap (kh, kw) reads (ih, iw): oh*SH - PT + kh*DH == ih, likewise for columns.
    KILN_FOR_WINDOWS(oh, kh, ih, PT, DH, KH, SH, OH) KILN_FOR_WINDOWS(ow, kw, iw, PL, DW, KW, SW, OW) {
        for (int oo = 0; oo < outputsPerGroup; ++oo) {
            const int o = group * outputsPerGroup + oo;
            const float gradient = dy[(((size_t)n * O + o) * OH + oh) * OW + ow];
            sum = fma(gradient, w[(((size_t)o * channelsPerGroup + c) * KH + kh) * KW + kw], sum);
        }
    }
    dx[index] = sum;
}

__kernel void conv2d_backward_weight(__global const float *x, __global const float *dy, __global float *dw,
                                     CONV_GEOMETRY) {
    const int channelsPerGroup = C / G;
    const int index = (int)get_global_id(0);
    if (index >= O * channelsPerGroup * KH * KW) {
        return;
    }
    int kw, kh, c;
    const int o = kiln_divide(kiln_divide(kiln_divide(index, KW, &kw), KH, &kh), channelsPerGroup, &c);
    const int group = o / (O / G);
    const int ci = group * channelsPerGroup + c;

    // The output rows (columns) whose tap kh (kw) lands inside the input: 0 <= oh*SH - PT + kh*DH < H.
    const int rowShift = PT - kh * DH;
    const int columnShift = PL - kw * DW;
    const int ohStart = rowShift > 0 ? (rowShift + SH - 1) / SH : 0;
    const int ohEnd = min(OH, (H - 1 + rowShift) >= 0 ? (H - 1 + rowShift) / SH + 1 : 0);
    const int owStart = columnShift > 0 ? (columnShift + SW - 1) / SW : 0;
    const int owEnd = min(OW, (W - 1 + columnShift) >= 0 ? (W - 1 + columnShift) / SW + 1 : 0);

    float sum = 0.0f;
    for (int n = 0; n < N; ++n) {
        __global const float *xPlane = x + ((size_t)n * C + ci) * H * W;
        __global const float *dyPlane = dy + ((size_t)n * O + o) * OH * OW;
        for (int oh = ohStart; oh < ohEnd; ++oh) {
            const int ih = oh * SH - rowShift;
            for (int ow = owStart; ow < owEnd; ++ow) {
                sum = fma(dyPlane[oh * OW + ow], xPlane[ih * W + ow * SW - columnShift], sum);
            }
        }
    }
    dw[index] = sum;
}

// ---- The GEMM path (groups == 1), chosen by OpenCLBackend+Convolution.swift when the column buffer fits ----
// With Q = C*KH*KW rows q = (c*KH + kh)*KW + kw and P = OH*OW columns p = oh*OW + ow, the column matrix holds
// col[q][n*P + p] = x[n, c, ih, iw] (0 in the padding): every image side by side, so one product covers the batch
// with rows of N*P floats (a per-image product of P = 196 columns ran at half the speed: rows that start off
// vector boundaries and a partial column block in every image). Then, with gemm.cl's gemm_forward:
//   forward          yRows [O, N*P] = w [O, Q] . col [Q, N*P] (+ b[o] as the row start), then conv2d_rows_to_batch
//                    moves yRows[o][n*P + p] to y[n, o, p]
//   backward input   dcol [Q, N*P] = w^T [Q, O] . dyRows [O, N*P] with dyRows[o][n*P + p] = dy[n, o, p]
//                    (conv2d_batch_to_rows), then conv2d_col2im gathers dcol into dx
//   backward weight  the product runs over the batch, so its inner dimension N*P is split into S slices of whole
//                    images, col written slice by slice (conv2d_im2col's sliceImages = N/S), one batched launch:
//                    part[z] [Q, O] = col[z] [Q, N*P/S] . dyT[z] [N*P/S, O] with dyT[n*P + p][o] = dy[n, o, p]
//                    (gemm_transpose of each image's [O, P] block), then conv2d_weight_slices_sum adds the S parts
//                    into dw [O, Q]. No transposed copy of the column matrix, and each slice of col stays in cache
//                    while all of its output columns use it.

// col[z][q][m*P + p] for image n = z*IMG + m, IMG = `sliceImages` (a divisor of N): the batch in N/IMG slices of IMG
// whole images, each slice a [Q, IMG*P] matrix (one slice, IMG = N, is the forward's [Q, N*P]). Work item q*N + n
// writes the P consecutive entries of image n in row q, row by row of the window. One dimension with groups of 64,
// and no divisions per entry: pocl pays a fixed cost per work group (groups of one item cost more than the copy)
// and integer division is slow on CPUs.
__kernel void conv2d_im2col(__global const float *restrict x, __global float *restrict col, const int sliceImages,
                            CONV_GEOMETRY) {
    const int Q = C * KH * KW;
    const int id = (int)get_global_id(0);
    if (id >= N * Q) {
        return;
    }
    int n, kw, kh;
    const int q = kiln_divide(id, N, &n);
    const int c = kiln_divide(kiln_divide(q, KW, &kw), KH, &kh);
    const int slice = n / sliceImages;
    __global const float *xPlane = x + ((size_t)n * C + c) * H * W;
    __global float *out = col + (((size_t)slice * Q + q) * sliceImages + n - slice * sliceImages) * OH * OW;
    // Window column ow reads iw = ow*SW + shift; only ow in owStart ..< owEnd land inside the row, so each row is a
    // zero run, a copy (contiguous when SW == 1, which the compiler vectorises) and a zero run, with no test per entry.
    const int shift = kw * DW - PL;
    const int owStart = min(OW, shift < 0 ? (-shift + SW - 1) / SW : 0);
    const int owEnd = max(owStart, min(OW, W - 1 - shift >= 0 ? (W - 1 - shift) / SW + 1 : 0));
    for (int oh = 0; oh < OH; ++oh, out += OW) {
        const int ih = oh * SH - PT + kh * DH;
        if (ih < 0 || ih >= H) {
            for (int ow = 0; ow < OW; ++ow) {
                out[ow] = 0.0f;
            }
            continue;
        }
        __global const float *xRow = xPlane + ih * W + shift;
        for (int ow = 0; ow < owStart; ++ow) {
            out[ow] = 0.0f;
        }
        if (SW == 1) {
            for (int ow = owStart; ow < owEnd; ++ow) {
                out[ow] = xRow[ow];
            }
        } else {
            for (int ow = owStart; ow < owEnd; ++ow) {
                out[ow] = xRow[ow * SW];
            }
        }
        for (int ow = owEnd; ow < OW; ++ow) {
            out[ow] = 0.0f;
        }
    }
}

// dx[n, c, ih, iw] = the sum of dcol[q][n*P + p] over the (q, p) whose column entry read x[n, c, ih, iw]. One work
// item per dx row (n, c, ih): it zeroes the row, then for each tap (kh, kw) whose window row oh reads ih adds the
// matching run of dcol's row q = (c*KH + kh)*KW + kw into it, so the inner loop has no divisions (a work item per
// element tested divisibility for every tap).
__kernel void conv2d_col2im(__global const float *restrict dcol, __global float *restrict dx, CONV_GEOMETRY) {
    const int index = (int)get_global_id(0);
    if (index >= N * C * H) {
        return;
    }
    int ih, c;
    const int n = kiln_divide(kiln_divide(index, H, &ih), C, &c);
    const int P = OH * OW;
    const size_t rowLength = (size_t)N * P;
    __global float *restrict dxRow = dx + (size_t)index * W;
    for (int iw = 0; iw < W; ++iw) {
        dxRow[iw] = 0.0f;
    }
    // The window rows oh whose tap kh reads row ih (oh*SH - PT + kh*DH == ih).
    KILN_FOR_WINDOWS(oh, kh, ih, PT, DH, KH, SH, OH) {
        for (int kw = 0; kw < KW; ++kw) {
            // Window column ow reads iw = ow*SW + shift at tap kw; keep the ow with 0 <= iw < W.
            const int shift = kw * DW - PL;
            const int owStart = shift < 0 ? (-shift + SW - 1) / SW : 0;
            const int owEnd = min(OW, W - 1 - shift >= 0 ? (W - 1 - shift) / SW + 1 : 0);
            __global const float *source = dcol + (size_t)((c * KH + kh) * KW + kw) * rowLength + (size_t)n * P + oh * OW;
            __global float *restrict target = dxRow + shift;
            if (SW == 1) {
                for (int ow = owStart; ow < owEnd; ++ow) {
                    target[ow] += source[ow];
                }
            } else {
                for (int ow = owStart; ow < owEnd; ++ow) {
                    target[ow * SW] += source[ow];
                }
            }
        }
    }
}

// rows[o][n*P + p] = dy[n][o][p] for dy [N, O, P]: the batch moved inside each output channel's row. One work item
// per run of P floats (index o*N + n), a contiguous copy: a work item per element spent most of its time on the
// integer divisions of its index.
__kernel void conv2d_batch_to_rows(__global const float *dy, __global float *rows, const int batch, const int O,
                                   const int P) {
    const int index = (int)get_global_id(0);
    if (index >= batch * O) {
        return;
    }
    int n;
    const int o = kiln_divide(index, batch, &n);
    __global const float *source = dy + ((size_t)n * O + o) * P;
    __global float *target = rows + (size_t)index * P;
    for (int p = 0; p < P; ++p) {
        target[p] = source[p];
    }
}

// y[n][o][p] = rows[o][n*P + p] for y [N, O, P]: conv2d_batch_to_rows undone, one work item per run of P floats
// (index n*O + o).
__kernel void conv2d_rows_to_batch(__global const float *rows, __global float *y, const int batch, const int O,
                                   const int P) {
    const int index = (int)get_global_id(0);
    if (index >= batch * O) {
        return;
    }
    int o;
    const int n = kiln_divide(index, O, &o);
    __global const float *source = rows + ((size_t)o * batch + n) * P;
    __global float *target = y + (size_t)index * P;
    for (int p = 0; p < P; ++p) {
        target[p] = source[p];
    }
}

// dw[o][q] = the sum over z < slices of part[z][q][o], for the S partial products [S, Q, O] of the weight gradient:
// one work item per dw element (index o*Q + q).
__kernel void conv2d_weight_slices_sum(__global const float *part, __global float *dw, const int slices, const int O,
                                       const int Q) {
    const int index = (int)get_global_id(0);
    if (index >= O * Q) {
        return;
    }
    int q;
    const int o = kiln_divide(index, Q, &q);
    __global const float *source = part + (size_t)q * O + o;
    float sum = 0.0f;
    for (int z = 0; z < slices; ++z, source += (size_t)Q * O) {
        sum += *source;
    }
    dw[index] = sum;
}
