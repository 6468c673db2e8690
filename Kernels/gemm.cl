// gemm.cl: matrix products C = op(A) . op(B), rank 2 and batched rank 3, float32.
//
// Layouts (contiguous, row-major, batch outermost; one launch covers every batch):
//   A [B, M, K]  (A^T stored [B, K, M] is read in place through the kernels' A strides, or for larger products first
//                transposed by gemm_transpose into a [B, M, K] scratch buffer)
//   B [B, K, N]  (B^T stored [B, N, K] is packed from B^T by gemm_pack_b, or read in place by gemm_forward_dot),
//                so the micro-kernel always reads rows of A and streams contiguous rows of B or of its panels
//   C [B, M, N]
// Batch strides are arguments, so conv2d (OpenCLBackend+Convolution.swift) also runs its im2col products here,
// sharing one weight matrix across the batch (stride 0) and starting each row from a bias.
// Reference: Matmul (Sources/KilnCore/Ops/Matmul.swift).
// Tests: Tests/KilnOpenCLTests/GemmKernelTests.swift (all four transpose combinations, batched, sizes 1, primes
// and one below / at / above the block sizes in M, N and K).
//
// gemm_forward: a CPU-style register-blocked micro-kernel (pocl runs work items as loops on CPU cores, where
// local-memory tiling only costs copies). Work item (x, y, z) computes rows x*GEMM_ROWS ..< +GEMM_ROWS and
// columns y*GEMM_BLOCK_COLUMNS ..< +GEMM_BLOCK_COLUMNS (one or, with GEMM_PAIRED, two blocks of GEMM_WIDTH) of C in
// batch z: per block GEMM_ROWS accumulators of GEMM_WIDTH floats held in
// registers, each step p broadcasting A[i, p] and streaming one vector of row p of B. Rows past M read row
// M - 1 (clamped, so the inner loop has no branch) and are not stored; a column block that sticks out past N
// reads B through clamped column indices into the same vector accumulators and stores only its columns. Every loop over the block carries `#pragma unroll`: without it pocl's
// compiler kept the accumulator array in memory (a load and a store around each FMA) and ran at 20-30 GFLOP/s
// instead of 120-160 at 256-1024 on the 2-core development machine.
// gemm_pack_b and gemm_forward_packed: the same micro-kernel on a B first copied into column panels, for large
// products (OpenCLBackend.packsB): panel j holds columns j*GEMM_WIDTH ..< +GEMM_WIDTH of B as K contiguous rows of
// GEMM_WIDTH floats (zeros past N). Streaming a panel of a row-major B touches one row of B, a new 4 KiB page and,
// when rows are a multiple of 4 KiB long, the same cache sets, per step p; a packed panel is one contiguous run. On
// the 2-core development machine (pocl, AMD EPYC, CPU time of one product) this took 1024^3 from about 185 to 210
// GFLOP/s and 2048^3 from about 145 to 185; each work item then also walks `panels` consecutive panels for one
// block of rows, so that block's rows of A stay in cache across them (2048^3: 185 -> 205 with 8 panels).
// Each element of C is the same chain of fmas in the same order as gemm_forward's, so the results are identical.
// gemm_forward_dot: the product on B^T read in place, as dot products of rows, for few rows of A (no packing pass).
// gemm_transpose: out[b, j, i] = in[b, i, j], tiled (B^T [B, N, K] -> B [B, K, N], A^T [B, K, M] -> A [B, M, K]).
//
// Tunables (-D, chosen by OpenCLBackend+Matmul.swift's kernel description):
//   GEMM_ROWS   rows of C per work item, 1..12 (default 6: 6 x 16 floats = 12 AVX2 registers of accumulators)
//   GEMM_WIDTH  columns of C per work item, the vector width: 4, 8 or 16 (default 16)
//   GEMM_TILE   rows and columns of the square tile one work item of gemm_transpose moves, 1..16 (default 8)
//   GEMM_PAIRED 1: gemm_forward's work items take two column blocks and gemm_forward_packed's walk their panels two at
//               a time (2 x GEMM_ROWS accumulators, each value of A loaded once for both), for devices whose
//               registers hold GEMM_WIDTH floats; 0: one at a time (default)
//   GEMM_DOT_WIDTH  lanes of gemm_forward_dot's partial sums, 8 (default) or 16

