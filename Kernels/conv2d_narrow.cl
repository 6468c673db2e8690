// conv2d_narrow.cl: stride-1 convolution with few taps per output (C * KH * KW small, e.g. a network's first
// layer over 1 or 3 input channels), forward and weight gradient, float32, 8 adjacent outputs per work item.
//
// Why it exists: with K = C * KH * KW of 9 the GEMM path spends its time moving memory (im2col, a product
// with K = 9, a layout pass), and pocl does not vectorise one-output-per-work-item direct kernels. Here each
// work item holds a row segment of 8 outputs as one float8, loads its C * KH * KW input vectors once from a
// zero-padded copy of x (no bounds checks in the loops), and reuses them for every output channel.
//
// Build-time geometry (defines): NARROW_C (input channels), NARROW_KH, NARROW_KW (kernel height and width).
// The loops over taps are unrolled on these so the taps and accumulators live in registers.
// Layouts (contiguous, row-major): x [N, C, H, W]; xp [N, C, HP, WP] with HP = OH + KH - 1, WP = OW + KW - 1;
// w [O, C, KH, KW]; b [O]; y, dy [N, O, OH, OW]. Stride and dilation are 1, groups 1; padding is any
// (PT, PL top and left; the bottom and right padding follow from OH and OW). Requires OW >= 8.
// A row's last segment starts at OW - 8 (it overlaps the one before when OW is not a multiple of 8), so every
// load and store is a whole float8 inside the row.
// Reference: ReferenceBackend.conv2d and conv2dBackwardWeight (Sources/KilnReference/Reference+Convolution.swift).
// Tests: Tests/KilnOpenCLTests/NarrowConvolutionKernelTests.swift.
//
// conv2d_narrow_pad:             one work item per xp element: x, or 0 in the padding.
// conv2d_narrow_forward:         work item (segment, oh, n): y[n, :, oh, segment] for every output channel, from its
//                                bias (when hasBias), then the activation (codes as gemm.cl: 0 none, 1 relu,
//                                2 leaky ReLU with slope, 3 sigmoid, 4 tanh).
// conv2d_narrow_backward_weight: work item (o, s): the weight gradient of output channel o summed over the images
//                                of slice s (SN images each), written as part[s][c, kh, kw][o], the layout
//                                conv2d.cl's conv2d_weight_slices_sum adds up.

#if !defined(NARROW_C) || !defined(NARROW_KH) || !defined(NARROW_KW)
#error "conv2d_narrow.cl needs NARROW_C, NARROW_KH and NARROW_KW"
#endif
#define NARROW_TAPS (NARROW_C * NARROW_KH * NARROW_KW)

__kernel void conv2d_narrow_pad(__global const float *x, __global float *xp, const int H, const int W, const int PT,
                                const int PL, const int HP, const int WP, const int planes) {
    const int column = (int)get_global_id(0), row = (int)get_global_id(1), plane = (int)get_global_id(2);
    if (column >= WP || row >= HP || plane >= planes) {
        return;
    }
    const int ih = row - PT, iw = column - PL;
    const bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
    xp[((size_t)plane * HP + row) * WP + column] = inside ? x[((size_t)plane * H + ih) * W + iw] : 0.0f;
}

// The activations (codes as gemm.cl's epilogue), on 8 outputs.
#define NARROW_IDENTITY(x) (x)
#define NARROW_RELU(x) fmax((x), (float8)(0.0f))
#define NARROW_LEAKY_RELU(x) select(slope * (x), (x), isgreater((x), (float8)(0.0f)))
#define NARROW_SIGMOID(x) select(exp(x) / (1.0f + exp(x)), 1.0f / (1.0f + exp(-(x))), isgreaterequal((x), (float8)(0.0f)))
#define NARROW_TANH(x) tanh(x)

// Every output channel's 8 outputs from the taps, then EPILOGUE: one loop per activation, so the loop that runs
// holds no other activation's code (a switch inside it made the taps spill out of registers).
#define NARROW_CHANNELS(EPILOGUE)                                                                              \
    for (int o = 0; o < O; ++o) {                                                                              \
        float8 sum = (float8)(hasBias ? b[o] : 0.0f);                                                          \
        __global const float *weights = w + (size_t)o * NARROW_TAPS;                                           \
        _Pragma("unroll") for (int t = 0; t < NARROW_TAPS; ++t) {                                              \
            sum = fma(taps[t], (float8)(weights[t]), sum);                                                     \
        }                                                                                                      \
        vstore8(EPILOGUE(sum), 0, out + (size_t)o * OH * OW);                                                  \
    }

__kernel void conv2d_narrow_forward(__global const float *xp, __global const float *w, __global const float *b,
                                    const int hasBias, __global float *y, const int activation, const float slope,
                                    const int N, const int O, const int OH, const int OW) {
    const int segment = (int)get_global_id(0), oh = (int)get_global_id(1), n = (int)get_global_id(2);
    if (segment * 8 >= OW || oh >= OH || n >= N) {
        return;
    }
    const int HP = OH + NARROW_KH - 1, WP = OW + NARROW_KW - 1;
    const int ow0 = min(segment * 8, OW - 8);
    float8 taps[NARROW_TAPS];
#pragma unroll
    for (int c = 0; c < NARROW_C; ++c) {
#pragma unroll
        for (int kh = 0; kh < NARROW_KH; ++kh) {
            __global const float *row = xp + (((size_t)n * NARROW_C + c) * HP + oh + kh) * WP + ow0;
#pragma unroll
            for (int kw = 0; kw < NARROW_KW; ++kw) {
                taps[(c * NARROW_KH + kh) * NARROW_KW + kw] = vload8(0, row + kw);
            }
        }
    }
    __global float *out = y + ((size_t)n * O * OH + oh) * OW + ow0;
    switch (activation) {
    case 1: NARROW_CHANNELS(NARROW_RELU) break;
    case 2: NARROW_CHANNELS(NARROW_LEAKY_RELU) break;
    case 3: NARROW_CHANNELS(NARROW_SIGMOID) break;
    case 4: NARROW_CHANNELS(NARROW_TANH) break;
    default: NARROW_CHANNELS(NARROW_IDENTITY) break;
    }
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
        const float4 folded = sums[t].lo + sums[t].hi;
        out[(size_t)t * O] = (folded.x + folded.y) + (folded.z + folded.w);
    }
}
