#!/usr/bin/env python3
"""Test accuracy of an ONNX classifier on Fashion-MNIST (or another IDX folder) with ONNX Runtime.

    python3 Tools/onnxruntime_eval.py MODEL.onnx [DATASET_FOLDER]

Inputs are normalised as the model's metadata records (kiln.normalization.mean and
kiln.normalization.standard_deviation, written by `kiln export`), in float32 as Kiln computes them; without
them, pixels / 255. Needs onnxruntime and numpy. The README's ONNX round trip compares this with `kiln eval`.
"""
import gzip
import os
import sys

import numpy as np
import onnxruntime


def idx(folder, name, header):
    path = os.path.join(folder, name)
    opener = gzip.open if os.path.exists(path + ".gz") else open
    with opener(path + ".gz" if os.path.exists(path + ".gz") else path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8)[header:]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    folder = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/datasets/fashion-mnist"
    session = onnxruntime.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
    metadata = session.get_modelmeta().custom_metadata_map
    mean = np.float32(float(metadata.get("kiln.normalization.mean", 0)))
    deviation = np.float32(float(metadata.get("kiln.normalization.standard_deviation", 1)))
    labels = idx(folder, "t10k-labels-idx1-ubyte", 8)
    pixels = idx(folder, "t10k-images-idx3-ubyte", 16).reshape(len(labels), 1, 28, 28)
    name = session.get_inputs()[0].name
    correct = 0
    for start in range(0, len(labels), 500):
        batch = (pixels[start:start + 500].astype(np.float32) / np.float32(255) - mean) / deviation
        logits = session.run(None, {name: batch})[0]
        correct += int((logits.argmax(axis=1) == labels[start:start + 500]).sum())
    print(f"ONNX Runtime {onnxruntime.__version__}: test accuracy {correct / len(labels) * 100:.2f}% ({correct} of {len(labels)})")


if __name__ == "__main__":
    main()
