// lstm_sequence.cl: a whole LSTM layer over T steps in one launch, forward and backward through time.
//
// Layouts (float32, contiguous, row-major; gates in PyTorch's order i, f, g, o; a "block" is [N, H]):
//   projection [T, N, 4H]  x_t · W_ihᵀ + b_ih + b_hh for every step, one GEMM before the launch.
//   packed     (forward) W_hh packed by lstm_pack_weight into [H / LSTM_WIDTH][H][4][LSTM_WIDTH]: for unit block u,
//              step p of the product reads the four gates' LSTM_WIDTH weights of column p, 4 · LSTM_WIDTH floats in a row.
//   packed     (backward) W_hh packed by lstm_pack_weight_backward into [H / LSTM_WIDTH][4H][LSTM_WIDTH]: for unit
//              block u, row p of W_hh's LSTM_WIDTH units, the rows one after another.
//              Each work item so streams one contiguous run. Read in place (W_hhᵀ [H, 4H] forward, W_hh backward),
//              its loads were 4 KiB (forward) or 1 KiB (backward) apart, so a unit block's 32-64 KiB of weights fell in
//              a few cache sets and came from L3 at every step: on pocl (AMD EPYC, AVX2) the char-LSTM's forward took
//              22-29 ms, 10-14 packed, and its backward 17, 13-14 packed.
//   state      [6T + 2] blocks: 0...T  = h0, h_0 ... h_{T-1};  T+1 ... 2T+1 = c0, c_0 ... c_{T-1};
//                               2T + 2 + 4t + k = gate k's activation at step t. dState: its gradient.
//   out        (backward) dz [T, N, 4H], then dh0 [N, H], then dc0 [N, H].
//   cellGradient [N, H]    (backward scratch) the gradient step t receives through c_t from step t + 1.
// lstm_sequence_forward, for t = 0 ..< T: z = projection_t + h_{t-1} · W_hhᵀ, i, f, o = sigmoid, g = tanh,
//   c_t = f · c_{t-1} + i · g, h_t = o · tanh(c_t); writes h_t, c_t and the four activations into `state`.
// lstm_sequence_backward, for t = T-1 down to 0:
//   dh = dState(h_t) + dz_{t+1} · W_hh, dc = dState(c_t) + cellGradient, dcTotal = dc + dh · o · (1 - tanh(c_t)^2),
//   dz_i = (dcTotal · g + dState(i)) · i(1 - i), dz_f = (dcTotal · c_{t-1} + dState(f)) · f(1 - f),
//   dz_g = (dcTotal · i + dState(g)) · (1 - g^2), dz_o = (dh · tanh(c_t) + dState(o)) · o(1 - o),
//   cellGradient = dcTotal · f; then (t = -1) dh0 = dState(h0) + dz_0 · W_hh and dc0 = dState(c0) + cellGradient.
// Batch rows are independent sequences, so a work group owns LSTM_ROWS rows and spans all H units: it loops
// over the steps itself, with a barrier between steps (step t + 1 of a row reads all of step t's units of that
// row, written by the whole group), and no group ever waits for another. Launching every step separately cost
// a launch (20 µs and more on a loaded pocl) per step and ran about twice as long.
// Work item (x, y) computes rows x*LSTM_ROWS ..< +LSTM_ROWS and units y*LSTM_WIDTH ..< +LSTM_WIDTH of all four
// gates, the register blocking of gemm.cl: each step p of the product loads one vector per gate of contiguous
// units and broadcasts one element of h (or dz) per row. Rows past N read row N - 1 and are not stored; the
// launch picks a width that divides H, so there is no column tail.
// Reference: Sources/KilnCore/Ops/LSTMSequence.swift. Tests: Tests/KilnOpenCLTests/LSTMSequenceKernelTests.swift.
// Tunables (-D, see OpenCLBackend+LSTM.swift, which picks them per device): LSTM_ROWS 1..8, LSTM_WIDTH 1, 2, 4, 8 or
// 16; the pack kernels take the LSTM_WIDTH of the kernel they pack for.

#include "common.cl"

#ifndef LSTM_ROWS
#define LSTM_ROWS 2
#endif
#ifndef LSTM_WIDTH
#define LSTM_WIDTH 16
#endif

