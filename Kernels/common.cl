// common.cl: the prelude Kiln's kernel files include (`#include "common.cl"`): the unary functions and their
// derivatives (one definition of each, so the elementwise kernels and the GEMM, convolution and LSTM epilogues
// compute the same values), index helpers, and the window walks of pooling and convolution.
//
// The function codes (KILN_UNARY_*, KILN_BINARY_*) are not written here: Kiln generates them from its Swift enums
// (Sources/KilnOpenCL/Backend/KernelCodes.swift) and puts them before this file in every program it builds, so the
// host and the kernels cannot disagree. KILN_UNARY_NONE is the "no activation" code of the fused epilogues.
// Reference: Sources/KilnCore/Ops/Unary.swift (each unary function's value and derivative).
// Tests: Tests/KilnOpenCLTests/ElementwiseKernelTests.swift (every function), PreludeKernelTests.swift (the index
// helpers and codes), and every kernel test through the files that include this one.
// Conventions fixed by the design: relu'(0) = 0, abs'(0) = 0, leakyRelu'(0) = slope.

#ifndef KILN_COMMON_CL
#define KILN_COMMON_CL

#ifndef KILN_CODES
#error "common.cl needs the function codes Kiln generates (KernelCodes.header); build it through OpenCLBackend.kernel"
#endif

// Device quirks (Sources/KilnOpenCL/Runtime/DeviceQuirks.swift): KILN_SHUFFLE_BY_BUILTINS rearranges the lanes of
// float16 values with the shuffle builtins (KILN_ODD16, KILN_INTERLEAVE16) instead of swizzles and vector literals,
// which LLVM writes as shufflevectors taking lane 11, for oclgrind's uninitialized-value checker.
#ifndef KILN_SHUFFLE_BY_BUILTINS
#define KILN_SHUFFLE_BY_BUILTINS 0
#endif
#if KILN_SHUFFLE_BY_BUILTINS != 0 && KILN_SHUFFLE_BY_BUILTINS != 1
#error "KILN_SHUFFLE_BY_BUILTINS must be 0 or 1"
#endif

/// Lanes 1, 3, ..., 15 of a float16, as a float8; KILN_HIGH16(v): lanes 8 ... 15.
/// KILN_INTERLEAVE16(even, odd): the float16 even.s0, odd.s0, even.s1, odd.s1, ... of two float8.
#if KILN_SHUFFLE_BY_BUILTINS
#define KILN_ODD16(v) shuffle((v), (uint8)(1, 3, 5, 7, 9, 11, 13, 15))
#define KILN_HIGH16(v) shuffle((v), (uint8)(8, 9, 10, 11, 12, 13, 14, 15))
#define KILN_INTERLEAVE16(even, odd) shuffle2((even), (odd), (uint16)(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15))
#else
#define KILN_ODD16(v) ((v).odd)
#define KILN_HIGH16(v) ((v).hi)
#define KILN_INTERLEAVE16(even, odd)                                                                           \
    ((float16)((even).s0, (odd).s0, (even).s1, (odd).s1, (even).s2, (odd).s2, (even).s3, (odd).s3, (even).s4, (odd).s4, \
               (even).s5, (odd).s5, (even).s6, (odd).s6, (even).s7, (odd).s7))
#endif

#define KILN_PASTE(a, b) a##b
/// `a` and `b` pasted after both are expanded (KILN_JOIN(float, 8) is float8).
#define KILN_JOIN(a, b) KILN_PASTE(a, b)

// ---- Index helpers ----

/// The quotient x / d, with the remainder x - (x / d) * d stored in *remainder. Written from the quotient rather than
/// as x % d: LLVM pairs an x / d with an x % d and marks the pair with a `freeze` instruction, which oclgrind 21.10's
/// uninitialized-value checker cannot execute (the work item stops, its outputs stay unwritten). Same values.
inline int kiln_divide(const int x, const int d, int *remainder) {
    const int quotient = x / d;
    *remainder = x - quotient * d;
    return quotient;
}

/// Whether a window at output position *o reads input position i with tap k: o * stride - pad + k * dilation == i,
/// 0 <= o < outputs. `offset` is i + pad - k * dilation; *o is set when the result is true.
inline bool kiln_window_at(const int offset, const int stride, const int outputs, int *o) {
    if (offset < 0) {
        return false;
    }
    int remainder;
    *o = kiln_divide(offset, stride, &remainder);
    return remainder == 0 && *o < outputs;
}