#include "common.cl"

KILN_DEFINE_UNARY(float)
KILN_DEFINE_PRODUCT_EPILOGUE

#ifndef GEMM_ROWS
#define GEMM_ROWS 6
#endif
#ifndef GEMM_WIDTH
#define GEMM_WIDTH 16
#endif
#ifndef GEMM_TILE
#define GEMM_TILE 8
#endif
#ifndef GEMM_PAIRED
#define GEMM_PAIRED 0
#endif

#if GEMM_ROWS < 1 || GEMM_ROWS > 12
#error "GEMM_ROWS must be between 1 and 12"
#endif
#if GEMM_WIDTH != 4 && GEMM_WIDTH != 8 && GEMM_WIDTH != 16
#error "GEMM_WIDTH must be 4, 8 or 16"
#endif
#if GEMM_TILE < 1 || GEMM_TILE > 16
#error "GEMM_TILE must be between 1 and 16"
#endif
#if GEMM_PAIRED != 0 && GEMM_PAIRED != 1
#error "GEMM_PAIRED must be 0 or 1"
#endif
#ifndef GEMM_DOT_WIDTH
#define GEMM_DOT_WIDTH 8
#endif
#if GEMM_DOT_WIDTH != 8 && GEMM_DOT_WIDTH != 16
#error "GEMM_DOT_WIDTH must be 8 or 16"
#endif
// Columns of C one work item of gemm_forward computes.
#define GEMM_BLOCK_COLUMNS (GEMM_WIDTH * (1 + GEMM_PAIRED))

#define gemm_vector KILN_JOIN(float, GEMM_WIDTH)
#define gemm_vload KILN_JOIN(vload, GEMM_WIDTH)
#define gemm_vstore KILN_JOIN(vstore, GEMM_WIDTH)

KILN_DEFINE_UNARY(gemm_vector)

// kiln_product_epilogue on a whole row vector of C starting at element `index`, the functions applied to the vector
// (one switch per vector rather than per element: the per-element epilogue cost 0.1 ms on a [64, 256] product whose
// sums took 0.03).
inline gemm_vector gemm_epilogue(const int activation, const float slope, const int derivative, __global const float *x,
                                 const size_t index, const gemm_vector value) {
    const gemm_vector activated = KILN_JOIN(kiln_unary_, gemm_vector)(activation, value, slope);
    return derivative == KILN_UNARY_NONE
               ? activated
               : activated * KILN_JOIN(kiln_unary_derivative_, gemm_vector)(derivative, gemm_vload(0, x + index), slope);
}

// The offsets of a block's GEMM_ROWS rows of A from row0, rows `aRowStride` floats apart (rows past M repeat row M - 1
// and are never stored), and each row's starting value: bias[row] when biasMode is 1, else 0.
inline void gemm_rows(const int row0, const int M, const int aRowStride, __global const float *bias, const int biasMode,
                      int *rowOffset, float *rowStart) {
    #pragma unroll
    for (int r = 0; r < GEMM_ROWS; ++r) {
        rowOffset[r] = min(row0 + r, M - 1) * aRowStride;
        rowStart[r] = biasMode == 1 ? bias[min(row0 + r, M - 1)] : 0.0f;
    }
}

// accumulator[r] += A[row r, p] * B[p, 0 ..< GEMM_WIDTH] for p in 0 ..< K, one fma per element in order of p: A's
// columns are `aStep` floats apart, B's rows GEMM_WIDTH contiguous floats `bStride` apart (B itself, or a packed panel).
inline void gemm_accumulate(__global const float *aColumn, const int *rowOffset, const int aStep,
                            __global const float *bRow, const int bStride, const int K, gemm_vector *accumulator) {
    for (int p = 0; p < K; ++p) {
        const gemm_vector bValues = gemm_vload(0, bRow);
        #pragma unroll
        for (int r = 0; r < GEMM_ROWS; ++r) {
            accumulator[r] = fma((gemm_vector)(aColumn[rowOffset[r]]), bValues, accumulator[r]);
        }
        aColumn += aStep;
        bRow += bStride;
    }
}

