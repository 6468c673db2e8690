// vector-mask-not.c: oclgrind 21.10 computes `select(zero, g, first & ~later)` wrongly for vector comparison masks.
//
// OpenCL C vector comparisons give -1 (all bits) for true. LLVM 14 (the compiler inside oclgrind 21.10) turns
// `first & ~later` (later = b | c, used elsewhere too) into `and <4 x i1> %first, (xor <4 x i1> %later, <i1 true,
// ...>)` and a `sext`. The interpreter stores a true lane of a vector `fcmp` as -1 but the constant `<i1 true>` as 1,
// so the `xor` gives 0 ^ 1 = 1 for a false `later`, the `and` gives -1 & 1 = 1, and `sext` leaves it at 1: it
// sign-extends only when the operand's *total* width is one bit (getPrimitiveSizeInBits() == 1 is false for
// <4 x i1>; src/core/WorkItem.cpp, INSTRUCTION(sext), unchanged up to 26.03). `select` reads the top bit of 1,
// sees false, and picks `zero`. The same kernel is right on pocl, and right on oclgrind when built without
// optimisation (no `xor` on i1 then). Kiln met it in pool2d_backward_max_2x2: max pooling's gradient went to the
// wrong tap of a 2x2 window (the `pool1_fwdbwd` and `pool2_fwdbwd` bench workloads failed their check).
//
// Build and run (exit status 1 when the result is wrong):
//   cc -o vector-mask-not vector-mask-not.c -lOpenCL
//   ./vector-mask-not                                            -> 1 0 3 0 (pocl: right)
//   oclgrind ./vector-mask-not                                   -> 0 0 0 0 (wrong)
//   oclgrind --build-options -cl-opt-disable ./vector-mask-not   -> 1 0 3 0 (right)
#include "common.h"

static const char *source =
    "__kernel void mask_not(__global const float *a, __global const float *b, __global float *out) {\n"
    "    const float4 x = vload4(0, a), y = vload4(0, b), z = vload4(1, b);\n"
    "    const int4 first = x > y;               /* -1 0 -1 0 */\n"
    "    const int4 later = (z > x) | (z > y);   /*  0 0  0 0 */\n"
    "    const float4 g = (float4)(1.0f, 2.0f, 3.0f, 4.0f), zero = (float4)(0.0f);\n"
    "    vstore4(select(zero, g, first & ~later), 0, out);\n"
    "    vstore4(select(g, zero, first | later), 1, out); /* a second use of `later` keeps its `or` */\n"
    "}\n";

int main(void) {
    cl_program program = repro_open(source, "");
    cl_int status;
    cl_kernel kernel = clCreateKernel(program, "mask_not", &status);
    repro_check(status, "clCreateKernel");
    const float a[4] = {1, 0, 1, 0}, b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    cl_mem bufferA = repro_buffer(4, a), bufferB = repro_buffer(8, b), out = repro_buffer(8, NULL);
    clSetKernelArg(kernel, 0, sizeof bufferA, &bufferA);
    clSetKernelArg(kernel, 1, sizeof bufferB, &bufferB);
    clSetKernelArg(kernel, 2, sizeof out, &out);
    repro_run_once(kernel);
    float result[4];
    repro_check(clEnqueueReadBuffer(repro_queue, out, CL_TRUE, 0, sizeof result, result, 0, NULL, NULL), "read");
    const float expected[4] = {1, 0, 3, 0};
    int wrong = 0;
    for (int i = 0; i < 4; ++i) wrong |= result[i] != expected[i];
    printf("select(0, g, first & ~later) = %g %g %g %g, expected 1 0 3 0: %s\n", result[0], result[1], result[2],
           result[3], wrong ? "WRONG" : "right");
    return wrong;
}
