#!/usr/bin/env python3
"""Runs an ONNX model with ONNX Runtime on raw float32 inputs and writes its first output as raw float32.

    python3 Tools/onnxruntime_run.py MODEL.onnx OUTPUT.bin INPUT.bin D0,D1,... [INPUT2.bin D0,D1,... ...]

Inputs are little-endian float32 files, row-major, one per graph input in order, each followed by its
shape. Prints the output's shape. KilnONNXTests uses it to check Kiln's exports against ONNX Runtime
(`pip install onnxruntime numpy`).
"""
import sys

import numpy as np
import onnxruntime


def main():
    if len(sys.argv) < 5 or len(sys.argv) % 2 == 0:
        sys.exit(__doc__)
    model, output = sys.argv[1], sys.argv[2]
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    feeds = {}
    for graph_input, (path, shape) in zip(session.get_inputs(), zip(sys.argv[3::2], sys.argv[4::2])):
        dims = [int(d) for d in shape.split(",")]
        feeds[graph_input.name] = np.fromfile(path, dtype="<f4").reshape(dims)
    result = session.run(None, feeds)[0].astype("<f4")
    result.tofile(output)
    print(",".join(str(d) for d in result.shape))


if __name__ == "__main__":
    main()
