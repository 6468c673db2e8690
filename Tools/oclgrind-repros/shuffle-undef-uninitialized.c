// shuffle-undef-uninitialized.c: oclgrind 21.10's uninitialized-value checker mishandles `shufflevector` masks: it
// crashes (or reads stray memory) at an undefined lane, and reports lane 11 of an operand as uninitialized.
//
// The Uninitialized plugin (`--uninitialized`) means to mark a shuffle's undefined lanes poisoned, but compares the
// mask value with llvm::Value::UndefValueVal, which is not the -1 getMaskValue gives for such a lane but the number
// of the UndefValue kind of Value: 11 in LLVM 14 (src/plugins/Uninitialized.cpp, case ShuffleVector; upstream
// compares with PoisonMaskElem only when built with LLVM 21 or later). So:
//   - `fold`: LLVM 14 folds a horizontal sum (v.lo + v.hi, then x + y + z + w) into shuffles with undefined lanes
//     (`<i32 1, i32 undef, i32 undef, i32 undef>`). Such a lane counts as index -1, which, compared with the
//     unsigned lane count, takes the second operand at -1 - count: the copy of its record reads before the
//     operand's storage, a crash in memcpy (or a stray record).
//   - `odd`: the odd lanes of a float16 (`v.odd`) are a shuffle taking lane 11, which the plugin marks
//     uninitialized: a false report when the result is stored.
// The interpreter itself handles both masks, so without `--uninitialized` the results are right, as on pocl. Kiln met
// `fold` in conv2d_narrow_backward_weight's final fold of each float8 sum and in pool2d_backward_max_2x2's swizzle
// stores (`kiln check --quick` crashed under `oclgrind --uninitialized` in the convolution cases), and `odd` in the
// 2x2 max-pooling kernels' float16 loads.
//
// Build and run (exit status 1 when the result is wrong; the crash is a signal, the report goes to standard error):
//   cc -o shuffle-undef-uninitialized shuffle-undef-uninitialized.c -lOpenCL
//   ./shuffle-undef-uninitialized fold                            -> 36 (right; likewise `odd`: 1 3 ... 15)
//   oclgrind ./shuffle-undef-uninitialized fold                   -> 36 (right)
//   oclgrind --uninitialized ./shuffle-undef-uninitialized fold   -> Segmentation fault (on this machine, every run)
//   oclgrind --uninitialized ./shuffle-undef-uninitialized odd    -> "Uninitialized value written ..." (false)
#include "common.h"

#include <string.h>

static const char *source =
    "__kernel void fold(__global const float *in, __global float *out) {\n"
    "    const float8 s = vload8(0, in);\n"
    "    const float4 folded = s.lo + s.hi;\n"
    "    out[0] = (folded.x + folded.y) + (folded.z + folded.w);\n"
    "}\n"
    "__kernel void odd(__global const float *in, __global float *out) {\n"
    "    vstore8(vload16(0, in).odd, 0, out);\n"
    "}\n";

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);  // print the device line before a crash
    const int fold = argc == 2 && strcmp(argv[1], "fold") == 0;
    if (argc != 2 || (!fold && strcmp(argv[1], "odd") != 0)) {
        fprintf(stderr, "usage: %s fold|odd\n", argv[0]);
        return 2;
    }
    cl_program program = repro_open(source, "");
    cl_int status;
    cl_kernel kernel = clCreateKernel(program, argv[1], &status);
    repro_check(status, "clCreateKernel");
    float in[16];
    for (int i = 0; i < 16; ++i) in[i] = (float)(i + 1);
    cl_mem input = repro_buffer(16, in), out = repro_buffer(8, NULL);
    clSetKernelArg(kernel, 0, sizeof input, &input);
    clSetKernelArg(kernel, 1, sizeof out, &out);
    repro_run_once(kernel);
    float result[8];
    repro_check(clEnqueueReadBuffer(repro_queue, out, CL_TRUE, 0, (fold ? 1 : 8) * sizeof(float), result, 0, NULL, NULL), "read");
    int wrong = 0;
    if (fold) {
        wrong = result[0] != 36;
        printf("sum %g, expected 36: %s\n", result[0], wrong ? "WRONG" : "right");
    } else {
        for (int i = 0; i < 8; ++i) wrong |= result[i] != (float)(2 * i + 2);
        printf("odd lanes %g %g ... %g, expected 2 4 ... 16: %s (see standard error for oclgrind's reports)\n", result[0],
               result[1], result[7], wrong ? "WRONG" : "right");
    }
    return wrong;
}