// gemm_accumulate for two column blocks at once, the second `bSecond` floats after the first: each A[row r, p] is
// broadcast once for both, so a step loads two vectors of B and GEMM_ROWS values of A for 2 * GEMM_ROWS fmas. Each
// element is the same chain of fmas in the same order as gemm_accumulate's.
inline void gemm_accumulate_pair(__global const float *aColumn, const int *rowOffset, const int aStep,
                                 __global const float *bRow, const int bSecond, const int bStride, const int K,
                                 gemm_vector *first, gemm_vector *second) {
    for (int p = 0; p < K; ++p) {
        const gemm_vector bFirst = gemm_vload(0, bRow), bNext = gemm_vload(0, bRow + bSecond);
        #pragma unroll
        for (int r = 0; r < GEMM_ROWS; ++r) {
            const gemm_vector aValue = (gemm_vector)(aColumn[rowOffset[r]]);
            first[r] = fma(aValue, bFirst, first[r]);
            second[r] = fma(aValue, bNext, second[r]);
        }
        aColumn += aStep;
        bRow += bStride;
    }
}

// A column block's accumulators before its first step: each row's start plus, with biasMode 2, the block's columns of
// bias (columns past N repeat column N - 1 and are never stored).
inline void gemm_block_start(const int column0, const int N, const float *rowStart, __global const float *bias,
                             const int biasMode, gemm_vector *accumulator) {
    gemm_vector columnStart = (gemm_vector)(0.0f);
    if (biasMode == 2) {
        #pragma unroll
        for (int t = 0; t < GEMM_WIDTH; ++t) {
            columnStart[t] = bias[min(column0 + t, N - 1)];
        }
    }
    #pragma unroll
    for (int r = 0; r < GEMM_ROWS; ++r) {
        accumulator[r] = (gemm_vector)(rowStart[r]) + columnStart;
    }
}

// Stores a column block's rows below M and columns below N through the epilogue.
inline void gemm_block_store(const int column0, const int row0, const int M, const int N, __global float *c,
                             const int activation, const float slope, const int derivative,
                             __global const float *derivativeInput, gemm_vector *accumulator) {
    const int width = min(GEMM_WIDTH, N - column0);
    #pragma unroll
    for (int r = 0; r < GEMM_ROWS; ++r) {
        if (row0 + r < M) {
            const size_t rowIndex = (size_t)(row0 + r) * N + column0;
            if (width == GEMM_WIDTH) {
                if (activation != KILN_UNARY_NONE || derivative != KILN_UNARY_NONE) {
                    accumulator[r] = gemm_epilogue(activation, slope, derivative, derivativeInput, rowIndex, accumulator[r]);
                }
                gemm_vstore(accumulator[r], 0, c + rowIndex);
            } else {
                #pragma unroll
                for (int t = 0; t < GEMM_WIDTH; ++t) {
                    if (t < width) {
                        c[rowIndex + t] = kiln_product_epilogue(activation, slope, derivative, derivativeInput,
                                                                rowIndex + t, accumulator[r][t]);
                    }
                }
            }
        }
    }
}

// Two column blocks from column0 at once (gemm_accumulate_pair), started, summed and stored: B's first block at bRow,
// its second `bSecond` floats after it, its rows `bStride` floats apart.
inline void gemm_block_pair(const int column0, __global const float *a, const int *rowOffset, const int aStep,
                            const float *rowStart, __global const float *bRow, const int bSecond, const int bStride,
                            __global float *c, const int row0, const int M, const int N, const int K,
                            __global const float *bias, const int biasMode, const int activation, const float slope,
                            __global const float *derivativeInput, const int derivative) {
    gemm_vector first[GEMM_ROWS], second[GEMM_ROWS];
    gemm_block_start(column0, N, rowStart, bias, biasMode, first);
    gemm_block_start(column0 + GEMM_WIDTH, N, rowStart, bias, biasMode, second);
    gemm_accumulate_pair(a, rowOffset, aStep, bRow, bSecond, bStride, K, first, second);
    gemm_block_store(column0, row0, M, N, c, activation, slope, derivative, derivativeInput, first);
    gemm_block_store(column0 + GEMM_WIDTH, row0, M, N, c, activation, slope, derivative, derivativeInput, second);
}