#if LSTM_ROWS < 1 || LSTM_ROWS > 8
#error "LSTM_ROWS must be between 1 and 8"
#endif
#if LSTM_WIDTH != 1 && LSTM_WIDTH != 2 && LSTM_WIDTH != 4 && LSTM_WIDTH != 8 && LSTM_WIDTH != 16
#error "LSTM_WIDTH must be 1, 2, 4, 8 or 16"
#endif

#if LSTM_WIDTH == 1
#define lstm_vector float
#define lstm_load(pointer) (*(pointer))
#define lstm_store(value, pointer) (*(pointer) = (value))
#else
#define lstm_vector KILN_JOIN(float, LSTM_WIDTH)
#define lstm_load(pointer) KILN_JOIN(vload, LSTM_WIDTH)(0, pointer)
#define lstm_store(value, pointer) KILN_JOIN(vstore, LSTM_WIDTH)(value, 0, pointer)
#endif

// LSTM_EACH_ROW(X) expands X(0) ... X(LSTM_ROWS - 1): the rows of a block as separate variables, so the
// product loops keep every accumulator in a register and each loaded weight vector feeds every row.
#define LSTM_EACH_1(X) X(0)
#define LSTM_EACH_2(X) LSTM_EACH_1(X) X(1)
#define LSTM_EACH_3(X) LSTM_EACH_2(X) X(2)
#define LSTM_EACH_4(X) LSTM_EACH_3(X) X(3)
#define LSTM_EACH_5(X) LSTM_EACH_4(X) X(4)
#define LSTM_EACH_6(X) LSTM_EACH_5(X) X(5)
#define LSTM_EACH_7(X) LSTM_EACH_6(X) X(6)
#define LSTM_EACH_8(X) LSTM_EACH_7(X) X(7)
#define LSTM_EACH_ROW KILN_JOIN(LSTM_EACH_, LSTM_ROWS)

/// common.cl's logistic function at the work item's vector width.
KILN_DEFINE_UNARY(lstm_vector)
#define lstm_sequence_sigmoid KILN_JOIN(kiln_sigmoid_, lstm_vector)

/// The cell update of one row of units from its gate pre-activations, written into the state blocks.
inline void lstm_sequence_cell(
    const lstm_vector zi, const lstm_vector zf, const lstm_vector zg, const lstm_vector zo, __global float *state,
    const int t, const int steps, const size_t block, const size_t unit) {
    const lstm_vector i = lstm_sequence_sigmoid(zi);
    const lstm_vector f = lstm_sequence_sigmoid(zf);
    const lstm_vector g = tanh(zg);
    const lstm_vector o = lstm_sequence_sigmoid(zo);
    const lstm_vector c = f * lstm_load(state + (steps + 1 + t) * block + unit) + i * g;
    lstm_store(o * tanh(c), state + (t + 1) * block + unit);
    lstm_store(c, state + (steps + 2 + t) * block + unit);
    __global float *activations = state + (2 * steps + 2 + 4 * t) * block + unit;
    lstm_store(i, activations);
    lstm_store(f, activations + block);
    lstm_store(g, activations + 2 * block);
    lstm_store(o, activations + 3 * block);
}

/// The gradients of one row of units at step t (t >= 0) given dh and the dc carried from step t + 1.
inline void lstm_sequence_cell_backward(
    const lstm_vector dh, const lstm_vector dcCarried, __global const float *state, __global const float *dState,
    __global float *dz, __global float *cellGradient, const int t, const int steps, const int hidden, const size_t block,
    const size_t unit) {
    const size_t gateBlock = (2 * steps + 2 + 4 * t) * block + unit;
    const lstm_vector i = lstm_load(state + gateBlock);
    const lstm_vector f = lstm_load(state + gateBlock + block);
    const lstm_vector g = lstm_load(state + gateBlock + 2 * block);
    const lstm_vector o = lstm_load(state + gateBlock + 3 * block);
    const lstm_vector tanhC = tanh(lstm_load(state + (steps + 2 + t) * block + unit));
    const lstm_vector cPrevious = lstm_load(state + (steps + 1 + t) * block + unit);
    const lstm_vector dc = lstm_load(dState + (steps + 2 + t) * block + unit) + dcCarried;
    const lstm_vector dcTotal = dc + dh * o * (1.0f - tanhC * tanhC);
    lstm_store((dcTotal * g + lstm_load(dState + gateBlock)) * i * (1.0f - i), dz);
    lstm_store((dcTotal * cPrevious + lstm_load(dState + gateBlock + block)) * f * (1.0f - f), dz + hidden);
    lstm_store((dcTotal * i + lstm_load(dState + gateBlock + 2 * block)) * (1.0f - g * g), dz + 2 * hidden);
    lstm_store((dh * tanhC + lstm_load(dState + gateBlock + 3 * block)) * o * (1.0f - o), dz + 3 * hidden);
    lstm_store(dcTotal * f, cellGradient + unit);
}