/// How many of the taps start, start + step, ..., start + (taps - 1) * step lie in 0..<limit.
inline int kiln_taps_inside(const int start, const int step, const int taps, const int limit) {
    int count = 0;
    for (int k = 0; k < taps; ++k) {
        const int position = start + k * step;
        count += (position >= 0 && position < limit) ? 1 : 0;
    }
    return count;
}

/// The window walk along one axis: a `for` header over the taps k < taps at `position = start + k * step` that lie in
/// 0..<limit (taps in the padding are skipped). Two of them nest for a 2-D window, row-major:
///     KILN_FOR_TAPS(ih, kh, oh * SH - PT, DH, KH, H) KILN_FOR_TAPS(iw, kw, ow * SW - PL, DW, KW, W) { ... }
#define KILN_FOR_TAPS(position, k, start, step, taps, limit)                                                   \
    for (int k = 0, position = (start); k < (taps); ++k, position += (step))                                   \
        if (position < 0 || position >= (limit)) {                                                             \
        } else

/// The gather walk along one axis: a `for` header over the taps k < taps and the windows o (0 <= o < outputs) whose
/// tap k reads input position i, o * stride - pad + k * dilation == i. Nested like KILN_FOR_TAPS.
#define KILN_FOR_WINDOWS(o, k, i, pad, dilation, taps, stride, outputs)                                        \
    for (int k = 0, o = 0; k < (taps); ++k)                                                                    \
        if (!kiln_window_at((i) + (pad) - k * (dilation), (stride), (outputs), &o)) {                          \
        } else

// ---- Unary functions and their derivatives ----
// Written once, generic over the float type: a kernel file instantiates them for each type it uses with
// KILN_DEFINE_UNARY(float8) (any of float, float2, float4, float8, float16; instantiating all in every program cost
// 15% more compile time on pocl). Then kiln_unary_float8(code, x, slope) applies the function KILN_UNARY_<name> = code
// to every lane (slope is leakyRelu's; KILN_UNARY_NONE returns x unchanged, an unknown code NaN),
// kiln_unary_derivative_float8(code, x, slope) is f'(x), and kiln_sigmoid_float8 and kiln_sech_squared_float8 are
// the logistic function and 1 - tanh^2 on their own.

/// The logistic function without overflow: with e = exp(-|x|), 1 / (1 + e) for x >= 0 and e / (1 + e) below.
#define KILN_DEFINE_SIGMOID(T)                                                                                 \
    inline T KILN_JOIN(kiln_sigmoid_, T)(const T x) {                                                          \
        const T e = exp(-fabs(x));                                                                             \
        const T denominator = 1.0f + e;                                                                        \
        return select(e / denominator, 1.0f / denominator, isgreaterequal(x, (T)(0.0f)));                      \
    }

/// 1 - tanh(x)^2, written as 4 e / (1 + e)^2 with e = exp(-2|x|): 1 - t * t cancels once |x| > 4, losing about 1e-7
/// absolute (a large relative error where the derivative is small).
#define KILN_DEFINE_SECH_SQUARED(T)                                                                            \
    inline T KILN_JOIN(kiln_sech_squared_, T)(const T x) {                                                     \
        const T e = exp(-2.0f * fabs(x));                                                                      \
        const T denominator = 1.0f + e;                                                                        \
        return 4.0f * e / (denominator * denominator);                                                         \
    }

/// 1 where `mask` holds, else 0.
#define KILN_ONES(T, mask) select((T)(0.0f), (T)(1.0f), (mask))