// One column block of gemm_forward from column0 (B row-major, rows N floats apart). When only `N - column0` <
// GEMM_WIDTH columns exist, B is read through clamped column indices into the same vector accumulators (lanes past
// the last column repeat column N - 1 and are never stored), so the block stays in registers; a scalar
// [rows][width] array here spilled and cost as much as the whole vector path on a 196-column product.
inline void gemm_forward_block(const int column0, __global const float *a, const int *rowOffset, const int aStep,
                               const float *rowStart, __global const float *b, __global float *c, const int row0,
                               const int M, const int N, const int K, __global const float *bias, const int biasMode,
                               const int activation, const float slope, __global const float *derivativeInput,
                               const int derivative) {
    gemm_vector accumulator[GEMM_ROWS];
    gemm_block_start(column0, N, rowStart, bias, biasMode, accumulator);
    if (column0 + GEMM_WIDTH <= N) {
        gemm_accumulate(a, rowOffset, aStep, b + column0, N, K, accumulator);
    } else {
        int columnOffset[GEMM_WIDTH];
        #pragma unroll
        for (int t = 0; t < GEMM_WIDTH; ++t) {
            columnOffset[t] = min(column0 + t, N - 1);
        }
        __global const float *aColumn = a;
        __global const float *bRow = b;
        for (int p = 0; p < K; ++p) {
            gemm_vector bValues;
            #pragma unroll
            for (int t = 0; t < GEMM_WIDTH; ++t) {
                bValues[t] = bRow[columnOffset[t]];
            }
            #pragma unroll
            for (int r = 0; r < GEMM_ROWS; ++r) {
                accumulator[r] = fma((gemm_vector)(aColumn[rowOffset[r]]), bValues, accumulator[r]);
            }
            aColumn += aStep;
            bRow += N;
        }
    }
    gemm_block_store(column0, row0, M, N, c, activation, slope, derivative, derivativeInput, accumulator);
}

// Batch z reads A at a + z * aBatchStride and B at b + z * bBatchStride and writes C at c + z * cBatchStride
// (a stride of 0 shares one matrix across the batch); element (i, p) of A is at i * aRowStride + p * aStep: (K, 1)
// for A [M, K], (1, M) for A^T [K, M] read in place. biasMode 1: row i of C starts from bias[i] (convolution);
// biasMode 2: column j starts from bias[j] (linear layers); 0: no bias. The epilogue applies the unary function
// `activation` (a KILN_UNARY_* code, KILN_UNARY_NONE for none; `slope` is leakyRelu's) to each element of C as it is
// stored: common.cl's kiln_unary_float, the same function the elementwise kernels apply; with `derivative` a
// KILN_UNARY_* code it multiplies each element by that function's derivative at derivativeInput's element of the same
// index (laid out as C; the linearGradient op), common.cl's kiln_product_epilogue. With GEMM_PAIRED a work item
// computes two adjacent column blocks (GEMM_BLOCK_COLUMNS columns), both at once when both are whole.
__kernel void gemm_forward(__global const float *a, __global const float *b, __global float *c, const int M,
                           const int N, const int K, const int aRowStride, const int aStep, const int aBatchStride,
                           const int bBatchStride, const int cBatchStride, __global const float *bias, const int biasMode,
                           const int activation, const float slope, __global const float *derivativeInput,
                           const int derivative) {
    // Dimension 0 walks down the rows so that consecutive work items share the same column panel of B.
    const int row0 = (int)get_global_id(0) * GEMM_ROWS;
    const int column0 = (int)get_global_id(1) * GEMM_BLOCK_COLUMNS;
    const int batch = (int)get_global_id(2);
    if (column0 >= N || row0 >= M) {
        return;
    }
    a += (size_t)batch * aBatchStride;
    b += (size_t)batch * bBatchStride;
    c += (size_t)batch * cBatchStride;
    derivativeInput += (size_t)batch * cBatchStride;

    int rowOffset[GEMM_ROWS];
    float rowStart[GEMM_ROWS];
    gemm_rows(row0, M, aRowStride, bias, biasMode, rowOffset, rowStart);
#if GEMM_PAIRED
    if (column0 + 2 * GEMM_WIDTH <= N) {
        gemm_block_pair(column0, a, rowOffset, aStep, rowStart, b + column0, GEMM_WIDTH, N, c, row0, M, N, K, bias, biasMode,
                        activation, slope, derivativeInput, derivative);
        return;
    }
    for (int block = column0; block < min(column0 + 2 * GEMM_WIDTH, N); block += GEMM_WIDTH) {
        gemm_forward_block(block, a, rowOffset, aStep, rowStart, b, c, row0, M, N, K, bias, biasMode, activation, slope,
                           derivativeInput, derivative);
    }
#else
    gemm_forward_block(column0, a, rowOffset, aStep, rowStart, b, c, row0, M, N, K, bias, biasMode, activation, slope,
                       derivativeInput, derivative);
#endif
}

