#!/usr/bin/env python3
"""Exports a small CNN and an LSTM from PyTorch to ONNX, with inputs and PyTorch's outputs, for Kiln's tests.

Writes Tests/KilnONNXTests/Data/pytorch/{cnn,lstm}/model.onnx and test_data_set_0/{input,output}_N.pb (the
layout of ONNX's node tests), so KilnONNXTests/PyTorchModelTests.swift can check Kiln's outputs against
PyTorch's without PyTorch installed. Needs torch, onnx and numpy. Run from the repository root:

    python3 Tools/pytorch_onnx_models.py

The CNN has Conv (padding, stride, groups), BatchNormalization (eval), Relu, LeakyRelu, MaxPool,
AveragePool, Flatten, Gemm, Sigmoid, Tanh and LogSoftmax nodes (PyTorch drops eval-mode Dropout). The LSTM model takes its initial hidden and cell states as inputs and ends in a Linear
layer on every step's output; its weights are random, not trained, which exercises every gate.
"""
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

OPSET = 17


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=2), nn.LeakyReLU(0.1), nn.AvgPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.25), nn.Linear(16 * 3 * 3, 32), nn.Tanh(), nn.Linear(32, 16), nn.Sigmoid(),
            nn.Linear(16, 10), nn.LogSoftmax(dim=1),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


class SequenceModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=5, hidden_size=7)
        self.decoder = nn.Linear(7, 3)

    def forward(self, x, h0, c0):
        outputs, (h, c) = self.lstm(x, (h0, c0))
        return self.decoder(outputs), h, c


def write(folder, model, inputs, input_names, output_names, dynamic_axes, fold_constants):
    os.makedirs(os.path.join(folder, "test_data_set_0"), exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    model.eval()
    with torch.no_grad():
        outputs = model(*inputs)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    torch.onnx.export(
        model, tuple(inputs), path, input_names=input_names, output_names=output_names, opset_version=OPSET,
        dynamic_axes=dynamic_axes, dynamo=False,
        do_constant_folding=fold_constants,
    )
    onnx.checker.check_model(onnx.load(path))
    for kind, values, names in (("input", inputs, input_names), ("output", outputs, output_names)):
        for index, (value, name) in enumerate(zip(values, names)):
            tensor = numpy_helper.from_array(value.detach().numpy().astype(np.float32), name)
            with open(os.path.join(folder, "test_data_set_0", f"{kind}_{index}.pb"), "wb") as f:
                f.write(tensor.SerializeToString())
    print(f"{folder}: {sorted({n.op_type for n in onnx.load(path).graph.node})}")


def main():
    if not os.path.isdir(os.path.join("Sources", "KilnONNX")):
        sys.exit("run from the repository root")
    out = os.path.join("Tests", "KilnONNXTests", "Data", "pytorch")
    torch.manual_seed(0)
    cnn = CNN()
    # Running statistics away from their initial 0 and 1, so batch norm's inference form is exercised.
    cnn.train()
    with torch.no_grad():
        for _ in range(3):
            cnn(torch.rand(16, 1, 28, 28))
    write(os.path.join(out, "cnn"), cnn, [torch.rand(5, 1, 28, 28)], ["image"], ["log_probabilities"],
          {"image": {0: "batch"}, "log_probabilities": {0: "batch"}},
          # Without folding, batch norm stays a BatchNormalization node instead of merging into the convolution.
          fold_constants=False)
    lstm = SequenceModel()
    steps, batch = 6, 3
    inputs = [torch.randn(steps, batch, 5), torch.randn(1, batch, 7), torch.randn(1, batch, 7)]
    write(os.path.join(out, "lstm"), lstm, inputs, ["x", "h0", "c0"], ["y", "h", "c"],
          {"x": {0: "steps", 1: "batch"}, "h0": {1: "batch"}, "c0": {1: "batch"}, "y": {0: "steps", 1: "batch"}},
          # With folding, the exporter's gate reordering (Slice and Concat of the weights) is done in the file.
          fold_constants=True)
    print(f"torch {torch.__version__}, onnx {onnx.__version__}, opset {OPSET}")


if __name__ == "__main__":
    main()
