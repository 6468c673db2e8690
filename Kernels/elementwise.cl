// elementwise.cl: one output element per work item, no reductions.
//
// Entry points and what they compute (n = number of output elements; every buffer is float32,
// contiguous and row-major; launches are rounded up past n, so every kernel bounds-checks):
//   fill_forward              out[i] = value.
//   dropout_mask_forward      out[i] = 0 when DropoutHash.uniform(seed, i) < p, else kept = 1 / (1 - p).
//                             The hash is SplitMix64's finaliser of seed ^ (i * golden ratio) in ulong
//                             arithmetic, bit-exact with Swift; u = (z >> 40) / 2^24, so u < p is the
//                             integer test (z >> 40) < threshold with threshold = ceil(p * 2^24) (host).
//   unary_forward             out[i] = f(x[i]) for the UnaryFunction code `function` (table below).
//   unary_backward            out[i] = dy[i] * f'(x[i]) (the op unaryGradient).
//   binary_forward            out[i] = f(a[i], b[i]) when a, b and out have the same shape.
//   binary_forward_scalar     out[i] = f(a[0], b[i]) (scalarOperand = 0) or f(a[i], b[0]) (scalarOperand = 1):
//                             one operand holds a single element, the other has the output's shape.
//   binary_forward_broadcast  out[i] = f(a[A(i)], b[B(i)]) with NumPy broadcasting: i is split into
//                             coordinates c0..c5 of the output shape D0..D5 (rank padded to 6 with
//                             leading 1s, c5 fastest), and A(i) = sum ck * ak with ak = 0 on broadcast
//                             axes (Shape.broadcastStrides(to:)); likewise B(i).
//   binary_forward_channel    the output seen as rows of `inner` elements (row = o * channels + c), one operand
//                             of the output's shape ("full") and the other ("small") holding [channels]:
//                             out[row, k] = f(full[row, k], small[row % channels]) (or with the operands swapped
//                             when smallOperand = 0, i.e. a is the small one). Covers [1, C, 1] against [N, C, I]
//                             after axis merging (batch norm's per-channel operands). Work item j handles the run
//                             k = (j % chunks) * run ..< min(+run, inner) of row j / chunks: one division per run,
//                             none per element, and the operand is a constant within the run.
//   binary_forward_row        the output seen as rows of `inner` elements, full operand as above, small [inner]:
//                             out[row, k] = f(full[row, k], small[k]) (row broadcast [1, K] against [M, K]); the same
//                             runs as binary_forward_channel.
//   one_hot_forward           labels [N] (class indices as floats) -> out [N, K]: out[n, k] = 1 when
//                             labels[n] is the whole number k, else 0 (so a label outside 0..<K, or NaN,
//                             gives a zero row).
//   bias_add_forward          x [N, C, R] (R = product of the axes after 1), bias [C]:
//                             out[n, c, r] = x[n, c, r] + bias[c].
// Reference: Sources/KilnReference/Reference+Elementwise.swift (ReferenceBackend.fill, dropoutMask,
// unary, unaryGradient, binary, oneHot) and ReferenceBackend.biasAdd.
// Tests: Tests/KilnOpenCLTests/ElementwiseKernelTests.swift.
// Tunables: none. Host side: OpenCLBackend+Elementwise.swift (function codes, launch sizes).
//
// Function codes (must match OpenCLBackend+Elementwise.swift):
//   unary:  0 negate, 1 exp, 2 log, 3 sqrt, 4 abs, 5 relu, 6 leakyRelu(slope), 7 sigmoid, 8 tanh,
//           9 softplus.
//   binary: 0 add, 1 subtract, 2 multiply, 3 divide, 4 power, 5 maximum, 6 minimum, 7 equal,
//           8 greater.
// Conventions fixed by the design: relu'(0) = 0, abs'(0) = 0, leakyRelu'(0) = slope; maximum and
// minimum follow Swift.max / Swift.min (b >= a ? b : a and b < a ? b : a).

/// The logistic function, written so that neither branch overflows: e^x / (1 + e^x) for x < 0.
inline float kiln_sigmoid(const float x) {
    if (x >= 0.0f) {
        return 1.0f / (1.0f + exp(-x));
    }
    const float e = exp(x);
    return e / (1.0f + e);
}

/// 1 - tanh(x)^2, written as 4 e / (1 + e)^2 with e = exp(-2|x|): 1 - t * t cancels once |x| > 4,
/// losing about 1e-7 absolute (a large relative error where the derivative is small).
inline float kiln_sech_squared(const float x) {
    const float e = exp(-2.0f * fabs(x));
    const float denominator = 1.0f + e;
    return 4.0f * e / (denominator * denominator);
}

