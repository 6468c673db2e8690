// partial-transfer-shadow.c: oclgrind 21.10's uninitialized-value checker reports reads of a buffer after a host-side
// write, copy or fill into part of it.
//
// The Uninitialized plugin (`--uninitialized`) records written bytes per buffer. A host-side store (the handler
// hostMemoryStore, which clEnqueueWriteBuffer, clEnqueueCopyBuffer and each pattern of clEnqueueFillBuffer go
// through) calls allocAndStoreShadowMemory, which replaces the buffer's whole record with a new one the size of that
// one store (ShadowMemory::allocate drops the old record) and then marks the store's bytes at their offset, which
// lies outside the new record unless the store starts at offset 0 (ShadowMemory::store ignores it). So after a write
// into the second half of a buffer, neither half counts as written, and a kernel reading the buffer is reported
// (the bytes of the new record are not even initialised, so which reads are reported varies). A write of the whole
// buffer at once works. Kiln met it in the LSTM sequence (h0 and c0 copied into the middle of its state buffer),
// in pooling and padding (zero fills) and in products on padded copies of B.
//
// Build and run (the false report goes to standard error; the sum itself is right):
//   cc -o partial-transfer-shadow partial-transfer-shadow.c -lOpenCL
//   oclgrind --uninitialized ./partial-transfer-shadow halves   -> "Uninitialized value written ..." (false)
//   oclgrind --uninitialized ./partial-transfer-shadow whole    -> no report
#include "common.h"
#include <string.h>

static const char *source =
    "__kernel void sum(__global const float *in, __global float *out, const int n) {\n"
    "    float s = 0.0f;\n"
    "    for (int i = 0; i < n; ++i) s += in[i];\n"
    "    out[0] = s;\n"
    "}\n";

int main(int argc, char **argv) {
    if (argc != 2 || (strcmp(argv[1], "halves") != 0 && strcmp(argv[1], "whole") != 0)) {
        fprintf(stderr, "usage: %s halves|whole\n", argv[0]);
        return 2;
    }
    cl_program program = repro_open(source, "");
    cl_int status;
    cl_kernel kernel = clCreateKernel(program, "sum", &status);
    repro_check(status, "clCreateKernel");
    int n = 64;
    float values[64];
    for (int i = 0; i < n; ++i) values[i] = (float)(i % 3);
    cl_mem data = repro_buffer(n, NULL), out = repro_buffer(1, NULL);
    if (strcmp(argv[1], "halves") == 0) {  // every byte written, in two writes
        repro_check(clEnqueueWriteBuffer(repro_queue, data, CL_TRUE, 0, n / 2 * sizeof(float), values, 0, NULL, NULL), "write");
        repro_check(clEnqueueWriteBuffer(repro_queue, data, CL_TRUE, n / 2 * sizeof(float), n / 2 * sizeof(float),
                                         values + n / 2, 0, NULL, NULL), "write");
    } else {
        repro_check(clEnqueueWriteBuffer(repro_queue, data, CL_TRUE, 0, n * sizeof(float), values, 0, NULL, NULL), "write");
    }
    clSetKernelArg(kernel, 0, sizeof data, &data);
    clSetKernelArg(kernel, 1, sizeof out, &out);
    clSetKernelArg(kernel, 2, sizeof n, &n);
    repro_run_once(kernel);
    float result;
    repro_check(clEnqueueReadBuffer(repro_queue, out, CL_TRUE, 0, sizeof result, &result, 0, NULL, NULL), "read");
    printf("sum %g, expected 63: %s (see standard error for oclgrind's reports)\n", result, result == 63 ? "right" : "WRONG");
    return result != 63;
}
