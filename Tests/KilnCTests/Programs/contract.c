/*
 * contract.c: the C API's promises, checked from C. Bad arguments (NULL and destroyed handles, a handle of the
 * wrong kind, wrong shapes, short buffers, bad strings, missing files) return their status codes with a message
 * and change nothing; a model created from a layer string trains, saves a checkpoint and loads it back with
 * the same outputs; models describe their inputs, outputs and parameters; an ONNX model runs through
 * kiln_model_run_all.
 *
 *     contract DEVICE SCRATCH_FOLDER ONNX_MODEL
 *
 * Prints "contract: N checks passed" and exits 0, or names the first failed check and exits 1.
 */
#include <kiln.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks = 0;

#define EXPECT(condition, ...)                                               \
    do {                                                                     \
        checks++;                                                            \
        if (!(condition)) {                                                  \
            fprintf(stderr, "contract.c:%d: check failed: %s: ", __LINE__, #condition); \
            fprintf(stderr, __VA_ARGS__);                                    \
            fprintf(stderr, " (last error: %s)\n", kiln_last_error());       \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

/* A call must fail with `expected` and leave a message that contains `fragment`. */
#define EXPECT_STATUS(call, expected, fragment)                                                          \
    do {                                                                                                 \
        kiln_status status_ = (call);                                                                    \
        EXPECT(status_ == (expected), "%s returned %s", #call, kiln_status_name(status_));             \
        EXPECT(strstr(kiln_last_error(), (fragment)) != NULL, "%s: message lacks '%s'", #call, fragment); \
    } while (0)

#define OK(call) EXPECT((call) == KILN_OK, "%s failed", #call)

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: contract DEVICE SCRATCH_FOLDER ONNX_MODEL\n"); return 2; }
    EXPECT(kiln_abi_version() == KILN_ABI_VERSION, "ABI %d", kiln_abi_version());
    EXPECT(strlen(kiln_version()) > 0, "empty version");
    EXPECT(strcmp(kiln_status_name(KILN_ERROR_SHAPE), "KILN_ERROR_SHAPE") == 0, "status name");

    /* Devices. */
    kiln_device *device = NULL;
    EXPECT_STATUS(kiln_device_open("quantum", &device), KILN_ERROR_DEVICE, "quantum");
    EXPECT(device == NULL, "a failed open wrote a handle");
    EXPECT_STATUS(kiln_device_open(NULL, &device), KILN_ERROR_INVALID_ARGUMENT, "name is NULL");
    EXPECT_STATUS(kiln_device_open("cpu", NULL), KILN_ERROR_INVALID_ARGUMENT, "device is NULL");
    OK(kiln_device_open(argv[1], &device));
    const char *description = NULL;
    OK(kiln_device_description(device, &description));
    EXPECT(description && strlen(description) > 0, "no description");
    OK(kiln_device_destroy(NULL));

    /* A fresh model: description, shapes, buffers. */
    kiln_model *model = NULL;
    const int64_t sample[3] = {1, 8, 8};
    EXPECT_STATUS(kiln_model_create(device, "flatten-dense5-relu-frobnicate", sample, 3, 1, &model), KILN_ERROR_INVALID_ARGUMENT, "frobnicate");
    EXPECT_STATUS(kiln_model_create(NULL, "mlp", sample, 3, 1, &model), KILN_ERROR_INVALID_ARGUMENT, "device is NULL");
    const int64_t zero_sample[3] = {1, 0, 8};
    EXPECT_STATUS(kiln_model_create(device, "flatten-dense3", zero_sample, 3, 1, &model), KILN_ERROR_SHAPE, "sample_shape[1]");
    OK(kiln_model_create(device, "conv4k3p1-relu-maxpool2-flatten-dense3", sample, 3, 7, &model));
    EXPECT_STATUS(kiln_model_create((kiln_device *)model, "mlp", sample, 3, 1, &model), KILN_ERROR_INVALID_ARGUMENT, "not a");

    size_t inputs, outputs, parameters, rank;
    const char *name;
    const int64_t *dims;
    OK(kiln_model_input_count(model, &inputs));
    OK(kiln_model_output_count(model, &outputs));
    OK(kiln_model_parameter_count(model, &parameters));
    EXPECT(inputs == 1 && outputs == 1 && parameters == 4, "counts %zu %zu %zu", inputs, outputs, parameters);
    OK(kiln_model_input(model, 0, &name, &rank, &dims));
    EXPECT(rank == 4 && dims[0] == -1 && dims[1] == 1 && dims[2] == 8 && dims[3] == 8, "input shape");
    OK(kiln_model_output(model, 0, &name, &rank, &dims));
    EXPECT(rank == 2 && dims[0] == -1 && dims[1] == 3, "output shape");
    OK(kiln_model_parameter(model, 3, &name, &rank, &dims));
    EXPECT(strcmp(name, "4.bias") == 0 && rank == 1 && dims[0] == 3, "parameter 3 is %s", name);
    EXPECT_STATUS(kiln_model_parameter(model, 4, &name, &rank, &dims), KILN_ERROR_INVALID_ARGUMENT, "out of range");

    enum { N = 6 };
    float x[N * 64], y[N * 3], again[N * 3];
    for (int i = 0; i < N * 64; i++) x[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
    const int64_t shape[4] = {N, 1, 8, 8};
    const int64_t wrong[4] = {N, 1, 9, 8};
    size_t count = 0;
    EXPECT_STATUS(kiln_model_run(model, x, wrong, 4, y, N * 3, &count), KILN_ERROR_SHAPE, "[6, 1, 9, 8]");
    EXPECT_STATUS(kiln_model_run(model, x, shape, 0, y, N * 3, &count), KILN_ERROR_INVALID_ARGUMENT, "rank 0");
    EXPECT_STATUS(kiln_model_run(model, NULL, shape, 4, y, N * 3, &count), KILN_ERROR_INVALID_ARGUMENT, "input is NULL");
    y[0] = 12345.0f;
    EXPECT_STATUS(kiln_model_run(model, x, shape, 4, y, N * 3 - 1, &count), KILN_ERROR_BUFFER_TOO_SMALL, "holds 17 floats");
    EXPECT(count == N * 3 && y[0] == 12345.0f, "a short buffer was written or the count not reported");
    OK(kiln_model_run(model, x, shape, 4, y, N * 3, &count));
    int64_t out_dims[2];
    const int64_t *shapes[1] = {shape};
    const size_t ranks[1] = {4};
    OK(kiln_model_output_shape(model, shapes, ranks, 0, out_dims, 2, &rank));
    EXPECT(rank == 2 && out_dims[0] == N && out_dims[1] == 3, "output shape for a batch");

    /* Training: the loss falls on a fixed batch; labels must fit. */
    int32_t labels[N] = {0, 1, 2, 0, 1, 2};
    int32_t bad_labels[N] = {0, 1, 3, 0, 1, 2};
    float first = 0, loss = 0;
    EXPECT_STATUS(kiln_model_train_step(model, x, shape, 4, bad_labels, N, 0.1f, &loss), KILN_ERROR_SHAPE, "labels");
    EXPECT_STATUS(kiln_model_train_step(model, x, shape, 4, labels, N - 1, 0.1f, &loss), KILN_ERROR_SHAPE, "5 labels");
    EXPECT_STATUS(kiln_model_set_optimizer(model, "lbfgs"), KILN_ERROR_INVALID_ARGUMENT, "lbfgs");
    OK(kiln_model_set_optimizer(model, "adam"));
    for (int step = 0; step < 30; step++) {
        OK(kiln_model_train_step(model, x, shape, 4, labels, N, 0.01f, &loss));
        if (step == 0) first = loss;
    }
    EXPECT(isfinite(loss) && loss < first * 0.5f, "loss %f after 30 steps from %f", loss, first);

    /* Save and load back: the same outputs, the normalisation recorded. */
    char path[4096];
    snprintf(path, sizeof path, "%s/contract.safetensors", argv[2]);
    OK(kiln_model_set_normalization(model, 0.25f, 0.5f));
    EXPECT_STATUS(kiln_model_set_normalization(model, 0.25f, 0.0f), KILN_ERROR_INVALID_ARGUMENT, "standard deviation");
    OK(kiln_model_save_checkpoint(model, path));
    OK(kiln_model_run(model, x, shape, 4, y, N * 3, &count));
    kiln_model *loaded = NULL;
    EXPECT_STATUS(kiln_model_load_checkpoint(device, "/nonexistent/x.safetensors", sample, 3, &loaded), KILN_ERROR_FILE, "/nonexistent/x.safetensors");
    const int64_t other_sample[3] = {1, 10, 10};
    EXPECT_STATUS(kiln_model_load_checkpoint(device, path, other_sample, 3, &loaded), KILN_ERROR_FILE, "4.weight");
    /* Without a sample shape, the one the checkpoint records ({1, 8, 8}, not the default {1, 28, 28}). */
    OK(kiln_model_load_checkpoint(device, path, NULL, 0, &loaded));
    OK(kiln_model_run(loaded, x, shape, 4, again, N * 3, &count));
    for (int i = 0; i < N * 3; i++) EXPECT(y[i] == again[i], "output %d: %f after loading, %f before", i, again[i], y[i]);
    OK(kiln_model_destroy(loaded));
    OK(kiln_model_load_checkpoint(device, path, sample, 3, &loaded));
    OK(kiln_model_run(loaded, x, shape, 4, again, N * 3, &count));
    for (int i = 0; i < N * 3; i++) EXPECT(y[i] == again[i], "output %d: %f after loading, %f before", i, again[i], y[i]);
    int recorded;
    float mean, deviation;
    OK(kiln_model_normalization(loaded, &recorded, &mean, &deviation));
    EXPECT(recorded == 1 && mean == 0.25f && deviation == 0.5f, "normalisation %d %f %f", recorded, mean, deviation);

    /* Destroyed handles are refused, not dereferenced; the device outlives its handle while models use it. */
    OK(kiln_model_destroy(loaded));
    EXPECT_STATUS(kiln_model_destroy(loaded), KILN_ERROR_INVALID_ARGUMENT, "not a live handle");
    EXPECT_STATUS(kiln_model_run(loaded, x, shape, 4, y, N * 3, &count), KILN_ERROR_INVALID_ARGUMENT, "not a live handle");
    OK(kiln_device_destroy(device));
    OK(kiln_model_run(model, x, shape, 4, y, N * 3, &count));
    kiln_model *orphan = NULL;
    EXPECT_STATUS(kiln_model_create(device, "mlp", sample, 3, 1, &orphan), KILN_ERROR_INVALID_ARGUMENT, "not a live handle");
    OK(kiln_model_destroy(model));

    /* An ONNX model: described, run with kiln_model_run_all, and not trainable. */
    OK(kiln_device_open(argv[1], &device));
    OK(kiln_model_load_onnx(device, argv[3], &model));
    OK(kiln_model_input_count(model, &inputs));
    OK(kiln_model_output_count(model, &outputs));
    EXPECT(inputs == 3 && outputs == 3, "the LSTM model has %zu inputs and %zu outputs", inputs, outputs);
    float sequence[6 * 3 * 5], h0[3 * 7], c0[3 * 7], ys[6 * 3 * 3], hs[3 * 7], cs[3 * 7];
    for (int i = 0; i < 6 * 3 * 5; i++) sequence[i] = (float)(i % 7) / 7.0f - 0.4f;
    for (int i = 0; i < 3 * 7; i++) h0[i] = c0[i] = (float)(i % 5) / 10.0f;
    const int64_t sequence_shape[3] = {6, 3, 5}, state_shape[3] = {1, 3, 7};
    const float *onnx_inputs[3] = {sequence, h0, c0};
    const int64_t *onnx_shapes[3] = {sequence_shape, state_shape, state_shape};
    const size_t onnx_ranks[3] = {3, 3, 3};
    float *onnx_outputs[3] = {ys, hs, cs};
    size_t capacities[3] = {6 * 3 * 3, 3 * 7, 3 * 7}, counts[3];
    OK(kiln_model_run_all(model, onnx_inputs, onnx_shapes, onnx_ranks, onnx_outputs, capacities, counts));
    EXPECT(counts[0] == 54 && counts[1] == 21 && counts[2] == 21, "output counts");
    EXPECT_STATUS(kiln_model_run(model, sequence, sequence_shape, 3, ys, 54, &count), KILN_ERROR_INVALID_ARGUMENT, "3 inputs");
    EXPECT_STATUS(kiln_model_train_step(model, sequence, sequence_shape, 3, labels, 6, 0.1f, &loss), KILN_ERROR_UNSUPPORTED, "ONNX");
    EXPECT_STATUS(kiln_model_load_onnx(device, path, &orphan), KILN_ERROR_FILE, "contract.safetensors");
    OK(kiln_model_destroy(model));
    OK(kiln_device_destroy(device));

    printf("contract: %d checks passed\n", checks);
    return 0;
}