inline float unary_apply(const int function, const float x, const float slope) {
    switch (function) {
    case 0: return -x;
    case 1: return exp(x);
    case 2: return log(x);
    case 3: return sqrt(x);
    case 4: return fabs(x);
    case 5: return x > 0.0f ? x : 0.0f;
    case 6: return x > 0.0f ? x : slope * x;
    case 7: return kiln_sigmoid(x);
    case 8: return tanh(x);
    case 9: return fmax(x, 0.0f) + log1p(exp(-fabs(x)));
    default: return NAN;
    }
}

/// f'(x) of the unary function `function`.
inline float unary_derivative(const int function, const float x, const float slope) {
    switch (function) {
    case 0: return -1.0f;
    case 1: return exp(x);
    case 2: return 1.0f / x;
    case 3: return 0.5f / sqrt(x);
    case 4: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
    case 5: return x > 0.0f ? 1.0f : 0.0f;
    case 6: return x > 0.0f ? 1.0f : slope;
    // s (1 - s) as s(x) s(-x): 1 - s(x) would cancel for large x.
    case 7: return kiln_sigmoid(x) * kiln_sigmoid(-x);
    case 8: return kiln_sech_squared(x);
    case 9: return kiln_sigmoid(x);
    default: return NAN;
    }
}

inline float binary_apply(const int function, const float a, const float b) {
    switch (function) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a / b;
    case 4: return pow(a, b);
    case 5: return b >= a ? b : a;
    case 6: return b < a ? b : a;
    case 7: return a == b ? 1.0f : 0.0f;
    case 8: return a > b ? 1.0f : 0.0f;
    default: return NAN;
    }
}

__kernel void fill_forward(__global float *out, const int n, const float value) {
    const int i = (int)get_global_id(0);
    if (i < n) {
        out[i] = value;
    }
}

