// lstm_sequence.cl: one launch per time step of a whole LSTM layer, forward and backward through time.
//
// Layouts (float32, contiguous, row-major; gates in PyTorch's order i, f, g, o; a "block" is [N, H]):
//   projection [T, N, 4H]  x_t · W_ihᵀ + b_ih + b_hh for every step, one GEMM before the first launch.
//   weightT    [H, 4H]     W_hhᵀ, transposed once before the first launch, so row p holds column p of every gate.
//   weight     [4H, H]     W_hh as stored (the backward multiplies by it untransposed).
//   state      [6T + 2] blocks: 0...T  = h0, h_0 ... h_{T-1};  T+1 ... 2T+1 = c0, c_0 ... c_{T-1};
//                               2T + 2 + 4t + k = gate k's activation at step t. dState: its gradient.
//   out        (backward) dz [T, N, 4H], then dh0 [N, H], then dc0 [N, H].
//   cellGradient [N, H]    (backward scratch) the gradient step t receives through c_t from step t + 1.
// lstm_sequence_forward (step t): z = projection_t + h_{t-1} · W_hhᵀ, i, f, o = sigmoid, g = tanh,
//   c_t = f · c_{t-1} + i · g, h_t = o · tanh(c_t); writes h_t, c_t and the four activations into `state`.
// lstm_sequence_backward (step t, launched for t = T-1 down to 0, then once with t = -1):
//   dh = dState(h_t) + dz_{t+1} · W_hh, dc = dState(c_t) + cellGradient, dcTotal = dc + dh · o · (1 - tanh(c_t)^2),
//   dz_i = (dcTotal · g + dState(i)) · i(1 - i), dz_f = (dcTotal · c_{t-1} + dState(f)) · f(1 - f),
//   dz_g = (dcTotal · i + dState(g)) · (1 - g^2), dz_o = (dh · tanh(c_t) + dState(o)) · o(1 - o),
//   cellGradient = dcTotal · f. With t = -1 it writes dh0 = dState(h0) + dz_0 · W_hh and dc0 = dState(c0) + cellGradient.
// Work item (x, y) computes batch rows x*LSTM_ROWS ..< +LSTM_ROWS and hidden units y*LSTM_WIDTH ..< +LSTM_WIDTH
// of all four gates, the register blocking of gemm.cl: each step p of the product loads one vector per gate
// of contiguous units and broadcasts one element of h (or dz) per row. Rows past N read row N - 1 and are not
// stored; the launch asks for a width that divides H, so there is no column tail.
// Reference: Sources/KilnReference/Reference+LSTMSequence.swift. Tests: Tests/KilnOpenCLTests/LSTMSequenceKernelTests.swift.
// Tunables (-D, see OpenCLBackend+LSTM.swift): LSTM_ROWS 1..8 (default 3), LSTM_WIDTH 1, 2, 4, 8 or 16 (default 8).

#ifndef LSTM_ROWS
#define LSTM_ROWS 3
#endif
#ifndef LSTM_WIDTH
#define LSTM_WIDTH 8
#endif

#if LSTM_ROWS < 1 || LSTM_ROWS > 8
#error "LSTM_ROWS must be between 1 and 8"
#endif
#if LSTM_WIDTH != 1 && LSTM_WIDTH != 2 && LSTM_WIDTH != 4 && LSTM_WIDTH != 8 && LSTM_WIDTH != 16
#error "LSTM_WIDTH must be 1, 2, 4, 8 or 16"
#endif

#define LSTM_PASTE(a, b) a##b
#define LSTM_JOIN(a, b) LSTM_PASTE(a, b)
#if LSTM_WIDTH == 1
#define lstm_vector float
#define lstm_load(pointer) (*(pointer))
#define lstm_store(value, pointer) (*(pointer) = (value))
#else
#define lstm_vector LSTM_JOIN(float, LSTM_WIDTH)
#define lstm_load(pointer) LSTM_JOIN(vload, LSTM_WIDTH)(0, pointer)
#define lstm_store(value, pointer) LSTM_JOIN(vstore, LSTM_WIDTH)(value, 0, pointer)
#endif

/// The logistic function; exp(-x) overflowing to infinity gives the right limit 0.
inline lstm_vector lstm_sequence_sigmoid(const lstm_vector x) {
    return 1.0f / (1.0f + exp(-x));
}