// Packs B [batch][K][N] (batches `bBatchStride` floats apart) into `packed` [batch][panels][K][GEMM_WIDTH], panels =
// ceil(N / GEMM_WIDTH), zeros past column N; with `transposed` set, B is stored as B^T [batch][N][K] (a linear
// layer's weight), so packing is the transpose too. Work item (x, y, z) copies rows y*GEMM_PACK_ROWS ..<
// +GEMM_PACK_ROWS of panel x of batch z.
#define GEMM_PACK_ROWS 32
__kernel void gemm_pack_b(__global const float *b, __global float *packed, const int K, const int N,
                          const int bBatchStride, const int transposed) {
    const int panel = (int)get_global_id(0);
    const int k0 = (int)get_global_id(1) * GEMM_PACK_ROWS;
    const int batch = (int)get_global_id(2);
    const int panels = (N + GEMM_WIDTH - 1) / GEMM_WIDTH;
    if (panel >= panels || k0 >= K) {
        return;
    }
    const int column0 = panel * GEMM_WIDTH;
    const int rows = min(GEMM_PACK_ROWS, K - k0);
    __global float *destination = packed + (((size_t)batch * panels + panel) * K + k0) * GEMM_WIDTH;
    if (transposed) {
        // Column column0 + t of B is row column0 + t of B^T (columns past N read row N - 1 and store zeros). Eight
        // steps k at a time go through registers as gemm_transpose's tiles do: one vector of eight along each of the
        // GEMM_WIDTH rows, then eight rows of the panel (one float at a time from each row cost twice as long).
        __global const float *source = b + (size_t)batch * bBatchStride + k0;
        int k = 0;
        for (; k + 8 <= rows; k += 8) {
            float8 tile[GEMM_WIDTH];
            #pragma unroll
            for (int t = 0; t < GEMM_WIDTH; ++t) {
                tile[t] = column0 + t < N ? vload8(0, source + (size_t)(column0 + t) * K + k) : (float8)(0.0f);
            }
            #pragma unroll
            for (int j = 0; j < 8; ++j) {
                #pragma unroll
                for (int t = 0; t < GEMM_WIDTH; ++t) {
                    destination[(k + j) * GEMM_WIDTH + t] = tile[t][j];
                }
            }
        }
        for (; k < rows; ++k) {
            #pragma unroll
            for (int t = 0; t < GEMM_WIDTH; ++t) {
                destination[k * GEMM_WIDTH + t] = column0 + t < N ? source[(size_t)(column0 + t) * K + k] : 0.0f;
            }
        }
        return;
    }
    __global const float *source = b + (size_t)batch * bBatchStride + (size_t)k0 * N + column0;
    if (column0 + GEMM_WIDTH <= N) {
        for (int k = 0; k < rows; ++k) {
            gemm_vstore(gemm_vload(0, source + (size_t)k * N), 0, destination + k * GEMM_WIDTH);
        }
    } else {
        const int width = N - column0;
        for (int k = 0; k < rows; ++k) {
            gemm_vector values = (gemm_vector)(0.0f);
            #pragma unroll
            for (int t = 0; t < GEMM_WIDTH; ++t) {
                values[t] = t < width ? source[(size_t)k * N + t] : 0.0f;
            }
            gemm_vstore(values, 0, destination + k * GEMM_WIDTH);
        }
    }
}

