/*
 * classify.c: classifies a Fashion-MNIST test set with a Kiln checkpoint through the C API (kiln.h), as an
 * embedding C program would: open a device, load the checkpoint, read its input normalisation, run batches,
 * count correct answers. KilnCTests compiles it with `cc` and compares its accuracy with `kiln eval`'s.
 *
 *     classify DEVICE CHECKPOINT DATASET_FOLDER [LIMIT]
 *
 * Prints "correct C of N" on success; on failure the status name and kiln_last_error(), exit status 1.
 */
#include <kiln.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CHECK(call)                                                                            \
    do {                                                                                       \
        kiln_status status_ = (call);                                                          \
        if (status_ != KILN_OK) {                                                              \
            fprintf(stderr, "%s: %s: %s\n", #call, kiln_status_name(status_), kiln_last_error()); \
            exit(1);                                                                           \
        }                                                                                      \
    } while (0)

/* Reads a gzipped (or plain: zlib reads both) IDX file: its header and payload. */
static unsigned char *read_idx(const char *folder, const char *name, int dimensions, int *sizes, size_t *count) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.gz", folder, name);
    gzFile file = gzopen(path, "rb");
    if (!file) {
        snprintf(path, sizeof path, "%s/%s", folder, name);
        file = gzopen(path, "rb");
    }
    if (!file) { fprintf(stderr, "cannot open %s\n", path); exit(1); }
    unsigned char header[16];
    if (gzread(file, header, 4 + 4 * dimensions) != 4 + 4 * dimensions) { fprintf(stderr, "%s: short header\n", path); exit(1); }
    *count = 1;
    for (int d = 0; d < dimensions; d++) {
        const unsigned char *b = header + 4 + 4 * d;
        sizes[d] = (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
        *count *= (size_t)sizes[d];
    }
    unsigned char *payload = malloc(*count);
    if (!payload || gzread(file, payload, (unsigned)*count) != (int)*count) { fprintf(stderr, "%s: short payload\n", path); exit(1); }
    gzclose(file);
    return payload;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: classify DEVICE CHECKPOINT DATASET_FOLDER [LIMIT]\n"); return 2; }
    if (kiln_abi_version() != KILN_ABI_VERSION) { fprintf(stderr, "ABI %d, header %d\n", kiln_abi_version(), KILN_ABI_VERSION); return 1; }

    int image_sizes[3], label_sizes[1];
    size_t pixel_count, label_count;
    unsigned char *pixels = read_idx(argv[3], "t10k-images-idx3-ubyte", 3, image_sizes, &pixel_count);
    unsigned char *labels = read_idx(argv[3], "t10k-labels-idx1-ubyte", 1, label_sizes, &label_count);
    size_t images = label_count;
    if (argc > 4 && (size_t)atol(argv[4]) < images) images = (size_t)atol(argv[4]);
    const size_t rows = image_sizes[1], columns = image_sizes[2], per_image = rows * columns;

    kiln_device *device = NULL;
    kiln_model *model = NULL;
    CHECK(kiln_device_open(argv[1], &device));
    const int64_t sample[3] = {1, (int64_t)rows, (int64_t)columns};
    CHECK(kiln_model_load_checkpoint(device, argv[2], sample, 3, &model));

    int recorded;
    float mean, deviation;
    CHECK(kiln_model_normalization(model, &recorded, &mean, &deviation));
    size_t parameters;
    CHECK(kiln_model_parameter_count(model, &parameters));
    const char *description;
    CHECK(kiln_device_description(device, &description));
    printf("device %s, %zu parameter tensors, inputs (pixel / 255 - %.4f) / %.4f\n", description, parameters, mean, deviation);

    const size_t batch = 500;
    float *input = malloc(batch * per_image * sizeof(float));
    float *logits = malloc(batch * 10 * sizeof(float));
    size_t correct = 0;
    for (size_t start = 0; start < images; start += batch) {
        size_t n = images - start < batch ? images - start : batch;
        for (size_t i = 0; i < n * per_image; i++) input[i] = ((float)pixels[start * per_image + i] / 255.0f - mean) / deviation;
        const int64_t shape[4] = {(int64_t)n, 1, (int64_t)rows, (int64_t)columns};
        size_t count;
        CHECK(kiln_model_run(model, input, shape, 4, logits, batch * 10, &count));
        size_t classes = count / n;
        for (size_t row = 0; row < n; row++) {
            size_t best = 0;
            for (size_t c = 1; c < classes; c++)
                if (logits[row * classes + c] > logits[row * classes + best]) best = c;
            if (best == labels[start + row]) correct++;
        }
    }
    printf("correct %zu of %zu\n", correct, images);

    CHECK(kiln_model_destroy(model));
    CHECK(kiln_device_destroy(device));
    free(input);
    free(logits);
    free(pixels);
    free(labels);
    return 0;
}
