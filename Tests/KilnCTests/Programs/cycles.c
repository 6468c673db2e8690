/*
 * cycles.c: creates, runs and destroys a device and a model again and again through the C API, for the leak
 * checks (valgrind, LeakSanitizer): everything the library allocated for a cycle must be freed by its destroy
 * calls.
 *
 *     cycles DEVICE CYCLES
 */
#include <kiln.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(call)                                                                                 \
    do {                                                                                            \
        kiln_status status_ = (call);                                                               \
        if (status_ != KILN_OK) {                                                                   \
            fprintf(stderr, "%s: %s: %s\n", #call, kiln_status_name(status_), kiln_last_error());  \
            return 1;                                                                               \
        }                                                                                           \
    } while (0)

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: cycles DEVICE CYCLES\n"); return 2; }
    const int cycles = atoi(argv[2]);
    const int64_t sample[3] = {1, 6, 6};
    const int64_t shape[4] = {2, 1, 6, 6};
    float x[72], y[8];
    for (int i = 0; i < 72; i++) x[i] = (float)(i % 9) / 9.0f;
    for (int cycle = 0; cycle < cycles; cycle++) {
        kiln_device *device = NULL;
        kiln_model *model = NULL;
        size_t count;
        CHECK(kiln_device_open(argv[1], &device));
        CHECK(kiln_model_create(device, "conv2k3p1-relu-flatten-dense4", sample, 3, (uint64_t)cycle, &model));
        CHECK(kiln_model_run(model, x, shape, 4, y, 8, &count));
        /* A failing call too: its message is kept per thread and replaced, never leaked. */
        if (kiln_model_run(model, x, shape, 4, y, 7, &count) != KILN_ERROR_BUFFER_TOO_SMALL) return 1;
        CHECK(kiln_model_destroy(model));
        CHECK(kiln_device_destroy(device));
    }
    printf("cycles: %d done\n", cycles);
    return 0;
}
