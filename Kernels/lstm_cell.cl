// lstm_cell.cl: the fused LSTM cell, forward and backward; one work item per (n, j), j < H.
//
// Layouts (float32, contiguous, row-major; gates in PyTorch's order i, f, g, o):
//   z      [N, 4H]  pre-activations; gate k of unit j at column k * H + j.
//   cPrev  [N, H]
//   state  [N, 2H]  h | c (the forward output), dState [N, 2H] = dh | dc its gradient.
// lstm_cell_forward:  out [N, 2H] = h | c with i = sigmoid(z_i), f = sigmoid(z_f), g = tanh(z_g),
//                     o = sigmoid(z_o), c = f * cPrev + i * g, h = o * tanh(c).
// lstm_cell_backward: out [N, 5H] = dz | dcPrev with dcTotal = dc + dh * o * (1 - tanh(c)^2) and
//                     dz_i = dcTotal * g * i(1 - i), dz_f = dcTotal * cPrev * f(1 - f),
//                     dz_g = dcTotal * i * (1 - g^2), dz_o = dh * tanh(c) * o(1 - o), dcPrev = dcTotal * f.
//                     s(1 - s) is computed as sigmoid(z) * sigmoid(-z) and 1 - tanh(x)^2 as common.cl's
//                     kiln_sech_squared_float (x = c, and z_g for 1 - g^2): neither cancels.
// Reference: Sources/KilnCore/Ops/LSTMCell.swift (LSTMCell, LSTMCellBackward); the readable
// decomposition is Tensor.lstmCellDecomposed in Sources/KilnCore/Tensor+Recurrent.swift.
// Tests: Tests/KilnOpenCLTests/LSTMKernelTests.swift.
// Tunables: none. The launch is rounded up past N * H: bounds-checked.

#include "common.cl"

KILN_DEFINE_UNARY(float)

__kernel void lstm_cell_forward(
    __global const float *z, __global const float *cPrev, __global float *out, const int batch, const int hidden) {
    const int id = (int)get_global_id(0);
    if (id >= batch * hidden) {
        return;
    }
    int j;
    const int n = kiln_divide(id, hidden, &j);
    __global const float *gates = z + n * 4 * hidden + j;
    const float i = kiln_sigmoid_float(gates[0]);
    const float f = kiln_sigmoid_float(gates[hidden]);
    const float g = tanh(gates[2 * hidden]);
    const float o = kiln_sigmoid_float(gates[3 * hidden]);
    const float c = f * cPrev[id] + i * g;
    out[n * 2 * hidden + j] = o * tanh(c);
    out[n * 2 * hidden + hidden + j] = c;
}

__kernel void lstm_cell_backward(
    __global const float *z, __global const float *cPrev, __global const float *state, __global const float *dState,
    __global float *out, const int batch, const int hidden) {
    const int id = (int)get_global_id(0);
    if (id >= batch * hidden) {
        return;
    }
    int j;
    const int n = kiln_divide(id, hidden, &j);
    __global const float *gates = z + n * 4 * hidden + j;
    const float zi = gates[0];
    const float zf = gates[hidden];
    const float zo = gates[3 * hidden];
    const float i = kiln_sigmoid_float(zi);
    const float f = kiln_sigmoid_float(zf);
    const float zg = gates[2 * hidden];
    const float g = tanh(zg);
    const float o = kiln_sigmoid_float(zo);
    const float c = state[n * 2 * hidden + hidden + j];
    const float dh = dState[n * 2 * hidden + j];
    const float dc = dState[n * 2 * hidden + hidden + j];
    const float tanhC = tanh(c);
    const float dcTotal = dc + dh * o * kiln_sech_squared_float(c);
    __global float *row = out + n * 5 * hidden + j;
    row[0] = dcTotal * g * (i * kiln_sigmoid_float(-zi));
    row[hidden] = dcTotal * cPrev[id] * (f * kiln_sigmoid_float(-zf));
    row[2 * hidden] = dcTotal * i * kiln_sech_squared_float(zg);
    row[3 * hidden] = dh * tanhC * (o * kiln_sigmoid_float(-zo));
    row[4 * hidden] = dcTotal * f;
}
