// The OpenCL C API as Kiln uses it: 1.2 entry points, no deprecation noise.
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