/// The seed arrives as two 32-bit halves (kernel arguments are ints); `threshold` = ceil(p * 2^24).
__kernel void dropout_mask_forward(
    __global float *out, const int n, const int seedLow, const int seedHigh, const int threshold, const float kept) {
    const int i = (int)get_global_id(0);
    if (i >= n) {
        return;
    }
    const ulong seed = ((ulong)(uint)seedHigh << 32) | (ulong)(uint)seedLow;
    ulong z = seed ^ ((ulong)i * 0x9E3779B97F4A7C15UL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    z = z ^ (z >> 31);
    out[i] = (long)(z >> 40) < (long)threshold ? 0.0f : kept;
}

__kernel void unary_forward(
    __global const float *x, __global float *out, const int n, const int function, const float slope) {
    const int i = (int)get_global_id(0);
    if (i < n) {
        out[i] = unary_apply(function, x[i], slope);
    }
}

__kernel void unary_backward(
    __global const float *x, __global const float *dy, __global float *out, const int n, const int function,
    const float slope) {
    const int i = (int)get_global_id(0);
    if (i < n) {
        out[i] = dy[i] * unary_derivative(function, x[i], slope);
    }
}

__kernel void binary_forward(
    __global const float *a, __global const float *b, __global float *out, const int n, const int function) {
    const int i = (int)get_global_id(0);
    if (i < n) {
        out[i] = binary_apply(function, a[i], b[i]);
    }
}

__kernel void binary_forward_scalar(
    __global const float *a, __global const float *b, __global float *out, const int n, const int function,
    const int scalarOperand) {
    const int i = (int)get_global_id(0);
    if (i < n) {
        out[i] = binary_apply(function, scalarOperand == 0 ? a[0] : a[i], scalarOperand == 1 ? b[0] : b[i]);
    }
}

__kernel void binary_forward_broadcast(
    __global const float *a, __global const float *b, __global float *out, const int n, const int function,
    const int d0, const int d1, const int d2, const int d3, const int d4, const int d5,
    const int a0, const int a1, const int a2, const int a3, const int a4, const int a5,
    const int b0, const int b1, const int b2, const int b3, const int b4, const int b5) {
    const int i = (int)get_global_id(0);
    if (i >= n) {
        return;
    }
    // Peel the coordinates off from the fastest axis (5) to the slowest (0); c0 is what remains.
    int rest = i;
    int c;
    int offsetA = 0;
    int offsetB = 0;
    c = rest % d5; rest /= d5; offsetA += c * a5; offsetB += c * b5;
    c = rest % d4; rest /= d4; offsetA += c * a4; offsetB += c * b4;
    c = rest % d3; rest /= d3; offsetA += c * a3; offsetB += c * b3;
    c = rest % d2; rest /= d2; offsetA += c * a2; offsetB += c * b2;
    c = rest % d1; rest /= d1; offsetA += c * a1; offsetB += c * b1;
    offsetA += rest * a0;
    offsetB += rest * b0;
    (void)d0;
    out[i] = binary_apply(function, a[offsetA], b[offsetB]);
}

// The run loop of the row kernels, once per (function, which operand is small), so that the body has a constant
// function code and no switch per element. SMALL(k) is the small operand's value at position k of the row.
#define KILN_ROW_CASE(CODE, SMALL)                                                                             \
    case CODE:                                                                                                 \
        if (smallOperand == 0) {                                                                               \
            for (int k = start; k < end; ++k) {                                                                \
                outRow[k] = binary_apply(CODE, SMALL(k), fullRow[k]);                                          \
            }                                                                                                  \
        } else {                                                                                               \
            for (int k = start; k < end; ++k) {                                                                \
                outRow[k] = binary_apply(CODE, fullRow[k], SMALL(k));                                          \
            }                                                                                                  \
        }                                                                                                      \
        break;

#define KILN_ROW_SWITCH(SMALL)                                                                                 \
    switch (function) {                                                                                        \
        KILN_ROW_CASE(0, SMALL)                                                                                \
        KILN_ROW_CASE(1, SMALL)                                                                                \
        KILN_ROW_CASE(2, SMALL)                                                                                \
        KILN_ROW_CASE(3, SMALL)                                                                                \
        KILN_ROW_CASE(4, SMALL)                                                                                \
        KILN_ROW_CASE(5, SMALL)                                                                                \
        KILN_ROW_CASE(6, SMALL)                                                                                \
        KILN_ROW_CASE(7, SMALL)                                                                                \
        KILN_ROW_CASE(8, SMALL)                                                                                \
    default:                                                                                                   \
        for (int k = start; k < end; ++k) {                                                                    \
            outRow[k] = NAN;                                                                                   \
        }                                                                                                      \
        break;                                                                                                 \
    }

#define KILN_SMALL_CONSTANT(k) rowValue
#define KILN_SMALL_VECTOR(k) small[k]

/// Work item j: row j / chunks, elements (j % chunks) * run ..< min(that + run, inner) of it.
__kernel void binary_forward_channel(
    __global const float *a, __global const float *b, __global float *out, const int rows, const int function,
    const int smallOperand, const int channels, const int inner, const int chunks, const int run) {
    const int j = (int)get_global_id(0);
    if (j >= rows * chunks) {
        return;
    }
    const int row = j / chunks;
    const int start = (j - row * chunks) * run;
    const int end = min(start + run, inner);
    __global const float *small = smallOperand == 0 ? a : b;
    __global const float *fullRow = (smallOperand == 0 ? b : a) + (size_t)row * inner;
    __global float *outRow = out + (size_t)row * inner;
    const float rowValue = small[row % channels];
    KILN_ROW_SWITCH(KILN_SMALL_CONSTANT)
}

__kernel void binary_forward_row(
    __global const float *a, __global const float *b, __global float *out, const int rows, const int function,
    const int smallOperand, const int inner, const int chunks, const int run) {
    const int j = (int)get_global_id(0);
    if (j >= rows * chunks) {
        return;
    }
    const int row = j / chunks;
    const int start = (j - row * chunks) * run;
    const int end = min(start + run, inner);
    __global const float *small = smallOperand == 0 ? a : b;
    __global const float *fullRow = (smallOperand == 0 ? b : a) + (size_t)row * inner;
    __global float *outRow = out + (size_t)row * inner;
    KILN_ROW_SWITCH(KILN_SMALL_VECTOR)
}

__kernel void one_hot_forward(__global const float *labels, __global float *out, const int n, const int classes) {
    const int i = (int)get_global_id(0);
    if (i >= n) {
        return;
    }
    const int row = i / classes;
    const int column = i % classes;
    const float label = labels[row];
    // Comparisons with NaN are false, so a NaN label gives a zero row.
    const bool valid = label >= 0.0f && label < (float)classes && label == trunc(label);
    out[i] = (valid && (int)label == column) ? 1.0f : 0.0f;
}

__kernel void bias_add_forward(
    __global const float *x, __global const float *bias, __global float *out, const int n, const int channels,
    const int inner) {
    const int i = (int)get_global_id(0);
    if (i < n) {
        out[i] = x[i] + bias[(i / inner) % channels];
    }
}
