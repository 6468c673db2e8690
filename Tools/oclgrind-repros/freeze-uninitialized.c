// freeze-uninitialized.c: oclgrind 21.10's uninitialized-value checker stops a work item at LLVM's `freeze`.
//
// When a kernel computes both x / d and x % d, LLVM 14's DivRemPairs pass rewrites the remainder as
// x - (x / d) * d and marks x with `freeze` (`%x.frozen = freeze i32 %x`). oclgrind 21.10 executes `freeze`, but its
// Uninitialized plugin (`--uninitialized`) has no case for it: "OCLGRIND FATAL ERROR ... Unsupported instruction:
// freeze" (src/plugins/Uninitialized.cpp), and the work item stops there, so its output is never written. Upstream
// added the case in February 2026 (commit ee3a739, "Add support for LLVM's freeze instruction in Uninitialized
// plugin (#220)"); Debian 12's oclgrind 21.10 predates it. Without `--uninitialized` the kernel is right on
// oclgrind, and it is right on pocl. Kiln met it in most kernels that split a work-item index into coordinates
// (the MLP's losses printed as 0.0 under `oclgrind --uninitialized`); common.cl's kiln_divide writes the remainder
// from the quotient itself, which leaves nothing for DivRemPairs to pair.
//
// Build and run (exit status 1 when the result is wrong):
//   cc -o freeze-uninitialized freeze-uninitialized.c -lOpenCL
//   ./freeze-uninitialized                            -> 3 2 (right)
//   oclgrind ./freeze-uninitialized                   -> 3 2 (right)
//   oclgrind --uninitialized ./freeze-uninitialized   -> FATAL ERROR ... freeze, then -1 -1 (left unwritten: wrong)
#include "common.h"

static const char *source =
    "__kernel void divide(__global int *out, const int d) {\n"
    "    const int x = (int)get_global_id(0) + 17;  /* a value LLVM may not assume defined, unlike an argument */\n"
    "    out[0] = x / d;\n"
    "    out[1] = x % d;\n"
    "}\n";

int main(void) {
    cl_program program = repro_open(source, "");
    cl_int status;
    cl_kernel kernel = clCreateKernel(program, "divide", &status);
    repro_check(status, "clCreateKernel");
    cl_mem out = repro_buffer(2, NULL);  // two ints: the same four bytes each as a float
    const int before[2] = {-1, -1};
    repro_check(clEnqueueWriteBuffer(repro_queue, out, CL_TRUE, 0, sizeof before, before, 0, NULL, NULL), "write");
    const int d = 5;
    clSetKernelArg(kernel, 0, sizeof out, &out);
    clSetKernelArg(kernel, 1, sizeof d, &d);
    repro_run_once(kernel);
    int result[2];
    repro_check(clEnqueueReadBuffer(repro_queue, out, CL_TRUE, 0, sizeof result, result, 0, NULL, NULL), "read");
    const int wrong = result[0] != 3 || result[1] != 2;
    printf("17 / 5 = %d, 17 %% 5 = %d, expected 3 2: %s\n", result[0], result[1], wrong ? "WRONG" : "right");
    return wrong;
}
