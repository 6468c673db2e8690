// released-buffer-shadow.c: oclgrind 21.10's uninitialized-value checker reports a false "uninitialized" read after
// a buffer is released and a larger one created.
//
// The Uninitialized plugin (`--uninitialized`) keeps, per buffer number, a shadow recording which bytes were written.
// It makes that shadow when the host first writes the buffer, or when a kernel first takes the buffer as an argument
// (all "unwritten", the buffer's size); it never drops it when the buffer is released (there is no memoryDeallocated
// hook; the memoryAllocated one is commented out: src/plugins/Uninitialized.cpp, also at 26.03). oclgrind hands a
// released buffer's number to the next buffer created. If that buffer is larger and only kernels write it, the shadow
// keeps the old size: a kernel's stores past it are dropped from the record (ShadowMemory::store ignores addresses
// beyond the shadow), and a later kernel that reads them is reported. Kiln releases and creates buffers as plans and
// scratch memory come and go, which gave "Controlflow depends on uninitialized value" in gemm_forward on data another
// kernel had just written. The values are right; only the report is false. It does not happen when the buffer is
// not released first, or when the new buffer is no larger (run with the arguments below).
//
// Build and run (the false report goes to standard error; the sum itself is right):
//   cc -o released-buffer-shadow released-buffer-shadow.c -lOpenCL
//   oclgrind --uninitialized ./released-buffer-shadow release 4 64   -> "Uninitialized value written ..." (false)
//   oclgrind --uninitialized ./released-buffer-shadow keep 4 64      -> no report
//   oclgrind --uninitialized ./released-buffer-shadow release 64 64  -> no report
#include "common.h"
#include <string.h>

static const char *source =
    "__kernel void fill(__global float *out, const int n) {\n"
    "    for (int i = 0; i < n; ++i) out[i] = (float)(i % 3);\n"
    "}\n"
    "__kernel void sum(__global const float *in, __global float *out, const int n) {\n"
    "    float s = 0.0f;\n"
    "    for (int i = 0; i < n; ++i) s += in[i];\n"
    "    out[0] = s;\n"
    "}\n";

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s release|keep FIRST_FLOATS SECOND_FLOATS\n", argv[0]);
        return 2;
    }
    const int release = strcmp(argv[1], "release") == 0;
    int first = atoi(argv[2]), second = atoi(argv[3]);
    cl_program program = repro_open(source, "");
    cl_int status;
    cl_kernel fill = clCreateKernel(program, "fill", &status);
    repro_check(status, "clCreateKernel(fill)");
    cl_kernel sum = clCreateKernel(program, "sum", &status);
    repro_check(status, "clCreateKernel(sum)");
    // A buffer written by a kernel, then released (or kept).
    cl_mem old = repro_buffer(first, NULL);
    clSetKernelArg(fill, 0, sizeof old, &old);
    clSetKernelArg(fill, 1, sizeof first, &first);
    repro_run_once(fill);
    if (release) clReleaseMemObject(old);
    // A new buffer, written in full by a kernel, then read by another.
    cl_mem data = repro_buffer(second, NULL), out = repro_buffer(1, NULL);
    clSetKernelArg(fill, 0, sizeof data, &data);
    clSetKernelArg(fill, 1, sizeof second, &second);
    repro_run_once(fill);
    clSetKernelArg(sum, 0, sizeof data, &data);
    clSetKernelArg(sum, 1, sizeof out, &out);
    clSetKernelArg(sum, 2, sizeof second, &second);
    repro_run_once(sum);
    float result;
    repro_check(clEnqueueReadBuffer(repro_queue, out, CL_TRUE, 0, sizeof result, &result, 0, NULL, NULL), "read");
    float expected = 0;
    for (int i = 0; i < second; ++i) expected += (float)(i % 3);
    printf("sum %g, expected %g: %s (see standard error for oclgrind's reports)\n", result, expected,
           result == expected ? "right" : "WRONG");
    return result != expected;
}
