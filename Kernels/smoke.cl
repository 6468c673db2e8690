// smoke.cl: the smallest kernel there is, for testing the OpenCL runtime (build, cache, launch).
//
// smoke_add: c[i] = a[i] + b[i] for i < n. Layout: three contiguous float vectors of length n.
// Reference: elementwise addition; covered by RuntimeTests.testSmokeKernelAwkwardSizes.
// Tunables: none. The launch may be rounded up past n (no non-uniform work groups on pocl), so the
// kernel bounds-checks.

__kernel void smoke_add(__global const float *a, __global const float *b, __global float *c, const int n) {
    const int i = (int)get_global_id(0);
    if (i < n) {
        c[i] = a[i] + b[i];
    }
}
