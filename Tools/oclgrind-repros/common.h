// common.h: the few lines of OpenCL set-up the oclgrind reproductions share: the first device of the first
// platform (run under `oclgrind` that is the simulator; without it, the system's ICD, e.g. pocl), a context, a
// queue, and a program built from a string, exiting with the build log on failure.
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>

static cl_device_id repro_device;
static cl_context repro_context;
static cl_command_queue repro_queue;

static void repro_check(cl_int status, const char *what) {
    if (status != CL_SUCCESS) {
        fprintf(stderr, "%s failed: %d\n", what, status);
        exit(2);
    }
}

/// Opens the first device and builds `source` with `options`; prints which device runs the reproduction.
static cl_program repro_open(const char *source, const char *options) {
    cl_platform_id platform;
    cl_int status = clGetPlatformIDs(1, &platform, NULL);
    repro_check(status, "clGetPlatformIDs");
    repro_check(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &repro_device, NULL), "clGetDeviceIDs");
    char name[256];
    repro_check(clGetDeviceInfo(repro_device, CL_DEVICE_NAME, sizeof name, name, NULL), "clGetDeviceInfo");
    printf("device: %s\n", name);
    repro_context = clCreateContext(NULL, 1, &repro_device, NULL, NULL, &status);
    repro_check(status, "clCreateContext");
    repro_queue = clCreateCommandQueue(repro_context, repro_device, 0, &status);
    repro_check(status, "clCreateCommandQueue");
    cl_program program = clCreateProgramWithSource(repro_context, 1, &source, NULL, &status);
    repro_check(status, "clCreateProgramWithSource");
    if (clBuildProgram(program, 1, &repro_device, options, NULL, NULL) != CL_SUCCESS) {
        char log[16384];
        clGetProgramBuildInfo(program, repro_device, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL);
        fprintf(stderr, "build failed:\n%s\n", log);
        exit(2);
    }
    return program;
}

/// A buffer of `count` floats, filled from `values` when given.
static cl_mem repro_buffer(size_t count, const float *values) {
    cl_int status;
    cl_mem buffer = clCreateBuffer(repro_context, CL_MEM_READ_WRITE, count * sizeof(float), NULL, &status);
    repro_check(status, "clCreateBuffer");
    if (values) {
        repro_check(clEnqueueWriteBuffer(repro_queue, buffer, CL_TRUE, 0, count * sizeof(float), values, 0, NULL, NULL),
                    "clEnqueueWriteBuffer");
    }
    return buffer;
}

/// Runs `kernel` on one work item.
static void repro_run_once(cl_kernel kernel) {
    size_t one = 1;
    repro_check(clEnqueueNDRangeKernel(repro_queue, kernel, 1, NULL, &one, NULL, 0, NULL, NULL), "clEnqueueNDRangeKernel");
    repro_check(clFinish(repro_queue), "clFinish");
}
