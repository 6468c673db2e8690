// batch_norm.cl: batch normalisation in training. x is seen as [N, C, S] (S the product of the axes after the channel
// axis, 1 for [N, C]), so channel c's count = N * S values lie in N runs of S; moments and sums are [2, C]. The ops:
//
//   batch_moments           moments[c] = mean of channel c, moments[C + c] = mean of (x - mean)^2 (the biased
//                           variance; deviations from the mean, so a constant channel's is exactly 0).
//   batch_norm_sums         sums[c] = sum of dy, sums[C + c] = sum of dy * (x - mean) * r over channel c, with
//                           r = 1 / sqrt(variance + epsilon): the bias's and the weight's gradients.
//   batch_normalize         out = (x - mean) * weight * r + bias.
//   batch_moments_backward  out = dMoments[c] / count + 2 * (x - mean) * dMoments[C + c] / count.
// The sums take two launches: one work item per (n, c) run reads it as float8 vectors into partial [2, N * C]
// (batch_run_moments: the run's mean, then the squared deviations from it, the run still in cache;
// batch_run_sums: the run's two sums), then one work item per channel combines its N runs in order, Kahan-compensated
// (batch_channel_moments: mean = the runs' mean, M2 = sum of the runs' M2 + S * sum of (run mean - mean)^2, Chan's
// pairwise update, exact for a constant channel; batch_channel_sums). A work group per channel, each work item a
// strided share, ran 30-50 times slower on pocl: its loops did not vectorise. The elementwise kernels run one work
// item per BATCH_NORM_CHUNK vectors of 8 elements of one (n, c) run (a 2-D launch: chunks of s, then n * C + c), so
// every lane of a vector belongs to the same channel.
// Reference: Sources/KilnCore/Ops/BatchNorm.swift. Tests: the catalog's normalization family (kiln check).
// Host side: OpenCLBackend+BatchNorm.swift. Tunables: none.

#include "common.cl"