__kernel void lstm_sequence_forward(
    __global const float *projection, __global const float *weightT, __global float *state, const int t, const int steps,
    const int batch, const int hidden) {
    const int row0 = (int)get_global_id(0) * LSTM_ROWS;
    const int unit0 = (int)get_global_id(1) * LSTM_WIDTH;
    if (row0 >= batch || unit0 >= hidden) {
        return;
    }
    const size_t block = (size_t)batch * hidden;
    const int gates = 4 * hidden;
    __global const float *hPrevious = state + t * block;

    // Accumulators start from the input projection; rows past N repeat row N - 1.
    int rowOffset[LSTM_ROWS];
    lstm_vector zi[LSTM_ROWS], zf[LSTM_ROWS], zg[LSTM_ROWS], zo[LSTM_ROWS];
    #pragma unroll
    for (int r = 0; r < LSTM_ROWS; ++r) {
        const int n = min(row0 + r, batch - 1);
        rowOffset[r] = n * hidden;
        __global const float *z = projection + ((size_t)t * batch + n) * gates + unit0;
        zi[r] = lstm_load(z);
        zf[r] = lstm_load(z + hidden);
        zg[r] = lstm_load(z + 2 * hidden);
        zo[r] = lstm_load(z + 3 * hidden);
    }
    __global const float *w = weightT + unit0;
    for (int p = 0; p < hidden; ++p) {
        const lstm_vector wi = lstm_load(w);
        const lstm_vector wf = lstm_load(w + hidden);
        const lstm_vector wg = lstm_load(w + 2 * hidden);
        const lstm_vector wo = lstm_load(w + 3 * hidden);
        #pragma unroll
        for (int r = 0; r < LSTM_ROWS; ++r) {
            const lstm_vector h = (lstm_vector)(hPrevious[rowOffset[r] + p]);
            zi[r] = fma(h, wi, zi[r]);
            zf[r] = fma(h, wf, zf[r]);
            zg[r] = fma(h, wg, zg[r]);
            zo[r] = fma(h, wo, zo[r]);
        }
        w += gates;
    }

    #pragma unroll
    for (int r = 0; r < LSTM_ROWS; ++r) {
        if (row0 + r < batch) {
            const size_t unit = (size_t)(row0 + r) * hidden + unit0;
            const lstm_vector i = lstm_sequence_sigmoid(zi[r]);
            const lstm_vector f = lstm_sequence_sigmoid(zf[r]);
            const lstm_vector g = tanh(zg[r]);
            const lstm_vector o = lstm_sequence_sigmoid(zo[r]);
            const lstm_vector c = f * lstm_load(state + (steps + 1 + t) * block + unit) + i * g;
            lstm_store(o * tanh(c), state + (t + 1) * block + unit);
            lstm_store(c, state + (steps + 2 + t) * block + unit);
            __global float *activations = state + (2 * steps + 2 + 4 * t) * block + unit;
            lstm_store(i, activations);
            lstm_store(f, activations + block);
            lstm_store(g, activations + 2 * block);
            lstm_store(o, activations + 3 * block);
        }
    }
}

__kernel void lstm_sequence_backward(
    __global const float *weight, __global const float *state, __global const float *dState, __global float *out,
    __global float *cellGradient, const int t, const int steps, const int batch, const int hidden) {
    const int row0 = (int)get_global_id(0) * LSTM_ROWS;
    const int unit0 = (int)get_global_id(1) * LSTM_WIDTH;
    if (row0 >= batch || unit0 >= hidden) {
        return;
    }
    const size_t block = (size_t)batch * hidden;
    const int gates = 4 * hidden;

    // The recurrent part of dh: dz_{t+1} · W_hh (nothing flows back into the last step).
    lstm_vector dhRecurrent[LSTM_ROWS];
    #pragma unroll
    for (int r = 0; r < LSTM_ROWS; ++r) {
        dhRecurrent[r] = (lstm_vector)(0.0f);
    }
    if (t + 1 < steps) {
        int rowOffset[LSTM_ROWS];
        #pragma unroll
        for (int r = 0; r < LSTM_ROWS; ++r) {
            rowOffset[r] = min(row0 + r, batch - 1) * gates;
        }
        __global const float *dzNext = out + (size_t)(t + 1) * batch * gates;
        __global const float *w = weight + unit0;
        for (int p = 0; p < gates; ++p) {
            const lstm_vector wRow = lstm_load(w);
            #pragma unroll
            for (int r = 0; r < LSTM_ROWS; ++r) {
                dhRecurrent[r] = fma((lstm_vector)(dzNext[rowOffset[r] + p]), wRow, dhRecurrent[r]);
            }
            w += hidden;
        }
    }

    #pragma unroll
    for (int r = 0; r < LSTM_ROWS; ++r) {
        if (row0 + r < batch) {
            const int n = row0 + r;
            const size_t unit = (size_t)n * hidden + unit0;
            const lstm_vector dh = lstm_load(dState + (t + 1) * block + unit) + dhRecurrent[r];
            const lstm_vector dcCarried = t + 1 < steps ? lstm_load(cellGradient + unit) : (lstm_vector)(0.0f);
            if (t < 0) {
                __global float *initial = out + (size_t)steps * batch * gates + unit;
                lstm_store(dh, initial);
                lstm_store(dcCarried + lstm_load(dState + (steps + 1) * block + unit), initial + block);
                continue;
            }
            const size_t gateBlock = (2 * steps + 2 + 4 * t) * block + unit;
            const lstm_vector i = lstm_load(state + gateBlock);
            const lstm_vector f = lstm_load(state + gateBlock + block);
            const lstm_vector g = lstm_load(state + gateBlock + 2 * block);
            const lstm_vector o = lstm_load(state + gateBlock + 3 * block);
            const lstm_vector tanhC = tanh(lstm_load(state + (steps + 2 + t) * block + unit));
            const lstm_vector cPrevious = lstm_load(state + (steps + 1 + t) * block + unit);
            const lstm_vector dc = lstm_load(dState + (steps + 2 + t) * block + unit) + dcCarried;
            const lstm_vector dcTotal = dc + dh * o * (1.0f - tanhC * tanhC);
            __global float *dz = out + ((size_t)t * batch + n) * gates + unit0;
            lstm_store((dcTotal * g + lstm_load(dState + gateBlock)) * i * (1.0f - i), dz);
            lstm_store((dcTotal * cPrevious + lstm_load(dState + gateBlock + block)) * f * (1.0f - f), dz + hidden);
            lstm_store((dcTotal * i + lstm_load(dState + gateBlock + 2 * block)) * (1.0f - g * g), dz + 2 * hidden);
            lstm_store((dh * tanhC + lstm_load(dState + gateBlock + 3 * block)) * o * (1.0f - o), dz + 3 * hidden);
            lstm_store(dcTotal * f, cellGradient + unit);
        }
    }
}