#define KILN_DEFINE_UNARY(T)                                                                                   \
    KILN_DEFINE_SIGMOID(T)                                                                                     \
    KILN_DEFINE_SECH_SQUARED(T)                                                                                \
    inline T KILN_JOIN(kiln_unary_, T)(const int code, const T x, const float slope) {                         \
        switch (code) {                                                                                        \
        case KILN_UNARY_NONE: return x;                                                                        \
        case KILN_UNARY_NEGATE: return -x;                                                                     \
        case KILN_UNARY_EXP: return exp(x);                                                                    \
        case KILN_UNARY_LOG: return log(x);                                                                    \
        case KILN_UNARY_SQRT: return sqrt(x);                                                                  \
        case KILN_UNARY_ABS: return fabs(x);                                                                   \
        case KILN_UNARY_RELU: return select((T)(0.0f), x, isgreater(x, (T)(0.0f)));                            \
        case KILN_UNARY_LEAKY_RELU: return select(slope * x, x, isgreater(x, (T)(0.0f)));                      \
        case KILN_UNARY_SIGMOID: return KILN_JOIN(kiln_sigmoid_, T)(x);                                        \
        case KILN_UNARY_TANH: return tanh(x);                                                                  \
        case KILN_UNARY_SOFTPLUS: return fmax(x, 0.0f) + log1p(exp(-fabs(x)));                                 \
        case KILN_UNARY_ERF: return erf(x);                                                                    \
        /* x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2. */                                                    \
        case KILN_UNARY_GELU: return 0.5f * x * (1.0f + erf(x * 0.70710678118654752f));                        \
        /* x / 2 (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))). */                                               \
        case KILN_UNARY_GELU_TANH: return 0.5f * x * (1.0f + tanh(0.79788456080286536f * (x + 0.044715f * x * x * x))); \
        case KILN_UNARY_SILU: return x * KILN_JOIN(kiln_sigmoid_, T)(x);                                       \
        default: return (T)(NAN);                                                                              \
        }                                                                                                      \
    }                                                                                                          \
    inline T KILN_JOIN(kiln_unary_derivative_, T)(const int code, const T x, const float slope) {              \
        switch (code) {                                                                                        \
        case KILN_UNARY_NONE: return (T)(1.0f);                                                                \
        case KILN_UNARY_NEGATE: return (T)(-1.0f);                                                             \
        case KILN_UNARY_EXP: return exp(x);                                                                    \
        case KILN_UNARY_LOG: return 1.0f / x;                                                                  \
        case KILN_UNARY_SQRT: return 0.5f / sqrt(x);                                                           \
        case KILN_UNARY_ABS: return KILN_ONES(T, isgreater(x, (T)(0.0f))) - KILN_ONES(T, isless(x, (T)(0.0f))); \
        case KILN_UNARY_RELU: return KILN_ONES(T, isgreater(x, (T)(0.0f)));                                    \
        case KILN_UNARY_LEAKY_RELU: return select((T)(slope), (T)(1.0f), isgreater(x, (T)(0.0f)));             \
        /* s (1 - s) as s(x) s(-x): 1 - s(x) would cancel for large x. */                                      \
        case KILN_UNARY_SIGMOID: return KILN_JOIN(kiln_sigmoid_, T)(x) * KILN_JOIN(kiln_sigmoid_, T)(-x);      \
        case KILN_UNARY_TANH: return KILN_JOIN(kiln_sech_squared_, T)(x);                                      \
        case KILN_UNARY_SOFTPLUS: return KILN_JOIN(kiln_sigmoid_, T)(x);                                       \
        /* 2 / sqrt(pi) e^(-x^2). */                                                                           \
        case KILN_UNARY_ERF: return 1.12837916709551257f * exp(-x * x);                                        \
        /* Phi(x) + x phi(x), phi(x) = e^(-x^2 / 2) / sqrt(2 pi). */                                           \
        case KILN_UNARY_GELU:                                                                                  \
            return 0.5f * (1.0f + erf(x * 0.70710678118654752f)) + x * exp(-0.5f * x * x) * 0.39894228040143268f; \
        /* (1 + t) / 2 + x / 2 (1 - t^2) sqrt(2 / pi) (1 + 3 0.044715 x^2), t = tanh(u): 1 - t^2 as sech^2(u). */ \
        case KILN_UNARY_GELU_TANH: {                                                                           \
            const T u = 0.79788456080286536f * (x + 0.044715f * x * x * x);                                     \
            return 0.5f * (1.0f + tanh(u))                                                                     \
                + 0.5f * x * KILN_JOIN(kiln_sech_squared_, T)(u) * 0.79788456080286536f * (1.0f + 0.134145f * x * x); \
        }                                                                                                      \
        /* sigma(x) (1 + x sigma(-x)): sigma(-x) for 1 - sigma(x), which would cancel for large x. */          \
        case KILN_UNARY_SILU: return KILN_JOIN(kiln_sigmoid_, T)(x) * (1.0f + x * KILN_JOIN(kiln_sigmoid_, T)(-x)); \
        default: return (T)(NAN);                                                                              \
        }                                                                                                      \
    }