// gemm_forward with B packed by gemm_pack_b (batches `packedBatchStride` floats apart, 0 to share one). Work item
// (x, y, z) computes rows x*GEMM_ROWS ..< +GEMM_ROWS of C in batch z for panels y*panels ..< +panels.
__kernel void gemm_forward_packed(__global const float *a, __global const float *packed, __global float *c, const int M,
                                  const int N, const int K, const int aRowStride, const int aStep,
                                  const int aBatchStride, const int packedBatchStride,
                                  const int cBatchStride, const int panels, __global const float *bias,
                                  const int biasMode, const int activation, const float slope,
                                  __global const float *derivativeInput, const int derivative) {
    const int row0 = (int)get_global_id(0) * GEMM_ROWS;
    const int panelCount = (N + GEMM_WIDTH - 1) / GEMM_WIDTH;
    const int firstPanel = (int)get_global_id(1) * panels;
    const int batch = (int)get_global_id(2);
    if (firstPanel >= panelCount || row0 >= M) {
        return;
    }
    a += (size_t)batch * aBatchStride;
    packed += (size_t)batch * packedBatchStride;
    c += (size_t)batch * cBatchStride;
    derivativeInput += (size_t)batch * cBatchStride;

    int rowOffset[GEMM_ROWS];
    float rowStart[GEMM_ROWS];
    gemm_rows(row0, M, aRowStride, bias, biasMode, rowOffset, rowStart);
    const int lastPanel = min(firstPanel + panels, panelCount);
    int panel = firstPanel;
#if GEMM_PAIRED
    for (; panel + 1 < lastPanel; panel += 2) {
        gemm_block_pair(panel * GEMM_WIDTH, a, rowOffset, aStep, rowStart, packed + (size_t)panel * K * GEMM_WIDTH,
                        K * GEMM_WIDTH, GEMM_WIDTH, c, row0, M, N, K, bias, biasMode, activation, slope, derivativeInput,
                        derivative);
    }
#endif
    for (; panel < lastPanel; ++panel) {
        gemm_vector accumulator[GEMM_ROWS];
        gemm_block_start(panel * GEMM_WIDTH, N, rowStart, bias, biasMode, accumulator);
        gemm_accumulate(a, rowOffset, aStep, packed + (size_t)panel * K * GEMM_WIDTH, GEMM_WIDTH, K, accumulator);
        gemm_block_store(panel * GEMM_WIDTH, row0, M, N, c, activation, slope, derivative, derivativeInput, accumulator);
    }
}

// gemm_forward with B stored as B^T [batch][N][K] and read in place, for products with few rows (a linear layer's
// forward at a small batch; OpenCLBackend.dotProductForm): C[i, j] is the dot product of row i of A and row j of B^T,
// both contiguous along K, so nothing is packed and the product is one launch. Work item (x, y, z) computes rows
// x*GEMM_DOT_ROWS ..< +GEMM_DOT_ROWS and columns y*GEMM_DOT_COLUMNS ..< +GEMM_DOT_COLUMNS of C in batch z: one float8
// of partial sums per element (12 AVX2 registers; with the three vectors of A and one of B^T all 16), eight steps of
// K per iteration; rows and columns past M and N read row M - 1 and N - 1 (clamped, so the loop has no branch) and are
// not stored. Each row's four partial sums are then folded together (gemm_dot_sums), the steps past the last multiple
// of eight added, and the row's four elements finished and stored as one float4 (bias, activation, derivative): with
// 2 × 6 elements per item, each summed, finished and stored alone, the work after the loop took 29% of the MLP's first
// layer (64×256×784) and this kernel ran in 0.70-0.83 of that one's time at 64×256×784, 64×128×256, 63×10×128 and
// 16×1024×1024 (pocl, AMD EPYC with AVX2, 2026-12-07, a C harness, median of 40 interleaved rounds), with results
// identical to it. The sums run in another order than gemm_forward's (eight lanes, then the lanes pairwise), so the
// results differ from it by rounding. With GEMM_DOT_WIDTH 16 (devices whose registers hold 16 floats) the partial sums
// are float16, sixteen steps of K per iteration, each folded to eight lanes (low half plus high half) first.
#define GEMM_DOT_ROWS (GEMM_DOT_WIDTH == 16 ? 4 : 3)
#define GEMM_DOT_COLUMNS 4
#define gemm_dot_vector KILN_JOIN(float, GEMM_DOT_WIDTH)
#define gemm_dot_vload KILN_JOIN(vload, GEMM_DOT_WIDTH)
#if GEMM_DOT_WIDTH == 16
#define gemm_dot_eight(p) ((p).lo + KILN_HIGH16(p))
#else
#define gemm_dot_eight(p) (p)
#endif
#if GEMM_WIDTH != 4
KILN_DEFINE_UNARY(float4)
#endif

