// elementwise.cl: elementwise kernels, no reductions; the contiguous ones handle a run of float8 vectors per work item.
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
//   update_momentum_buffer, update_sgd, update_adam_moment, update_adam
//                             the optimizers' update rules (op `update`), described above each kernel.
//   update_sgd_multi          the SGD updates (with their momentum buffers) of up to KILN_UPDATE_SLOTS tensors in one
//                             launch, for a plan's closing group of updates.
// Reference: the ops' loops in Sources/KilnCore/Ops/: Leaves.swift (fill, dropout mask), Unary.swift (unary,
// unaryGradient), Binary.swift, Loss.swift (oneHot), Matmul.swift (biasAdd) and Update.swift.
// Tests: Tests/KilnOpenCLTests/ElementwiseKernelTests.swift.
// Tunables: none. Host side: OpenCLBackend+Elementwise.swift (function codes, launch sizes).
//
// Function codes: KILN_UNARY_* and KILN_BINARY_*, generated from the Swift enums (KernelCodes.swift); the unary
// functions and their derivatives are common.cl's kiln_unary_float8 and kiln_unary_derivative_float8.
// Conventions fixed by the design: maximum and minimum follow Swift.max / Swift.min (b >= a ? b : a and b < a ? b : a).

#include "common.cl"

// Runs the statements `...` for each vector of work item `item`'s run of `run` elements (a multiple of KILN_LANES, the
// host's elementwiseRun) from item * run, clipped to n, with their bounds checks against `n` folded for the whole
// vectors (KILN_EACH_VECTOR_BELOW). On pocl one float8 per work item spent more in the per-item dispatch than in the
// work: a binary add of 802,816 floats took 0.65-1.3 ms, 0.48-0.53 with runs of 1024.
#define KILN_EACH_VECTOR_OF(item, base, n, run, ...) \
    KILN_EACH_VECTOR_BELOW(base, (item) * (run), min((n), ((item) + 1) * (run)), n, __VA_ARGS__)
/// KILN_EACH_VECTOR_OF for work item get_global_id(0).
#define KILN_EACH_VECTOR(base, n, run, ...) KILN_EACH_VECTOR_OF((int)get_global_id(0), base, n, run, __VA_ARGS__)

KILN_DEFINE_UNARY(float8)

inline float8 binary_apply(const int function, const float8 a, const float8 b) {
    switch (function) {
    case KILN_BINARY_ADD: return a + b;
    case KILN_BINARY_SUBTRACT: return a - b;
    case KILN_BINARY_MULTIPLY: return a * b;
    case KILN_BINARY_DIVIDE: return a / b;
    case KILN_BINARY_POWER: return pow(a, b);
    case KILN_BINARY_MAXIMUM: return select(a, b, isgreaterequal(b, a));
    case KILN_BINARY_MINIMUM: return select(a, b, isless(b, a));
    case KILN_BINARY_EQUAL: return KILN_ONES(float8, isequal(a, b));
    case KILN_BINARY_GREATER: return KILN_ONES(float8, isgreater(a, b));
    default: return (float8)(NAN);
    }
}

/// `binary_apply` on one pair of floats (the strided and row kernels).
inline float binary_apply1(const int function, const float a, const float b) {
    return binary_apply(function, (float8)(a), (float8)(b)).s0;
}

__kernel void fill_forward(__global float *out, const int n, const float value, const int run) {
    KILN_EACH_VECTOR(base, n, run,
        kiln_store8(out, base, n, (float8)(value));
    );
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
    __global const float *x, __global float *out, const int n, const int function, const float slope, const int run) {
    KILN_EACH_VECTOR(base, n, run,
        kiln_store8(out, base, n, kiln_unary_float8(function, kiln_load8(x, base, n), slope));
    );
}

__kernel void unary_backward(
    __global const float *x, __global const float *dy, __global float *out, const int n, const int function,
    const float slope, const int run) {
    KILN_EACH_VECTOR(base, n, run,
        kiln_store8(out, base, n, kiln_load8(dy, base, n) * kiln_unary_derivative_float8(function, kiln_load8(x, base, n), slope));
    );
}

__kernel void binary_forward(
    __global const float *a, __global const float *b, __global float *out, const int n, const int function, const int run) {
    KILN_EACH_VECTOR(base, n, run,
        kiln_store8(out, base, n, binary_apply(function, kiln_load8(a, base, n), kiln_load8(b, base, n)));
    );
}

__kernel void binary_forward_scalar(
    __global const float *a, __global const float *b, __global float *out, const int n, const int function,
    const int scalarOperand, const int run) {
    KILN_EACH_VECTOR(base, n, run,
        const float8 left = scalarOperand == 0 ? (float8)(a[0]) : kiln_load8(a, base, n);
        const float8 right = scalarOperand == 1 ? (float8)(b[0]) : kiln_load8(b, base, n);
        kiln_store8(out, base, n, binary_apply(function, left, right));
    );
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
    rest = kiln_divide(rest, d5, &c); offsetA += c * a5; offsetB += c * b5;
    rest = kiln_divide(rest, d4, &c); offsetA += c * a4; offsetB += c * b4;
    rest = kiln_divide(rest, d3, &c); offsetA += c * a3; offsetB += c * b3;
    rest = kiln_divide(rest, d2, &c); offsetA += c * a2; offsetB += c * b2;
    rest = kiln_divide(rest, d1, &c); offsetA += c * a1; offsetB += c * b1;
    offsetA += rest * a0;
    offsetB += rest * b0;
    (void)d0;
    out[i] = binary_apply1(function, a[offsetA], b[offsetB]);
}

