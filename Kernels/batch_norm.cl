// batch_norm.cl: batch normalisation in training. x is seen as [N, C, S] (S the product of the axes after the channel
// axis, 1 for [N, C]), so channel c's count = N * S values lie in N runs of S; moments and sums are [2, C].
//
//   batch_moments           moments[c] = mean of channel c, moments[C + c] = mean of (x - mean)^2 (the biased
//                           variance; deviations from the mean, so a constant channel's is exactly 0).
//   batch_norm_sums         sums[c] = sum of dy, sums[C + c] = sum of dy * (x - mean) * r over channel c, with
//                           r = 1 / sqrt(variance + epsilon): the bias's and the weight's gradients.
//   batch_normalize         out = (x - mean) * weight * r + bias.
//   batch_moments_backward  out = dMoments[c] / count + 2 * (x - mean) * dMoments[C + c] / count.
//
// The two sums run one work group per channel (group c; groups past the channels return at once): each work item
// adds a strided share of the channel, element e = lid, lid + size, ..., Kahan-compensated, and work item 0 adds
// the shares in order, so the error stays near 2 eps * sum |terms|. batch_moments reads its channel twice (the mean,
// then the deviations), the second time mostly from cache. A work group may be smaller than BATCH_NORM_GROUP (the
// device's limit): the shares follow get_local_size. The elementwise kernels run one work item per 8 elements of
// one (n, c) run (a 2-D launch: s / 8, then n * C + c), so every lane of a vector belongs to the same channel.
// Reference: Sources/KilnCore/Ops/BatchNorm.swift. Tests: the catalog's normalization family (kiln check).
// Host side: OpenCLBackend+BatchNorm.swift. Tunables: none.

#include "common.cl"

/// The most work items per group of the per-channel sums (their local memory holds one share each).
#define BATCH_NORM_GROUP 64

/// The offset of element e = run * S + s of channel c, kept as (run, s) and advanced by a group's stride.
typedef struct {
    int run;
    int s;
} batch_norm_cursor;

inline batch_norm_cursor batch_norm_start(const int e, const int spatial) {
    batch_norm_cursor cursor;
    cursor.run = kiln_divide(e, spatial, &cursor.s);
    return cursor;
}

/// Moves the cursor `stepRuns` runs and `stepRest` elements on (a stride of stepRuns * S + stepRest elements).
inline void batch_norm_advance(batch_norm_cursor *cursor, const int stepRuns, const int stepRest, const int spatial) {
    cursor->s += stepRest;
    cursor->run += stepRuns;
    if (cursor->s >= spatial) {
        cursor->s -= spatial;
        cursor->run += 1;
    }
}

inline size_t batch_norm_offset(const batch_norm_cursor cursor, const int channel, const int channels, const int spatial) {
    return ((size_t)cursor.run * channels + channel) * spatial + cursor.s;
}

/// The work group's total of each work item's `share` (a compensated sum, `share - compensation`), added in order
/// by work item 0 and returned to every work item.
inline float batch_norm_group_sum(const float share, __local float *shares, __local float *total) {
    const int lid = (int)get_local_id(0);
    shares[lid] = share;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid == 0) {
        float sum = 0.0f;
        float compensation = 0.0f;
        for (int k = 0; k < (int)get_local_size(0); ++k) {
            KAHAN_ADD(sum, compensation, shares[k]);
        }
        *total = sum;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    const float result = *total;
    barrier(CLK_LOCAL_MEM_FENCE);
    return result;
}