// The sums of the eight lanes of each of p0 ..< p3, each folded in kiln_sum8's order ((lo + hi), then (x + y) + (z + w)),
// four columns at once.
inline float4 gemm_dot_sums(const float8 p0, const float8 p1, const float8 p2, const float8 p3) {
    const float8 halves01 = (float8)(p0.lo + p0.hi, p1.lo + p1.hi);
    const float8 halves23 = (float8)(p2.lo + p2.hi, p3.lo + p3.hi);
    const float8 pairs = (float8)(halves01.even + halves01.odd, halves23.even + halves23.odd);
    return pairs.even + pairs.odd;
}

__kernel void gemm_forward_dot(__global const float *a, __global const float *bTransposed, __global float *c,
                               const int M, const int N, const int K, const int aBatchStride, const int bBatchStride,
                               const int cBatchStride, __global const float *bias, const int biasMode,
                               const int activation, const float slope, __global const float *derivativeInput,
                               const int derivative) {
    const int row0 = (int)get_global_id(0) * GEMM_DOT_ROWS;
    const int column0 = (int)get_global_id(1) * GEMM_DOT_COLUMNS;
    const int batch = (int)get_global_id(2);
    if (row0 >= M || column0 >= N) {
        return;
    }
    a += (size_t)batch * aBatchStride;
    bTransposed += (size_t)batch * bBatchStride;
    c += (size_t)batch * cBatchStride;
    derivativeInput += (size_t)batch * cBatchStride;

    // Offsets rather than pointers: with an array of row pointers the loop ran about a third slower on pocl.
    int aRow[GEMM_DOT_ROWS];
    #pragma unroll
    for (int r = 0; r < GEMM_DOT_ROWS; ++r) {
        aRow[r] = min(row0 + r, M - 1) * K;
    }
    int bRow[GEMM_DOT_COLUMNS];
    #pragma unroll
    for (int j = 0; j < GEMM_DOT_COLUMNS; ++j) {
        bRow[j] = min(column0 + j, N - 1) * K;
    }
    gemm_dot_vector partial[GEMM_DOT_ROWS][GEMM_DOT_COLUMNS];
    #pragma unroll
    for (int r = 0; r < GEMM_DOT_ROWS; ++r) {
        #pragma unroll
        for (int j = 0; j < GEMM_DOT_COLUMNS; ++j) {
            partial[r][j] = (gemm_dot_vector)(0.0f);
        }
    }
    int p = 0;
    for (; p + GEMM_DOT_WIDTH <= K; p += GEMM_DOT_WIDTH) {
        gemm_dot_vector aValues[GEMM_DOT_ROWS];
        #pragma unroll
        for (int r = 0; r < GEMM_DOT_ROWS; ++r) {
            aValues[r] = gemm_dot_vload(0, a + aRow[r] + p);
        }
        #pragma unroll
        for (int j = 0; j < GEMM_DOT_COLUMNS; ++j) {
            const gemm_dot_vector bValues = gemm_dot_vload(0, bTransposed + bRow[j] + p);
            #pragma unroll
            for (int r = 0; r < GEMM_DOT_ROWS; ++r) {
                partial[r][j] = fma(aValues[r], bValues, partial[r][j]);
            }
        }
    }
    float4 columnStart = (float4)(0.0f);
    if (biasMode == 2) {
        columnStart = (float4)(bias[min(column0, N - 1)], bias[min(column0 + 1, N - 1)], bias[min(column0 + 2, N - 1)],
                               bias[min(column0 + 3, N - 1)]);
    }
    const int width = min(GEMM_DOT_COLUMNS, N - column0);
    #pragma unroll
    for (int r = 0; r < GEMM_DOT_ROWS; ++r) {
        const int row = row0 + r;
        if (row < M) {
            float4 sums = gemm_dot_sums(gemm_dot_eight(partial[r][0]), gemm_dot_eight(partial[r][1]),
                                        gemm_dot_eight(partial[r][2]), gemm_dot_eight(partial[r][3]));
            for (int q = p; q < K; ++q) {
                const float4 bValues = (float4)(bTransposed[bRow[0] + q], bTransposed[bRow[1] + q],
                                                bTransposed[bRow[2] + q], bTransposed[bRow[3] + q]);
                sums = fma((float4)(a[aRow[r] + q]), bValues, sums);
            }
            const float4 value = sums + (biasMode == 1 ? (float4)(bias[row]) : columnStart);
            const size_t index = (size_t)row * N + column0;
            if (width == GEMM_DOT_COLUMNS) {
                float4 stored = value;
                if (activation != KILN_UNARY_NONE || derivative != KILN_UNARY_NONE) {
                    stored = kiln_unary_float4(activation, value, slope);
                    if (derivative != KILN_UNARY_NONE) {
                        stored *= kiln_unary_derivative_float4(derivative, vload4(0, derivativeInput + index), slope);
                    }
                }
                vstore4(stored, 0, c + index);
            } else {
                #pragma unroll
                for (int t = 0; t < GEMM_DOT_COLUMNS; ++t) {
                    if (t < width) {
                        c[index + t] = kiln_product_epilogue(activation, slope, derivative, derivativeInput, index + t, value[t]);
                    }
                }
            }
        }
    }
}