// Steps p of the product one work item of the pack kernels moves (OpenCLBackend.lstmPackSteps).
#define LSTM_PACK_STEPS 32

// packed[((u * H + p) * 4 + k) * LSTM_WIDTH + w] = weight[(k * H + u * LSTM_WIDTH + w) * H + p]: work item (x, u)
// fills the contiguous LSTM_PACK_STEPS * 4 * LSTM_WIDTH floats of p = x * LSTM_PACK_STEPS ..< +LSTM_PACK_STEPS,
// reading that run of p from each of the unit block's 4 * LSTM_WIDTH rows of W_hh.
__kernel void lstm_pack_weight(__global const float *weight, __global float *packed, const int hidden) {
    const int p0 = (int)get_global_id(0) * LSTM_PACK_STEPS, u = (int)get_global_id(1);
    const int count = min(LSTM_PACK_STEPS, hidden - p0);
    __global float *out = packed + ((size_t)u * hidden + p0) * 4 * LSTM_WIDTH;
    __global const float *block = weight + (size_t)u * LSTM_WIDTH * hidden + p0;
    for (int j = 0; j < count; ++j) {
        for (int k = 0; k < 4; ++k) {
            for (int w = 0; w < LSTM_WIDTH; ++w) {
                *out++ = block[(size_t)(k * hidden + w) * hidden + j];
            }
        }
    }
}

// packed[(u * 4H + p) * LSTM_WIDTH + w] = weight[p * H + u * LSTM_WIDTH + w]: work item (x, u) copies the unit
// block's rows p = x * LSTM_PACK_STEPS ..< +LSTM_PACK_STEPS.
__kernel void lstm_pack_weight_backward(__global const float *weight, __global float *packed, const int hidden) {
    const int p0 = (int)get_global_id(0) * LSTM_PACK_STEPS, u = (int)get_global_id(1);
    const int gates = 4 * hidden;
    for (int p = p0; p < min(p0 + LSTM_PACK_STEPS, gates); ++p) {
        lstm_store(lstm_load(weight + (size_t)p * hidden + u * LSTM_WIDTH), packed + ((size_t)u * gates + p) * LSTM_WIDTH);
    }
}