/// kiln_product_epilogue(activation, slope, derivative, x, index, value): what the fused products store for element
/// `index` of C whose sum is `value`: activation(value) (the `linear` op), times derivative'(x[index]) when `derivative`
/// is a KILN_UNARY_* code rather than KILN_UNARY_NONE (the `linearGradient` op; x is read only then). `slope` is
/// leakyRelu's, for whichever of the two is leakyRelu. Instantiated by KILN_DEFINE_PRODUCT_EPILOGUE after
/// KILN_DEFINE_UNARY(float), in gemm.cl and gemm_tiled.cl.
#define KILN_DEFINE_PRODUCT_EPILOGUE                                                                           \
    inline float kiln_product_epilogue(const int activation, const float slope, const int derivative,         \
                                       __global const float *x, const size_t index, const float value) {     \
        const float activated = kiln_unary_float(activation, value, slope);                                    \
        return derivative == KILN_UNARY_NONE ? activated                                                       \
                                             : activated * kiln_unary_derivative_float(derivative, x[index], slope); \
    }

// ---- Contiguous float8 access and compensated sums ----

/// Elements per work item of the contiguous kernels (fill, unary, unary_backward, binary_forward and
/// binary_forward_scalar): each work item loads, computes and stores one float8. pocl's work-group
/// vectoriser gives up on a scalar body behind an `if (i < n)` bounds check (measured on pocl 3.1: a
/// ReLU gradient over 1.6 M floats took 5–7 ms as one float per work item and 0.4–0.9 ms as one float8),
/// so these kernels vectorise by hand. The last, partial vector goes through the same float8 code with
/// its missing lanes zero, so an element's result never depends on where it sits.
#define KILN_LANES 8

/// Eight elements of `p` from `base`, lanes past `n` zero.
inline float8 kiln_load8(__global const float *p, const int base, const int n) {
    if (base + KILN_LANES <= n) {
        return vload8(0, p + base);
    }
    float lanes[KILN_LANES] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    for (int k = 0; base + k < n; ++k) {
        lanes[k] = p[base + k];
    }
    return vload8(0, lanes);
}

/// Stores the lanes of `v` that fall before `n`.
inline void kiln_store8(__global float *p, const int base, const int n, const float8 v) {
    if (base + KILN_LANES <= n) {
        vstore8(v, 0, p + base);
        return;
    }
    float lanes[KILN_LANES];
    vstore8(v, 0, lanes);
    for (int k = 0; base + k < n; ++k) {
        p[base + k] = lanes[k];
    }
}

/// Runs the statements `...` for each vector at k = start, start + KILN_LANES, ... below `stop`, statements whose loads
/// and stores go through kiln_load8 and kiln_store8 bounded by `bound` (an identifier, the count they check against):
/// the whole vectors first, with `bound` shadowed by k + KILN_LANES so that every check in them folds away, then the
/// partial last vector, if any, with `bound` itself. `stop` must not exceed `bound`. Each element gets the same
/// operations either way. The checks in the loop cost as much as the work: pocl ran the momentum-SGD update of the
/// MLP's 235,146 parameters in 0.46-0.48 of the time with them folded (AMD EPYC with AVX2, 2026-12-07, a C harness,
/// median of 40 interleaved rounds, results identical).
#define KILN_EACH_VECTOR_BELOW(k, start, stop, bound, ...)       \
    do {                                                         \
        const int kilnStop = (stop);                             \
        int k = (start);                                         \
        for (; k + KILN_LANES <= kilnStop; k += KILN_LANES) {    \
            const int bound = k + KILN_LANES;                    \
            __VA_ARGS__                                          \
        }                                                        \
        for (; k < kilnStop; k += KILN_LANES) {                  \
            __VA_ARGS__                                          \
        }                                                        \
    } while (0)

