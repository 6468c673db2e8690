// gemm_tiled.cl: matrix products C = A . B, rank 2 and batched, float32, shaped for GPUs: work-group tiles staged in
// local memory, coalesced global reads, a register block per work item.
//
// Layouts and arguments: those of gemm.cl's gemm_forward (A [B, M, K], B [B, K, N], C [B, M, N] row-major at the given
// batch strides; biasMode 1 a bias per row of C, 2 per column, 0 none; `activation` a KILN_UNARY_* code or
// KILN_UNARY_NONE, applied with common.cl's kiln_unary_float as C is stored; `derivative` and derivativeInput as
// there, for the linearGradient op). The host (OpenCLBackend+Matmul.swift)
// picks this variant or gemm.cl's register-blocked micro-kernel: by device type (this one on GPUs), by `kiln tune`'s
// table, or explicitly. Transposed operands are transposed first by gemm.cl's gemm_transpose, as for the micro-kernel.
// Reference: Matmul (Sources/KilnCore/Ops/Matmul.swift). Tests: Tests/KilnOpenCLTests/TiledGemmKernelTests.swift (the catalog's matmul,
// linear and convolution cases through this variant), and the catalog under oclgrind (a GPU-like device, which picks
// it by default).
//
// gemm_forward_tiled: work group (x, y, z) computes the TILED_M x TILED_N tile of C at rows y*TILED_M, columns
// x*TILED_N of batch z with TILED_THREADS_N x TILED_THREADS_M work items. For each step of TILED_K along K the group
// copies the TILED_M x TILED_K block of A and the TILED_K x TILED_N block of B into local memory (consecutive work
// items read consecutive floats of a row, TILED_WIDTH at a time: coalesced; zeros past M, N or K, so every local
// element is written before it is read), waits at a barrier, and each work item adds the products for its
// TILED_M / TILED_THREADS_M x TILED_N / TILED_THREADS_N register block. A work item's rows and columns are strided by
// the thread counts, so neighbouring work items read neighbouring floats of a local row (no bank conflicts) and store
// neighbouring columns of C (coalesced). A's block is kept transposed in local memory, one float of padding per row
// so that the copy's column writes fall in different banks.
//
// Tunables (-D; the host fits them to the device: the work group to CL_KERNEL_WORK_GROUP_SIZE and the work-item sizes,
// the two blocks, TILED_K * (TILED_M + 1 + TILED_N) floats, to the local memory; OpenCLBackend+TiledGemm.swift):
//   TILED_M, TILED_N        rows and columns of C per work group: 16, 32, 64 or 128 (defaults 64, 64)
//   TILED_K                 depth of a local step: 8, 16 or 32 (default 16)
//   TILED_THREADS_M/_N      work items per group along M and N: 4, 8, 16 or 32, dividing TILED_M / TILED_N
//                           (defaults 16, 16: 256 work items, a 4 x 4 register block each)
//   TILED_WIDTH             floats per global read: 1, 2 or 4, dividing TILED_K and TILED_N (default 1; the host
//                           takes the device's preferred float vector width)

#include "common.cl"

KILN_DEFINE_UNARY(float)
KILN_DEFINE_PRODUCT_EPILOGUE

#ifndef TILED_M
#define TILED_M 64
#endif
#ifndef TILED_N
#define TILED_N 64
#endif
#ifndef TILED_K
#define TILED_K 16
#endif
#ifndef TILED_THREADS_M
#define TILED_THREADS_M 16
#endif
#ifndef TILED_THREADS_N
#define TILED_THREADS_N 16
#endif
#ifndef TILED_WIDTH
#define TILED_WIDTH 1
#endif