__kernel void lstm_sequence_forward(
    __global const float *projection, __global const float *packed, __global float *state, const int steps,
    const int batch, const int hidden) {
    const int row0 = (int)get_global_id(0) * LSTM_ROWS;
    const int unit0 = (int)get_global_id(1) * LSTM_WIDTH;
    // Every work item reaches every barrier; those past the batch only wait.
    const bool active = row0 < batch && unit0 < hidden;
    const size_t block = (size_t)batch * hidden;
    const int gates = 4 * hidden;
    for (int t = 0; t < steps; ++t) {
        if (active) {
            __global const float *hPrevious = state + t * block;
            // Accumulators start from the input projection; rows past N repeat row N - 1.
#define LSTM_FORWARD_START(r)                                                                                      \
    __global const float *h##r = hPrevious + min(row0 + r, batch - 1) * hidden;                                    \
    __global const float *z##r = projection + ((size_t)t * batch + min(row0 + r, batch - 1)) * gates + unit0;      \
    lstm_vector zi##r = lstm_load(z##r);                                                                           \
    lstm_vector zf##r = lstm_load(z##r + hidden);                                                                  \
    lstm_vector zg##r = lstm_load(z##r + 2 * hidden);                                                              \
    lstm_vector zo##r = lstm_load(z##r + 3 * hidden);
            LSTM_EACH_ROW(LSTM_FORWARD_START)

            __global const float *w = packed + (size_t)unit0 * gates;
            for (int p = 0; p < hidden; ++p) {
                const lstm_vector wi = lstm_load(w);
                const lstm_vector wf = lstm_load(w + LSTM_WIDTH);
                const lstm_vector wg = lstm_load(w + 2 * LSTM_WIDTH);
                const lstm_vector wo = lstm_load(w + 3 * LSTM_WIDTH);
#define LSTM_FORWARD_PRODUCT(r)                                                                                    \
    {                                                                                                              \
        const lstm_vector h = (lstm_vector)(h##r[p]);                                                              \
        zi##r = fma(h, wi, zi##r);                                                                                 \
        zf##r = fma(h, wf, zf##r);                                                                                 \
        zg##r = fma(h, wg, zg##r);                                                                                 \
        zo##r = fma(h, wo, zo##r);                                                                                 \
    }
                LSTM_EACH_ROW(LSTM_FORWARD_PRODUCT)
                w += 4 * LSTM_WIDTH;
            }

#define LSTM_FORWARD_CELL(r)                                                                                       \
    if (row0 + r < batch) {                                                                                        \
        lstm_sequence_cell(zi##r, zf##r, zg##r, zo##r, state, t, steps, block, (size_t)(row0 + r) * hidden + unit0); \
    }
            LSTM_EACH_ROW(LSTM_FORWARD_CELL)
        }
        // h_t of these rows, written by the whole work group, is read by all of it at step t + 1.
        barrier(CLK_GLOBAL_MEM_FENCE);
    }
}

__kernel void lstm_sequence_backward(
    __global const float *packed, __global const float *state, __global const float *dState, __global float *out,
    __global float *cellGradient, const int steps, const int batch, const int hidden) {
    const int row0 = (int)get_global_id(0) * LSTM_ROWS;
    const int unit0 = (int)get_global_id(1) * LSTM_WIDTH;
    const bool active = row0 < batch && unit0 < hidden;
    const size_t block = (size_t)batch * hidden;
    const int gates = 4 * hidden;
    for (int t = steps - 1; t >= -1; --t) {
        if (active) {
            // The recurrent part of dh: dz_{t+1} · W_hh (nothing flows back into the last step).
            __global const float *dzNext = out + (size_t)(t + 1) * batch * gates;
#define LSTM_BACKWARD_START(r)                                                                                     \
    __global const float *dz##r = dzNext + min(row0 + r, batch - 1) * gates;                                       \
    lstm_vector dh##r = (lstm_vector)(0.0f);
            LSTM_EACH_ROW(LSTM_BACKWARD_START)
            if (t + 1 < steps) {
                __global const float *w = packed + (size_t)unit0 * gates;
                for (int p = 0; p < gates; ++p) {
                    const lstm_vector wRow = lstm_load(w);
#define LSTM_BACKWARD_PRODUCT(r) dh##r = fma((lstm_vector)(dz##r[p]), wRow, dh##r);
                    LSTM_EACH_ROW(LSTM_BACKWARD_PRODUCT)
                    w += LSTM_WIDTH;
                }
            }

#define LSTM_BACKWARD_CELL(r)                                                                                      \
    if (row0 + r < batch) {                                                                                        \
        const size_t unit = (size_t)(row0 + r) * hidden + unit0;                                                   \
        const lstm_vector dh = lstm_load(dState + (t + 1) * block + unit) + dh##r;                                 \
        const lstm_vector dcCarried = t + 1 < steps ? lstm_load(cellGradient + unit) : (lstm_vector)(0.0f);        \
        if (t < 0) {                                                                                               \
            __global float *initial = out + (size_t)steps * batch * gates + unit;                                  \
            lstm_store(dh, initial);                                                                               \
            lstm_store(dcCarried + lstm_load(dState + (steps + 1) * block + unit), initial + block);               \
        } else {                                                                                                   \
            lstm_sequence_cell_backward(                                                                           \
                dh, dcCarried, state, dState, out + ((size_t)t * batch + row0 + r) * gates + unit0, cellGradient, t, \
                steps, hidden, block, unit);                                                                       \
        }                                                                                                          \
    }
            LSTM_EACH_ROW(LSTM_BACKWARD_CELL)
        }
        // dz_t of these rows, written by the whole work group, is read by all of it at step t - 1.
        barrier(CLK_GLOBAL_MEM_FENCE);
    }
}