/// The sum of the eight lanes of `v`, folded as (lo + hi), then (x + y) + (z + w), through a private array: written as
/// vector halves, LLVM makes shuffles with undefined lanes of it, which crash oclgrind 21.10's uninitialized-value
/// checker (Tools/oclgrind-repros/shuffle-undef-uninitialized.c).
inline float kiln_sum8(const float8 v) {
    float lanes[KILN_LANES];
    vstore8(v, 0, lanes);
    return ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
}

/// One step of Kahan summation; the compensation is reset once the sum is no longer finite.
#define KAHAN_ADD(sum, compensation, value)                                   \
    do {                                                                      \
        const float kahanY = (value) - (compensation);                        \
        const float kahanT = (sum) + kahanY;                                  \
        (compensation) = isfinite(kahanT) ? (kahanT - (sum)) - kahanY : 0.0f; \
        (sum) = kahanT;                                                       \
    } while (0)

/// KAHAN_ADD on every lane of a vector of type T.
#define KILN_KAHAN_ADD_VECTOR(T, sum, compensation, value)                                   \
    do {                                                                                     \
        const T kahanY = (value) - (compensation);                                           \
        const T kahanT = (sum) + kahanY;                                                     \
        (compensation) = select((T)(0.0f), (kahanT - (sum)) - kahanY, isfinite(kahanT));     \
        (sum) = kahanT;                                                                      \
    } while (0)

/// KILN_KAHAN_ADD_VECTOR of `value` (an expression in `row`) at row `at`.
#define KILN_KAHAN_ADD_ROW(T, sum, compensation, row, at, value) \
    {                                                             \
        const int row = (at);                                     \
        KILN_KAHAN_ADD_VECTOR(T, sum, compensation, value);       \
    }

/// `result` (of vector type T) = the Kahan-compensated sum of `value` over `row` = start ..< end, `value` an expression
/// in `row`: four compensated chains over consecutive rows (one chain's dependent adds would bound the loop by their
/// latency), combined at the end. reduce.cl's reduce_forward sums with it, and update_sgd_multi sums a gradient's rows
/// with it, so a bias gradient summed in its update equals reduce_sum's, bit for bit.
#define KILN_KAHAN_SUM_ROWS(T, result, start, end, row, value)                                   \
    do {                                                                                         \
        T kilnSum0 = 0.0f, kilnSum1 = 0.0f, kilnSum2 = 0.0f, kilnSum3 = 0.0f;                    \
        T kilnCompensation0 = 0.0f, kilnCompensation1 = 0.0f;                                    \
        T kilnCompensation2 = 0.0f, kilnCompensation3 = 0.0f;                                    \
        const int kilnEnd = (end);                                                               \
        int kilnRow = (start);                                                                   \
        for (; kilnRow + 4 <= kilnEnd; kilnRow += 4) {                                           \
            KILN_KAHAN_ADD_ROW(T, kilnSum0, kilnCompensation0, row, kilnRow, value)              \
            KILN_KAHAN_ADD_ROW(T, kilnSum1, kilnCompensation1, row, kilnRow + 1, value)          \
            KILN_KAHAN_ADD_ROW(T, kilnSum2, kilnCompensation2, row, kilnRow + 2, value)          \
            KILN_KAHAN_ADD_ROW(T, kilnSum3, kilnCompensation3, row, kilnRow + 3, value)          \
        }                                                                                        \
        for (; kilnRow < kilnEnd; ++kilnRow) {                                                   \
            KILN_KAHAN_ADD_ROW(T, kilnSum0, kilnCompensation0, row, kilnRow, value)              \
        }                                                                                        \
        KILN_KAHAN_ADD_VECTOR(T, kilnSum0, kilnCompensation0, kilnSum1);                         \
        KILN_KAHAN_ADD_VECTOR(T, kilnSum0, kilnCompensation0, kilnSum2);                         \
        KILN_KAHAN_ADD_VECTOR(T, kilnSum0, kilnCompensation0, kilnSum3);                         \
        KILN_KAHAN_ADD_VECTOR(T, kilnSum0, kilnCompensation0,                                    \
                              -(kilnCompensation1 + kilnCompensation2 + kilnCompensation3));     \
        (result) = kilnSum0 - kilnCompensation0;                                                 \
    } while (0)

#endif
