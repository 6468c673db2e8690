#!/usr/bin/env python3
"""Compares a Kiln checkpoint with its ONNX export on the whole Fashion-MNIST test set: Kiln's logits (through
libKilnC.so with ctypes, on a device) against ONNX Runtime's (CPU), the largest difference and each accuracy.

    KILN_LIBRARY=.build/debug/libKilnC.so python3 Tools/kiln_vs_onnxruntime.py CHECKPOINT MODEL.onnx [DEVICE] [FOLDER]

DEVICE is a Kiln device string (default opencl); FOLDER holds the IDX files (default
/usr/share/datasets/fashion-mnist). Both sides get the same float32 inputs, normalised as the checkpoint records.
The README's ONNX round trip quotes its output. Needs onnxruntime and numpy.
"""
import ctypes
import gzip
import os
import sys

import numpy as np
import onnxruntime


def idx(folder, name, header):
    path = os.path.join(folder, name)
    opener, path = (gzip.open, path + ".gz") if os.path.exists(path + ".gz") else (open, path)
    with opener(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8)[header:]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    checkpoint, model = sys.argv[1], sys.argv[2]
    device_name = sys.argv[3] if len(sys.argv) > 3 else "opencl"
    folder = sys.argv[4] if len(sys.argv) > 4 else "/usr/share/datasets/fashion-mnist"

    kiln = ctypes.CDLL(os.environ.get("KILN_LIBRARY", "libKilnC.so"))
    kiln.kiln_last_error.restype = ctypes.c_char_p

    def check(status):
        if status != 0:
            sys.exit(f"kiln: {kiln.kiln_last_error().decode()}")

    device, kiln_model = ctypes.c_void_p(), ctypes.c_void_p()
    check(kiln.kiln_device_open(device_name.encode(), ctypes.byref(device)))
    sample = (ctypes.c_int64 * 3)(1, 28, 28)
    check(kiln.kiln_model_load_checkpoint(device, checkpoint.encode(), sample, ctypes.c_size_t(3), ctypes.byref(kiln_model)))
    recorded, mean, deviation = ctypes.c_int(), ctypes.c_float(), ctypes.c_float()
    check(kiln.kiln_model_normalization(kiln_model, ctypes.byref(recorded), ctypes.byref(mean), ctypes.byref(deviation)))

    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    labels = idx(folder, "t10k-labels-idx1-ubyte", 8)
    pixels = idx(folder, "t10k-images-idx3-ubyte", 16).reshape(len(labels), 1, 28, 28)
    largest, correct_kiln, correct_runtime = 0.0, 0, 0
    for start in range(0, len(labels), 500):
        batch = (pixels[start:start + 500].astype(np.float32) / np.float32(255) - np.float32(mean.value)) / np.float32(deviation.value)
        batch = np.ascontiguousarray(batch)
        runtime = session.run(None, {input_name: batch})[0]
        logits = np.empty_like(runtime)
        shape = (ctypes.c_int64 * 4)(*batch.shape)
        check(kiln.kiln_model_run(kiln_model, batch.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), shape, ctypes.c_size_t(4),
                                  logits.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), ctypes.c_size_t(logits.size), None))
        largest = max(largest, float(np.abs(logits - runtime).max()))
        truth = labels[start:start + 500]
        correct_kiln += int((logits.argmax(axis=1) == truth).sum())
        correct_runtime += int((runtime.argmax(axis=1) == truth).sum())
    check(kiln.kiln_model_destroy(kiln_model))
    check(kiln.kiln_device_destroy(device))
    print(f"{len(labels)} test images: largest |Kiln - ONNX Runtime {onnxruntime.__version__}| logit difference {largest:.2e}; "
          f"correct: Kiln {correct_kiln}, ONNX Runtime {correct_runtime}")


if __name__ == "__main__":
    main()
