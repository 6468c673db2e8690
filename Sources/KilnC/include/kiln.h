/*
 * kiln.h: the C API of Kiln, a deep-learning engine (OpenCL kernels and a CPU reference backend).
 *
 * Link with -lKilnC (libKilnC.so, built by `swift build`). In the style of ONNX Runtime's, TensorFlow's and
 * mlx-c's C APIs:
 *
 * - ABI: KILN_ABI_VERSION is the version of this header; kiln_abi_version() is the library's. A program built
 *   against one ABI version runs with a library of the same version. Functions are only ever added within a
 *   version; a changed signature or meaning is a new version.
 * - Handles are opaque (kiln_device, kiln_model) and owned by the caller, who releases each one with its
 *   destroy function. A model keeps its device alive: destroying the device first is allowed, the device goes
 *   away with its last model. Destroy functions accept NULL (and do nothing).
 * - Errors: every function that can fail returns a kiln_status. On failure, kiln_last_error() gives a message
 *   naming the problem (the file, the argument, the shapes) for the calling thread. No C++ exception, Swift
 *   error or trap crosses this boundary: NULL or destroyed handles, NULL pointers, wrong shapes and short
 *   buffers return error codes and change nothing.
 * - Buffers are the caller's: inputs are read during the call, outputs written during it. Strings and shape
 *   arrays the library returns are owned by the handle they came from and valid until it is destroyed.
 * - Threads: every function may be called from any thread. Calls that use the same device (the device or any
 *   model on it) are serialised by a lock per device, so they never run at the same time; calls on different
 *   devices may run in parallel. kiln_last_error() is per thread.
 * - Layout: tensors are row-major float32; images are NCHW. Shapes are int64_t arrays; -1 in a shape the
 *   library reports marks a free dimension (a batch size).
 */
#ifndef KILN_H
#define KILN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The ABI version this header describes. */
#define KILN_ABI_VERSION 1

/** What a call did. */
typedef enum kiln_status {
    KILN_OK = 0,
    /** A NULL pointer, a destroyed or wrong handle, or a bad value (an unknown optimizer name, a rank of 0...). */
    KILN_ERROR_INVALID_ARGUMENT = 1,
    /** An input's shape does not fit the model, or labels do not fit the batch. */
    KILN_ERROR_SHAPE = 2,
    /** An output buffer is too small; the count needed is written where the call reports counts. */
    KILN_ERROR_BUFFER_TOO_SMALL = 3,
    /** A file is missing, unreadable or not what it should be (a checkpoint whose tensors do not fit, say). */
    KILN_ERROR_FILE = 4,
    /** A model or an operation Kiln does not support (an ONNX operator, training an ONNX model...). */
    KILN_ERROR_UNSUPPORTED = 5,
    /** No such device, or the device failed (an OpenCL error). */
    KILN_ERROR_DEVICE = 6,
    /** Training produced a non-finite loss. */
    KILN_ERROR_NUMERIC = 7,
    /** Anything else; the message says what. */
    KILN_ERROR_INTERNAL = 8
} kiln_status;

/** An open device: the CPU reference backend or an OpenCL device. */
typedef struct kiln_device kiln_device;
/** A model on a device: a Kiln layer list with its weights, or an ONNX graph. */
typedef struct kiln_model kiln_model;

/** The library's ABI version (compare with KILN_ABI_VERSION). */
int kiln_abi_version(void);
/** The library's version, e.g. "0.1.0". Static storage. */
const char *kiln_version(void);
/** The message of the last failed call on this thread ("" when none has failed). Valid until the next
 *  failing call on this thread. */
const char *kiln_last_error(void);
/** The name of a status, e.g. "KILN_ERROR_SHAPE". Static storage. */
const char *kiln_status_name(kiln_status status);

/* ---- Devices ---- */

/** Opens the device `name` names, as the command line does: "cpu" (the reference backend), "opencl" (the
 *  first GPU, else the first OpenCL device), "opencl:N" or "opencl:NAME". */
kiln_status kiln_device_open(const char *name, kiln_device **device);
/** The device's description, e.g. "opencl:0 (pthread-haswell-AMD EPYC)". Owned by the device. */
kiln_status kiln_device_description(const kiln_device *device, const char **description);
kiln_status kiln_device_destroy(kiln_device *device);

/* ---- Models ---- */

/** A checkpoint written by `kiln train` (or kiln_model_save_checkpoint): its layer list, weights, optimizer
 *  kind and input normalisation come from the file (the optimizer's state starts afresh). `sample_shape` is
 *  one example's shape (e.g. {1, 28, 28}); NULL with rank 0 means the image shape the checkpoint records
 *  (`kiln train` and kiln_model_save_checkpoint record it), else {1, 28, 28}. */