// The run loop of the row kernels, once per (function, which operand is small), so that the body has a constant
// function code and no switch per element. SMALL(k) is the small operand's value at position k of the row.
#define KILN_ROW_CASE(CODE, SMALL)                                                                             \
    case CODE:                                                                                                 \
        if (smallOperand == 0) {                                                                               \
            for (int k = start; k < end; ++k) {                                                                \
                outRow[k] = binary_apply1(CODE, SMALL(k), fullRow[k]);                                          \
            }                                                                                                  \
        } else {                                                                                               \
            for (int k = start; k < end; ++k) {                                                                \
                outRow[k] = binary_apply1(CODE, fullRow[k], SMALL(k));                                          \
            }                                                                                                  \
        }                                                                                                      \
        break;

#define KILN_ROW_SWITCH(SMALL)                                                                                 \
    switch (function) {                                                                                        \
        KILN_ROW_CASE(KILN_BINARY_ADD, SMALL)                                                                  \
        KILN_ROW_CASE(KILN_BINARY_SUBTRACT, SMALL)                                                             \
        KILN_ROW_CASE(KILN_BINARY_MULTIPLY, SMALL)                                                             \
        KILN_ROW_CASE(KILN_BINARY_DIVIDE, SMALL)                                                               \
        KILN_ROW_CASE(KILN_BINARY_POWER, SMALL)                                                                \
        KILN_ROW_CASE(KILN_BINARY_MAXIMUM, SMALL)                                                              \
        KILN_ROW_CASE(KILN_BINARY_MINIMUM, SMALL)                                                              \
        KILN_ROW_CASE(KILN_BINARY_EQUAL, SMALL)                                                                \
        KILN_ROW_CASE(KILN_BINARY_GREATER, SMALL)                                                              \
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
    int column;
    const int row = kiln_divide(i, classes, &column);
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

// Optimizer updates (the op `update`, one kernel per UpdateRule; Sources/KilnCore/Ops/Update.swift), eight elements
// per work item like the contiguous kernels above. d = g + decay * p is the gradient with weight decay
// (g itself when decay is 0). `scalars` is the per-step tensor: [lr] for SGD, [lr, c1, c2] for Adam.

/// `gradient` (the vector of g at base) with weight decay.
inline float8 kiln_with_decay(const float8 gradient, __global const float *p, const int base, const int n, const float decay) {
    return decay == 0.0f ? gradient : gradient + kiln_load8(p, base, n) * decay;
}

inline float8 kiln_decayed(__global const float *g, __global const float *p, const int base, const int n, const float decay) {
    return kiln_with_decay(kiln_load8(g, base, n), p, base, n, decay);
}

/// out = buffer * momentum + d.
__kernel void update_momentum_buffer(
    __global const float *buffer, __global const float *g, __global const float *p, __global float *out, const int n,
    const float momentum, const float decay, const int run) {
    KILN_EACH_VECTOR(base, n, run,
        kiln_store8(out, base, n, kiln_load8(buffer, base, n) * momentum + kiln_decayed(g, p, base, n, decay));
    );
}

/// out = p - lr * step with step = d (mode 0), the new momentum buffer (mode 1) or d + buffer * momentum
/// (mode 2, Nesterov). Without momentum the host passes p as `buffer`; it is not read.
__kernel void update_sgd(
    __global const float *p, __global const float *g, __global const float *buffer, __global const float *scalars,
    __global float *out, const int n, const int mode, const float momentum, const float decay, const int run) {
    KILN_EACH_VECTOR(base, n, run,
        float8 step = kiln_decayed(g, p, base, n, decay);
        if (mode == 1) {
            step = kiln_load8(buffer, base, n);
        } else if (mode == 2) {
            step = step + kiln_load8(buffer, base, n) * momentum;
        }
        kiln_store8(out, base, n, kiln_load8(p, base, n) - scalars[0] * step);
    );
}

/// Many tensors' SGD updates in one launch (the multi-tensor form of update_momentum_buffer followed by update_sgd,
/// with the same float operations per element, so the results are bit-identical). Slot k holds one parameter: p (read),
/// g, the momentum buffer v (read, then written to vOut; unused in mode 0), pOut and n elements; an unused slot has
/// n = 0. g holds `rows` rows of n, summed as reduce_sum sums them (a bias's gradient over a batch, which plans fold
/// into its update rather than a reduce_sum launch; one row is the gradient itself). Work item i updates the i-th run
/// of `run` elements (the host's elementwiseRun), counting each slot's runs in slot order. kiln_sgd_update8 is inlined
/// by force: pocl's compiler left it a call per vector. Modes as update_sgd: 0 plain, 1 momentum, 2 Nesterov.
#define KILN_UPDATE_SLOTS 8

inline __attribute__((always_inline)) void kiln_sgd_update8(
    __global const float *p, const float8 gradient, __global const float *v, __global float *pOut, __global float *vOut,
    const int n, const int base, const int mode, const float momentum, const float decay, const float rate) {
    const float8 d = kiln_with_decay(gradient, p, base, n, decay);
    float8 step = d;
    if (mode != 0) {
        const float8 buffer = kiln_load8(v, base, n) * momentum + d;
        kiln_store8(vOut, base, n, buffer);
        step = mode == 1 ? buffer : d + buffer * momentum;
    }
    kiln_store8(pOut, base, n, kiln_load8(p, base, n) - rate * step);
}

/// The vector at `base` of the sum of g's `rows` rows, `rowLength` floats apart (`n` bounds the loads), summed as
/// reduce_forward sums a reduce_sum over axis 0 (KILN_KAHAN_SUM_ROWS), so it equals that op's result bit for bit.
inline float8 kiln_rows_sum8(__global const float *g, const int rows, const int rowLength, const int base, const int n) {
    float8 sum;
    KILN_KAHAN_SUM_ROWS(float8, sum, 0, rows, r, kiln_load8(g + (size_t)r * rowLength, base, n));
    return sum;
}

#define KILN_SGD_SLOT(k)                                                                                                   \
    __global const float *p##k, __global const float *g##k, __global const float *v##k, __global float *pOut##k,        \
        __global float *vOut##k, const int n##k, const int rows##k
// Slot k's pointers and count into the kernel's p, g, v, pOut, vOut and n when `item` falls in its runs, else `item`
// less its runs: the kernel then has one update loop rather than one per slot.
#define KILN_SGD_SELECT(k)                                                                                                 \
    if (n < 0) {                                                                                                           \
        const int runs = (n##k + run - 1) / run;                                                                           \
        if (item < runs) {                                                                                                 \
            p = p##k;                                                                                                      \
            g = g##k;                                                                                                      \
            v = v##k;                                                                                                      \
            pOut = pOut##k;                                                                                                \
            vOut = vOut##k;                                                                                                \
            n = n##k;                                                                                                      \
            rows = rows##k;                                                                                                \
        } else {                                                                                                           \
            item -= runs;                                                                                                  \
        }                                                                                                                  \
    }

__kernel void update_sgd_multi(
    KILN_SGD_SLOT(0), KILN_SGD_SLOT(1), KILN_SGD_SLOT(2), KILN_SGD_SLOT(3), KILN_SGD_SLOT(4), KILN_SGD_SLOT(5),
    KILN_SGD_SLOT(6), KILN_SGD_SLOT(7), __global const float *scalars, const int mode, const float momentum,
    const float decay, const int run) {
    int item = (int)get_global_id(0);
    __global const float *p = p0, *g = g0, *v = v0;
    __global float *pOut = pOut0, *vOut = vOut0;
    int n = -1, rows = 1;
    KILN_SGD_SELECT(0)
    KILN_SGD_SELECT(1)
    KILN_SGD_SELECT(2)
    KILN_SGD_SELECT(3)
    KILN_SGD_SELECT(4)
    KILN_SGD_SELECT(5)
    KILN_SGD_SELECT(6)
    KILN_SGD_SELECT(7)
    const float rate = scalars[0];
    // Two loops, so that a gradient of one row keeps the loop without the row sums (which cost 13% there on pocl).
    if (rows == 1) {
        KILN_EACH_VECTOR_OF(item, base, n, run,
            kiln_sgd_update8(p, kiln_load8(g, base, n), v, pOut, vOut, n, base, mode, momentum, decay, rate);
        );
    } else {
        const int rowLength = n;
        KILN_EACH_VECTOR_OF(item, base, n, run,
            const float8 gradient = kiln_rows_sum8(g, rows, rowLength, base, n);
            kiln_sgd_update8(p, gradient, v, pOut, vOut, n, base, mode, momentum, decay, rate);
        );
    }
}

/// out = m * beta + d * (1 - beta), or d * d for the second moment (squared = 1).
__kernel void update_adam_moment(
    __global const float *m, __global const float *g, __global const float *p, __global float *out, const int n,
    const float beta, const float oneMinusBeta, const int squared, const float decay, const int run) {
    KILN_EACH_VECTOR(base, n, run,
        const float8 d = kiln_decayed(g, p, base, n, decay);
        kiln_store8(out, base, n, kiln_load8(m, base, n) * beta + (squared ? d * d : d) * oneMinusBeta);
    );
}

/// out = p - lr * c1 * m / (sqrt(v) * c2 + epsilon).
__kernel void update_adam(
    __global const float *p, __global const float *m, __global const float *v, __global const float *scalars,
    __global float *out, const int n, const float epsilon, const int run) {
    KILN_EACH_VECTOR(base, n, run,
        const float8 step = scalars[0] * scalars[1] * kiln_load8(m, base, n) / (sqrt(kiln_load8(v, base, n)) * scalars[2] + epsilon);
        kiln_store8(out, base, n, kiln_load8(p, base, n) - step);
    );
}
