// loss.cl: fused softmax cross-entropy, one work item per row of logits [rows, classes].
//
//   softmax_cross_entropy_forward   out[n] = log(sum_k exp(x[n,k] - m)) - (x[n,label] - m), m the row's maximum.
//   softmax_cross_entropy_backward  out[n,k] = dy[n] * (exp(x[n,k] - m) / sum - (k == label)).
// A label that is not a whole number in 0..<classes (or NaN) gives a loss of 0 and a zero gradient row, as
// -sum(logSoftmax * oneHot) does. Reference: Sources/KilnCore/Ops/Loss.swift.
// Tests: Tests/KilnOpenCLTests/LossKernelTests.swift. Host side: OpenCLBackend+Loss.swift.

#include "common.cl"

/// The label's class index, or -1 when it is not a whole number in 0..<classes.
inline int loss_class(const float label, const int classes) {
    return (label >= 0.0f && label < (float)classes && label == trunc(label)) ? (int)label : -1;
}

inline float loss_row_maximum(__global const float *row, const int classes) {
    float maximum = row[0];
    for (int k = 1; k < classes; ++k) {
        maximum = fmax(maximum, row[k]);
    }
    return maximum;
}

inline float loss_row_sum(__global const float *row, const int classes, const float maximum) {
    float sum = 0.0f;
    for (int k = 0; k < classes; ++k) {
        sum += exp(row[k] - maximum);
    }
    return sum;
}

__kernel void softmax_cross_entropy_forward(
    __global const float *logits, __global const float *labels, __global float *out, const int rows, const int classes) {
    const int n = (int)get_global_id(0);
    if (n >= rows) {
        return;
    }
    const int label = loss_class(labels[n], classes);
    if (label < 0) {
        out[n] = 0.0f;
        return;
    }
    __global const float *row = logits + (size_t)n * classes;
    const float maximum = loss_row_maximum(row, classes);
    out[n] = log(loss_row_sum(row, classes, maximum)) - (row[label] - maximum);
}

__kernel void softmax_cross_entropy_backward(
    __global const float *logits, __global const float *labels, __global const float *dy, __global float *out,
    const int rows, const int classes) {
    const int n = (int)get_global_id(0);
    if (n >= rows) {
        return;
    }
    __global const float *row = logits + (size_t)n * classes;
    __global float *outRow = out + (size_t)n * classes;
    const int label = loss_class(labels[n], classes);
    if (label < 0) {
        for (int k = 0; k < classes; ++k) {
            outRow[k] = 0.0f;
        }
        return;
    }
    const float maximum = loss_row_maximum(row, classes);
    const float sum = loss_row_sum(row, classes, maximum);
    const float scale = dy[n];
    for (int k = 0; k < classes; ++k) {
        outRow[k] = scale * (exp(row[k] - maximum) / sum - (k == label ? 1.0f : 0.0f));
    }
}