__kernel void batch_moments(
    __global const float *x, __global float *moments, const int channels, const int count, const int spatial) {
    const int channel = (int)get_group_id(0);
    if (channel >= channels) {
        return;
    }
    __local float shares[BATCH_NORM_GROUP];
    __local float total;
    const int lid = (int)get_local_id(0);
    const int size = (int)get_local_size(0);
    int stepRest;
    const int stepRuns = kiln_divide(size, spatial, &stepRest);

    float sum = 0.0f;
    float compensation = 0.0f;
    batch_norm_cursor cursor = batch_norm_start(lid, spatial);
    for (int e = lid; e < count; e += size) {
        KAHAN_ADD(sum, compensation, x[batch_norm_offset(cursor, channel, channels, spatial)]);
        batch_norm_advance(&cursor, stepRuns, stepRest, spatial);
    }
    const float mean = batch_norm_group_sum(sum - compensation, shares, &total) / (float)count;

    sum = 0.0f;
    compensation = 0.0f;
    cursor = batch_norm_start(lid, spatial);
    for (int e = lid; e < count; e += size) {
        const float deviation = x[batch_norm_offset(cursor, channel, channels, spatial)] - mean;
        KAHAN_ADD(sum, compensation, deviation * deviation);
        batch_norm_advance(&cursor, stepRuns, stepRest, spatial);
    }
    const float variance = batch_norm_group_sum(sum - compensation, shares, &total) / (float)count;
    if (lid == 0) {
        moments[channel] = mean;
        moments[channels + channel] = variance;
    }
}

__kernel void batch_norm_sums(
    __global const float *x, __global const float *moments, __global const float *dy, __global float *sums, const int channels,
    const int count, const int spatial, const float epsilon) {
    const int channel = (int)get_group_id(0);
    if (channel >= channels) {
        return;
    }
    __local float shares[BATCH_NORM_GROUP];
    __local float total;
    const int lid = (int)get_local_id(0);
    const int size = (int)get_local_size(0);
    int stepRest;
    const int stepRuns = kiln_divide(size, spatial, &stepRest);
    const float mean = moments[channel];

    float gradientSum = 0.0f;
    float gradientCompensation = 0.0f;
    float productSum = 0.0f;
    float productCompensation = 0.0f;
    batch_norm_cursor cursor = batch_norm_start(lid, spatial);
    for (int e = lid; e < count; e += size) {
        const size_t offset = batch_norm_offset(cursor, channel, channels, spatial);
        const float gradient = dy[offset];
        KAHAN_ADD(gradientSum, gradientCompensation, gradient);
        KAHAN_ADD(productSum, productCompensation, gradient * (x[offset] - mean));
        batch_norm_advance(&cursor, stepRuns, stepRest, spatial);
    }
    const float gradientTotal = batch_norm_group_sum(gradientSum - gradientCompensation, shares, &total);
    const float productTotal = batch_norm_group_sum(productSum - productCompensation, shares, &total);
    if (lid == 0) {
        sums[channel] = gradientTotal;
        sums[channels + channel] = productTotal / sqrt(moments[channels + channel] + epsilon);
    }
}

/// The channel of the (n, c) run this work item computes 8 elements of, from *base up to the run's *end: false when
/// they lie past the tensor.
inline bool batch_norm_run(const int rows, const int channels, const int spatial, int *channel, int *base, int *end) {
    const int row = (int)get_global_id(1);
    const int first = (int)get_global_id(0) * KILN_LANES;
    if (row >= rows || first >= spatial) {
        return false;
    }
    kiln_divide(row, channels, channel);
    *base = row * spatial + first;
    *end = (row + 1) * spatial;
    return true;
}

__kernel void batch_normalize(
    __global const float *x, __global const float *moments, __global const float *weight, __global const float *bias,
    __global float *out, const int rows, const int channels, const int spatial, const float epsilon) {
    int channel;
    int base;
    int end;
    if (!batch_norm_run(rows, channels, spatial, &channel, &base, &end)) {
        return;
    }
    const float scale = weight[channel] / sqrt(moments[channels + channel] + epsilon);
    const float8 values = kiln_load8(x, base, end);
    kiln_store8(out, base, end, (values - moments[channel]) * scale + bias[channel]);
}

__kernel void batch_moments_backward(
    __global const float *x, __global const float *moments, __global const float *dMoments, __global float *out, const int rows,
    const int channels, const int spatial, const int count) {
    int channel;
    int base;
    int end;
    if (!batch_norm_run(rows, channels, spatial, &channel, &base, &end)) {
        return;
    }
    const float meanPart = dMoments[channel] / (float)count;
    const float deviationScale = 2.0f * dMoments[channels + channel] / (float)count;
    const float8 values = kiln_load8(x, base, end);
    kiln_store8(out, base, end, (values - moments[channel]) * deviationScale + meanPart);
}