kiln_status kiln_model_load_checkpoint(
    kiln_device *device, const char *path, const int64_t *sample_shape, size_t sample_rank, kiln_model **model);
/** A layer string ("cnn", "mlp" or e.g. "conv32k3p1-relu-maxpool2-flatten-dense10") with the weights of a
 *  PyTorch state_dict of the same layers saved as safetensors. Records no normalisation. */
kiln_status kiln_model_load_state_dict(
    kiln_device *device, const char *layers, const int64_t *sample_shape, size_t sample_rank, const char *path,
    kiln_model **model);
/** A new model of a layer string with PyTorch's initialisation from `seed`, to train with kiln_model_train_step. */
kiln_status kiln_model_create(
    kiln_device *device, const char *layers, const int64_t *sample_shape, size_t sample_rank, uint64_t seed,
    kiln_model **model);
/** An ONNX model (opsets 13 to 28; inference only). */
kiln_status kiln_model_load_onnx(kiln_device *device, const char *path, kiln_model **model);
kiln_status kiln_model_destroy(kiln_model *model);

/* ---- What a model takes and holds ---- */

/** Counts of graph inputs, outputs and parameters (weights and buffers, in checkpoint order). */
kiln_status kiln_model_input_count(const kiln_model *model, size_t *count);
kiln_status kiln_model_output_count(const kiln_model *model, size_t *count);
kiln_status kiln_model_parameter_count(const kiln_model *model, size_t *count);
/** Name and shape of input, output or parameter `index`; -1 marks a free dimension. Any of `name`, `rank`
 *  and `dims` may be NULL. The strings and arrays are owned by the model. */
kiln_status kiln_model_input(const kiln_model *model, size_t index, const char **name, size_t *rank, const int64_t **dims);
kiln_status kiln_model_output(const kiln_model *model, size_t index, const char **name, size_t *rank, const int64_t **dims);
kiln_status kiln_model_parameter(const kiln_model *model, size_t index, const char **name, size_t *rank, const int64_t **dims);
/** The input normalisation the model records: inputs are (pixel / 255 - mean) / standard_deviation.
 *  `recorded` is 0 (and mean 0, standard deviation 1) when the model records none. */
kiln_status kiln_model_normalization(const kiln_model *model, int *recorded, float *mean, float *standard_deviation);
/** Records a normalisation with the model (saved in its checkpoints). */
kiln_status kiln_model_set_normalization(kiln_model *model, float mean, float standard_deviation);

/* ---- Inference ---- */

/** The shape of output `output_index` for inputs of the given shapes (one per model input). Writes up to
 *  `capacity` dimensions to `dims` and the rank to `rank`; KILN_ERROR_BUFFER_TOO_SMALL when capacity < rank. */
kiln_status kiln_model_output_shape(
    kiln_model *model, const int64_t *const *input_shapes, const size_t *input_ranks, size_t output_index,
    int64_t *dims, size_t capacity, size_t *rank);
/** Runs a model with one input on `input` of `shape` and writes its first output to `output`, which holds
 *  `capacity` floats. `count` (may be NULL) gets the number of floats the output has; when it exceeds
 *  `capacity`, nothing is written and the call returns KILN_ERROR_BUFFER_TOO_SMALL. */
kiln_status kiln_model_run(
    kiln_model *model, const float *input, const int64_t *shape, size_t rank, float *output, size_t capacity, size_t *count);
/** Runs a model on all its inputs (`inputs[i]` of shape `shapes[i]`, rank `ranks[i]`) and writes every output
 *  `j` to `outputs[j]` (capacity `capacities[j]`, count written to `counts[j]`, which may be NULL). */
kiln_status kiln_model_run_all(
    kiln_model *model, const float *const *inputs, const int64_t *const *shapes, const size_t *ranks,
    float *const *outputs, const size_t *capacities, size_t *counts);

/* ---- Training (Kiln models) ---- */

/** Sets the optimizer for the next training steps: "sgd", "momentum", "nesterov" or "adam" (PyTorch's update
 *  rules; momentum 0.9 for momentum and nesterov). The default is the checkpoint's, else "momentum". Resets
 *  the optimizer's state. */
kiln_status kiln_model_set_optimizer(kiln_model *model, const char *optimizer);
/** One training step of softmax cross-entropy on a batch: `input` of `shape` (N first) and `labels`, N class
 *  indices. Writes the batch's mean loss to `loss` (may be NULL). */
kiln_status kiln_model_train_step(
    kiln_model *model, const float *input, const int64_t *shape, size_t rank, const int32_t *labels, size_t label_count,
    float learning_rate, float *loss);
/** Writes the model's weights, optimizer state and configuration to a safetensors checkpoint (atomically)
 *  that `kiln eval` and kiln_model_load_checkpoint read. */
kiln_status kiln_model_save_checkpoint(kiln_model *model, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* KILN_H */