/// The sum of the 8 lanes, stored and added one by one: halves (v.lo + v.hi) or lanes read as v.s0 ... v.s7 become
/// shufflevectors, which crash oclgrind 21.10's uninitialized-value checker (a memcpy at a negative offset).
inline float batch_norm_lanes(const float8 v) {
    float lanes[KILN_LANES];
    vstore8(v, 0, lanes);
    return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

__kernel void batch_run_moments(__global const float *x, __global float *partial, const int rows, const int spatial) {
    const int row = (int)get_global_id(0);
    if (row >= rows) {
        return;
    }
    const int base = row * spatial;
    const int end = base + spatial;
    float8 sum = (float8)(0.0f);
    KILN_EACH_VECTOR_BELOW(k, base, end, end,
        sum += kiln_load8(x, k, end);
    );
    const float mean = batch_norm_lanes(sum) / (float)spatial;
    float8 squares = (float8)(0.0f);
    KILN_EACH_VECTOR_BELOW(k, base, end, end,
        // Lanes past the run load 0: their deviation is masked out.
        const int valid = end - k;
        const float8 lane = (float8)(0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f);
        const float8 deviation = select((float8)(0.0f), kiln_load8(x, k, end) - mean, lane < (float8)((float)valid));
        squares += deviation * deviation;
    );
    partial[row] = mean;
    partial[(size_t)rows + row] = batch_norm_lanes(squares);
}

/// The Kahan-compensated sum of column[n * channels] over the batch's runs n, in order: one channel's partial sums.
inline float batch_norm_column_sum(__global const float *column, const int channels, const int batch) {
    float sum = 0.0f;
    float compensation = 0.0f;
    for (int n = 0; n < batch; ++n) {
        KAHAN_ADD(sum, compensation, column[(size_t)n * channels]);
    }
    return sum;
}

__kernel void batch_channel_moments(
    __global const float *partial, __global float *moments, const int channels, const int batch, const int spatial) {
    const int channel = (int)get_global_id(0);
    if (channel >= channels) {
        return;
    }
    __global const float *means = partial + channel;
    const float mean = batch_norm_column_sum(means, channels, batch) / (float)batch;
    const float within = batch_norm_column_sum(means + (size_t)batch * channels, channels, batch);
    float between = 0.0f;
    float compensation = 0.0f;
    for (int n = 0; n < batch; ++n) {
        const float deviation = means[(size_t)n * channels] - mean;
        KAHAN_ADD(between, compensation, deviation * deviation);
    }
    moments[channel] = mean;
    moments[channels + channel] = (within + (float)spatial * between) / ((float)batch * (float)spatial);
}

__kernel void batch_run_sums(
    __global const float *x, __global const float *moments, __global const float *dy, __global float *partial, const int rows,
    const int channels, const int spatial) {
    const int row = (int)get_global_id(0);
    if (row >= rows) {
        return;
    }
    int channel;
    kiln_divide(row, channels, &channel);
    const float mean = moments[channel];
    const int base = row * spatial;
    const int end = base + spatial;
    float8 gradients = (float8)(0.0f);
    float8 products = (float8)(0.0f);
    KILN_EACH_VECTOR_BELOW(k, base, end, end,
        // Lanes past the run load dy = 0, so they add nothing to either sum.
        const float8 gradient = kiln_load8(dy, k, end);
        gradients += gradient;
        products += gradient * (kiln_load8(x, k, end) - mean);
    );
    partial[row] = batch_norm_lanes(gradients);
    partial[(size_t)rows + row] = batch_norm_lanes(products);
}

__kernel void batch_channel_sums(
    __global const float *partial, __global const float *moments, __global float *sums, const int channels, const int batch,
    const float epsilon) {
    const int channel = (int)get_global_id(0);
    if (channel >= channels) {
        return;
    }
    __global const float *gradients = partial + channel;
    sums[channel] = batch_norm_column_sum(gradients, channels, batch);
    sums[channels + channel] = batch_norm_column_sum(gradients + (size_t)batch * channels, channels, batch) /
                               sqrt(moments[channels + channel] + epsilon);
}

/// Vectors of 8 elements per work item of the elementwise kernels: each reads its channel's scale once for up to
/// 256 elements (with a work item per vector, the division and square root of every item cost 4 times the passes).
#define BATCH_NORM_CHUNK 32

/// The channel of the (n, c) run this work item computes up to BATCH_NORM_CHUNK vectors of, from *base up to *end (the
/// chunk's end, or the run's): false when they lie past the tensor.
inline bool batch_norm_chunk(const int rows, const int channels, const int spatial, int *channel, int *base, int *end) {
    const int row = (int)get_global_id(1);
    const int first = (int)get_global_id(0) * (KILN_LANES * BATCH_NORM_CHUNK);
    if (row >= rows || first >= spatial) {
        return false;
    }
    kiln_divide(row, channels, channel);
    *base = row * spatial + first;
    *end = min((row + 1) * spatial, *base + KILN_LANES * BATCH_NORM_CHUNK);
    return true;
}

__kernel void batch_normalize(
    __global const float *x, __global const float *moments, __global const float *weight, __global const float *bias,
    __global float *out, const int rows, const int channels, const int spatial, const float epsilon) {
    int channel;
    int base;
    int end;
    if (!batch_norm_chunk(rows, channels, spatial, &channel, &base, &end)) {
        return;
    }
    const float mean = moments[channel];
    const float scale = weight[channel] / sqrt(moments[channels + channel] + epsilon);
    const float shift = bias[channel];
    KILN_EACH_VECTOR_BELOW(k, base, end, end,
        kiln_store8(out, k, end, (kiln_load8(x, k, end) - mean) * scale + shift);
    );
}

__kernel void batch_moments_backward(
    __global const float *x, __global const float *moments, __global const float *dMoments, __global float *out, const int rows,
    const int channels, const int spatial, const int count) {
    int channel;
    int base;
    int end;
    if (!batch_norm_chunk(rows, channels, spatial, &channel, &base, &end)) {
        return;
    }
    const float mean = moments[channel];
    const float meanPart = dMoments[channel] / (float)count;
    const float deviationScale = 2.0f * dMoments[channels + channel] / (float)count;
    KILN_EACH_VECTOR_BELOW(k, base, end, end,
        kiln_store8(out, k, end, (kiln_load8(x, k, end) - mean) * deviationScale + meanPart);
    );
}