// out[batch, j, i] = in[batch, i, j]: `in` is [batch, rows, columns], `out` is [batch, columns, rows]. Work item
// (x, y, z) moves the GEMM_TILE x GEMM_TILE tile at rows x*GEMM_TILE, columns y*GEMM_TILE of batch z through
// registers, so both the reads and the writes are runs of GEMM_TILE consecutive floats. When GEMM_TILE is a vector
// width (2, 4, 8, 16) each row of the tile is read as one vector: pocl's compiler did not merge the scalar loads, and
// the vector loads moved [1024, 512] in about 130-155 us instead of 180-290 on the 2-core development machine
// (writing the columns as vectors too gained nothing more there, and crashed oclgrind 21.10 under --uninitialized with
// signal 11, as the shuffle defect of Tools/oclgrind-repros/shuffle-undef-uninitialized.c does).
#if GEMM_TILE == 2 || GEMM_TILE == 4 || GEMM_TILE == 8 || GEMM_TILE == 16
#define GEMM_TILE_VECTORS 1
#define gemm_tile_vector KILN_JOIN(float, GEMM_TILE)
#else
#define GEMM_TILE_VECTORS 0
#endif
__kernel void gemm_transpose(__global const float *in, __global float *out, const int rows, const int columns) {
    const int row0 = (int)get_global_id(0) * GEMM_TILE;
    const int column0 = (int)get_global_id(1) * GEMM_TILE;
    const int batch = (int)get_global_id(2);
    if (row0 >= rows || column0 >= columns) {
        return;
    }
    in += (size_t)batch * rows * columns;
    out += (size_t)batch * rows * columns;
    if (row0 + GEMM_TILE <= rows && column0 + GEMM_TILE <= columns) {
#if GEMM_TILE_VECTORS
        gemm_tile_vector tile[GEMM_TILE];
        #pragma unroll
        for (int i = 0; i < GEMM_TILE; ++i) {
            tile[i] = KILN_JOIN(vload, GEMM_TILE)(0, in + (size_t)(row0 + i) * columns + column0);
        }
#else
        float tile[GEMM_TILE][GEMM_TILE];
        #pragma unroll
        for (int i = 0; i < GEMM_TILE; ++i) {
            #pragma unroll
            for (int j = 0; j < GEMM_TILE; ++j) {
                tile[i][j] = in[(size_t)(row0 + i) * columns + column0 + j];
            }
        }
#endif
        #pragma unroll
        for (int j = 0; j < GEMM_TILE; ++j) {
            #pragma unroll
            for (int i = 0; i < GEMM_TILE; ++i) {
                out[(size_t)(column0 + j) * rows + row0 + i] = tile[i][j];
            }
        }
    } else {
        // A tile at the bottom or right edge: only the elements inside the matrix.
        for (int i = 0; i < min(GEMM_TILE, rows - row0); ++i) {
            for (int j = 0; j < min(GEMM_TILE, columns - column0); ++j) {
                out[(size_t)(column0 + j) * rows + row0 + i] = in[(size_t)(row0 + i) * columns + column0 + j];
            }
        }
    }
}