#if TILED_M != 16 && TILED_M != 32 && TILED_M != 64 && TILED_M != 128
#error "TILED_M must be 16, 32, 64 or 128"
#endif
#if TILED_N != 16 && TILED_N != 32 && TILED_N != 64 && TILED_N != 128
#error "TILED_N must be 16, 32, 64 or 128"
#endif
#if TILED_K != 8 && TILED_K != 16 && TILED_K != 32
#error "TILED_K must be 8, 16 or 32"
#endif
#if TILED_THREADS_M != 4 && TILED_THREADS_M != 8 && TILED_THREADS_M != 16 && TILED_THREADS_M != 32
#error "TILED_THREADS_M must be 4, 8, 16 or 32"
#endif
#if TILED_THREADS_N != 4 && TILED_THREADS_N != 8 && TILED_THREADS_N != 16 && TILED_THREADS_N != 32
#error "TILED_THREADS_N must be 4, 8, 16 or 32"
#endif
#if TILED_M % TILED_THREADS_M != 0 || TILED_N % TILED_THREADS_N != 0
#error "TILED_THREADS_M and TILED_THREADS_N must divide TILED_M and TILED_N"
#endif
#if TILED_WIDTH != 1 && TILED_WIDTH != 2 && TILED_WIDTH != 4
#error "TILED_WIDTH must be 1, 2 or 4"
#endif

// Work items per group, rows and columns of each one's register block.
#define TILED_THREADS (TILED_THREADS_M * TILED_THREADS_N)
#define TILED_ROWS (TILED_M / TILED_THREADS_M)
#define TILED_COLUMNS (TILED_N / TILED_THREADS_N)
// Vectors each work item copies per step, of A's block and of B's (the last copy may fall past the block).
#define TILED_A_COPIES ((TILED_M * TILED_K / TILED_WIDTH + TILED_THREADS - 1) / TILED_THREADS)
#define TILED_B_COPIES ((TILED_K * TILED_N / TILED_WIDTH + TILED_THREADS - 1) / TILED_THREADS)

#if TILED_WIDTH == 1
#define tiled_vector float
#define tiled_load(pointer) (*(pointer))
#else
#define tiled_vector KILN_JOIN(float, TILED_WIDTH)
#define tiled_load(pointer) KILN_JOIN(vload, TILED_WIDTH)(0, pointer)
#endif

// Lane `lane` of a tiled_vector.
#if TILED_WIDTH == 1
#define TILED_LANE(v, lane) (v)
#else
#define TILED_LANE(v, lane) ((v)[lane])
#endif

// TILED_WIDTH floats of `row` from `start`, zeros from `limit` on: one vector read when the whole run lies inside.
inline tiled_vector tiled_read(__global const float *row, const int start, const int limit) {
    if (start + TILED_WIDTH <= limit) {
        return tiled_load(row + start);
    }
    tiled_vector values = (tiled_vector)(0.0f);
#if TILED_WIDTH == 1
    values = start < limit ? row[start] : 0.0f;
#else
    for (int lane = 0; lane < TILED_WIDTH; ++lane) {
        values[lane] = start + lane < limit ? row[start + lane] : 0.0f;
    }
#endif
    return values;
}

