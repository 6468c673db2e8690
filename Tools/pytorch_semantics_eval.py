#!/usr/bin/env python3
# Usage: python3 Tools/pytorch_semantics_eval.py CHECKPOINT cnn|mlp  (needs NumPy and Debian's dataset-fashion-mnist)
# Evaluates a Kiln checkpoint with PyTorch's semantics written in NumPy (Linear: x @ W.T + b; Conv2d:
# cross-correlation NCHW/OIHW, padding 1; MaxPool2d(2); Flatten in NCHW order), reading the
# safetensors file by hand, and prints the test accuracy. Inputs are normalised as the checkpoint's stored
# training configuration says (`normalization`: mean and standard deviation after / 255; [0, 1] without one).
import json, struct, sys, gzip, numpy as np
path, model = sys.argv[1], sys.argv[2]
raw = open(path, 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n]); body = raw[8 + n:]
T = {k: np.frombuffer(body[v['data_offsets'][0]:v['data_offsets'][1]], '<f4').reshape(v['shape'])
     for k, v in header.items() if k != '__metadata__' and v['dtype'] == 'F32' and not k.startswith('optimizer.')}
def idx(name):
    b = gzip.open('/usr/share/datasets/fashion-mnist/' + name).read()
    nd = b[3]; dims = [int.from_bytes(b[4+4*i:8+4*i], 'big') for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4+4*nd).reshape(dims)
X = (idx('t10k-images-idx3-ubyte.gz').astype(np.float32) / 255).reshape(-1, 1, 28, 28)
stored = json.loads(header.get('__metadata__', {}).get('kiln.configuration', '{}')).get('normalization')
if stored:
    X = (X - np.float32(stored['mean'])) / np.float32(stored['standardDeviation'])
Y = idx('t10k-labels-idx1-ubyte.gz')
def conv(x, w, b):  # stride 1, padding 1, cross-correlation
    N, C, H, W = x.shape; O, _, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.lib.stride_tricks.sliding_window_view(xp, (KH, KW), axis=(2, 3))  # N C H W KH KW
    return np.einsum('nchwij,ocij->nohw', cols, w, optimize=True) + b[None, :, None, None]
def pool(x):
    N, C, H, W = x.shape
    return x.reshape(N, C, H // 2, 2, W // 2, 2).max(axis=(3, 5))
relu = lambda x: np.maximum(x, 0)
correct = 0
for i in range(0, len(X), 1000):
    x = X[i:i + 1000]
    if model == 'cnn':
        x = pool(relu(conv(x, T['0.weight'], T['0.bias'])))
        x = pool(relu(conv(x, T['3.weight'], T['3.bias'])))
        x = x.reshape(len(x), -1)
        x = relu(x @ T['7.weight'].T + T['7.bias']) @ T['9.weight'].T + T['9.bias']
    else:
        x = x.reshape(len(x), -1)
        x = relu(x @ T['1.weight'].T + T['1.bias']); x = relu(x @ T['3.weight'].T + T['3.bias'])
        x = x @ T['5.weight'].T + T['5.bias']
    correct += int((x.argmax(1) == Y[i:i + 1000]).sum())
print(f'{model}: test accuracy with PyTorch semantics in NumPy: {100 * correct / len(X):.2f}%')
