#!/usr/bin/env python3
"""Writes the ONNX backend node tests for the operators Kiln imports into Tests/KilnONNXTests/Data/node.

The `onnx` package (pip install onnx) builds every node test case (a model.onnx and its inputs and expected
outputs as TensorProto .pb files, the layout of onnx/backend/test/data/node). This keeps the cases whose
every node is an operator in OPERATORS (the list in Sources/KilnONNX/ONNXImport.swift), in and out of
Kiln's scope alike: KilnONNXTests/NodeTests.swift runs them all, requires the in-scope ones to match and
the others to fail with a clear error naming the reason. A data set over MAX_DATA_BYTES is left out (the
3-D pooling cases, which Kiln refuses at import, before reading data), except for the operators in
LARGE_DATA_OPERATORS, whose large cases Kiln computes (the 5-D cross-entropy cases, up to 330 KB). Run from the repository root:

    python3 Tools/generate_onnx_node_tests.py
"""
import os
import shutil
import sys

import onnx
from onnx import numpy_helper
from onnx.backend.test.case import node

OPERATORS = {
    "Abs", "Add", "AveragePool", "BatchNormalization", "Concat", "Constant", "Conv", "ConvTranspose", "Div", "Erf",
    "Exp", "Dropout", "Flatten", "Gemm", "GlobalAveragePool", "Identity", "LSTM", "LeakyRelu", "Log", "LogSoftmax",
    "MatMul", "MaxPool", "Mul", "Neg", "Relu", "Reshape", "Sigmoid", "Softmax", "SoftmaxCrossEntropyLoss",
    "Softplus", "Sqrt", "Squeeze", "Sub", "Tanh", "Transpose", "Unsqueeze",
}
MAX_DATA_BYTES = 128 * 1024
LARGE_DATA_OPERATORS = {"SoftmaxCrossEntropyLoss"}


def main():
    out = os.path.join("Tests", "KilnONNXTests", "Data", "node")
    if not os.path.isdir(os.path.join("Sources", "KilnONNX")):
        sys.exit("run from the repository root")
    shutil.rmtree(out, ignore_errors=True)
    kept = 0
    for case in node.collect_testcases(None):
        if not case.model or not {n.op_type for n in case.model.graph.node} <= OPERATORS:
            continue
        folder = os.path.join(out, case.name)
        os.makedirs(folder)
        with open(os.path.join(folder, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        inputs, outputs = case.data_sets[0]
        files = {}
        for kind, values, infos in (("input", inputs, case.model.graph.input), ("output", outputs, case.model.graph.output)):
            for index, value in enumerate(values):
                if not infos[index].type.HasField("tensor_type"):
                    continue  # sequences and optionals: the model is out of scope and fails before reading data
                proto = value if isinstance(value, onnx.TensorProto) else numpy_helper.from_array(value, infos[index].name)
                files[f"{kind}_{index}.pb"] = proto.SerializeToString()
        large = {n.op_type for n in case.model.graph.node} <= LARGE_DATA_OPERATORS
        if large or sum(len(b) for b in files.values()) <= MAX_DATA_BYTES:
            data = os.path.join(folder, "test_data_set_0")
            os.makedirs(data)
            for name, content in files.items():
                with open(os.path.join(data, name), "wb") as f:
                    f.write(content)
        kept += 1
    print(f"onnx {onnx.__version__}: wrote {kept} node test cases to {out}")


if __name__ == "__main__":
    main()