__kernel __attribute__((reqd_work_group_size(TILED_THREADS_N, TILED_THREADS_M, 1))) void gemm_forward_tiled(
    __global const float *a, __global const float *b, __global float *c, const int M, const int N, const int K,
    const int aBatchStride, const int bBatchStride, const int cBatchStride, __global const float *bias,
    const int biasMode, const int activation, const float slope, __global const float *derivativeInput,
    const int derivative) {
    // A's block transposed (aTile[k][m], a float of padding per row), B's as it is (bTile[k][n]).
    __local float aTile[TILED_K][TILED_M + 1];
    __local float bTile[TILED_K][TILED_N];

    const int threadN = (int)get_local_id(0);
    const int threadM = (int)get_local_id(1);
    const int thread = threadM * TILED_THREADS_N + threadN;
    const int row0 = (int)get_group_id(1) * TILED_M;
    const int column0 = (int)get_group_id(0) * TILED_N;
    const int batch = (int)get_global_id(2);
    a += (size_t)batch * aBatchStride;
    b += (size_t)batch * bBatchStride;
    c += (size_t)batch * cBatchStride;
    derivativeInput += (size_t)batch * cBatchStride;

    float accumulator[TILED_ROWS][TILED_COLUMNS];
#pragma unroll
    for (int i = 0; i < TILED_ROWS; ++i) {
#pragma unroll
        for (int j = 0; j < TILED_COLUMNS; ++j) {
            accumulator[i][j] = 0.0f;
        }
    }

    for (int k0 = 0; k0 < K; k0 += TILED_K) {
        // A's block: TILED_M rows of TILED_K / TILED_WIDTH vectors; consecutive work items take consecutive vectors
        // of a row.
#pragma unroll
        for (int copy = 0; copy < TILED_A_COPIES; ++copy) {
            const int index = thread + copy * TILED_THREADS;
            if (TILED_M * TILED_K / TILED_WIDTH % TILED_THREADS != 0 && index >= TILED_M * TILED_K / TILED_WIDTH) {
                break;
            }
            const int m = index / (TILED_K / TILED_WIDTH);
            const int k = (index - m * (TILED_K / TILED_WIDTH)) * TILED_WIDTH;
            const int row = row0 + m;
            const tiled_vector values =
                row < M ? tiled_read(a + (size_t)row * K, k0 + k, K) : (tiled_vector)(0.0f);
#pragma unroll
            for (int lane = 0; lane < TILED_WIDTH; ++lane) {
                aTile[k + lane][m] = TILED_LANE(values, lane);
            }
        }
        // B's block: TILED_K rows of TILED_N / TILED_WIDTH vectors.
#pragma unroll
        for (int copy = 0; copy < TILED_B_COPIES; ++copy) {
            const int index = thread + copy * TILED_THREADS;
            if (TILED_K * TILED_N / TILED_WIDTH % TILED_THREADS != 0 && index >= TILED_K * TILED_N / TILED_WIDTH) {
                break;
            }
            const int k = index / (TILED_N / TILED_WIDTH);
            const int n = (index - k * (TILED_N / TILED_WIDTH)) * TILED_WIDTH;
            const int depth = k0 + k;
            const tiled_vector values =
                depth < K ? tiled_read(b + (size_t)depth * N, column0 + n, N) : (tiled_vector)(0.0f);
#pragma unroll
            for (int lane = 0; lane < TILED_WIDTH; ++lane) {
                bTile[k][n + lane] = TILED_LANE(values, lane);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);

#pragma unroll
        for (int k = 0; k < TILED_K; ++k) {
            float aValues[TILED_ROWS];
            float bValues[TILED_COLUMNS];
#pragma unroll
            for (int i = 0; i < TILED_ROWS; ++i) {
                aValues[i] = aTile[k][threadM + i * TILED_THREADS_M];
            }
#pragma unroll
            for (int j = 0; j < TILED_COLUMNS; ++j) {
                bValues[j] = bTile[k][threadN + j * TILED_THREADS_N];
            }
#pragma unroll
            for (int i = 0; i < TILED_ROWS; ++i) {
#pragma unroll
                for (int j = 0; j < TILED_COLUMNS; ++j) {
                    accumulator[i][j] = fma(aValues[i], bValues[j], accumulator[i][j]);
                }
            }
        }
        // Every work item is done with this step's blocks before the next step overwrites them.
        barrier(CLK_LOCAL_MEM_FENCE);
    }

#pragma unroll
    for (int i = 0; i < TILED_ROWS; ++i) {
        const int row = row0 + threadM + i * TILED_THREADS_M;
        if (row >= M) {
            continue;
        }
        const float rowStart = biasMode == 1 ? bias[row] : 0.0f;
#pragma unroll
        for (int j = 0; j < TILED_COLUMNS; ++j) {
            const int column = column0 + threadN + j * TILED_THREADS_N;
            if (column < N) {
                const float start = biasMode == 2 ? bias[column] : rowStart;
                c[(size_t)row * N + column] = kiln_product_epilogue(activation, slope, derivative, derivativeInput,
                                                                    (size_t)row * N + column, start + accumulator[i][j]);
            }
        }
    }
}
