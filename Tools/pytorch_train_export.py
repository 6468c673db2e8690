#!/usr/bin/env python3
# Usage: python3 Tools/pytorch_train_export.py cnn|mlp EPOCHS OUT.safetensors [SEED [standard|unit]]  (needs
# PyTorch and Debian's dataset-fashion-mnist)
# Trains the course's CNN or MLP in PyTorch as an nn.Sequential (the layer list Kiln's `--model cnn|mlp`
# names its parameters after), with the recipe (SGD lr 0.01, momentum 0.9, batch 64, PyTorch's
# default initialisation, torch.manual_seed(SEED), default 0) on inputs prepared as Kiln's `--normalize` does
# (standard, the default: pixels / 255 minus the training set's mean, divided by its standard deviation, as
# torchvision's Normalize; unit: pixels / 255), prints PyTorch's own test accuracy, and saves the
# state_dict as safetensors, written by hand (8-byte little-endian header length, JSON header, raw
# little-endian float32 data), so `kiln eval --checkpoint OUT --model cnn|mlp` can be compared with it.
import gzip, json, struct, sys, time
import numpy as np
import torch
from torch import nn

model_name, epochs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.manual_seed(int(sys.argv[4]) if len(sys.argv) > 4 else 0)

def idx(name):
    b = gzip.open('/usr/share/datasets/fashion-mnist/' + name).read()
    nd = b[3]; dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], 'big') for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)

X = torch.tensor((idx('train-images-idx3-ubyte.gz').astype(np.float32) / 255).reshape(-1, 1, 28, 28))
Y = torch.tensor(idx('train-labels-idx1-ubyte.gz').astype(np.int64))
Xt = torch.tensor((idx('t10k-images-idx3-ubyte.gz').astype(np.float32) / 255).reshape(-1, 1, 28, 28))
Yt = torch.tensor(idx('t10k-labels-idx1-ubyte.gz').astype(np.int64))
if (sys.argv[5] if len(sys.argv) > 5 else 'standard') == 'standard':
    mean, std = X.double().mean().item(), X.double().std(unbiased=False).item()
    X, Xt = (X - mean) / std, (Xt - mean) / std

if model_name == 'cnn':
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
else:
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
start = time.time()
for epoch in range(epochs):
    order = torch.randperm(len(X))
    for i in range(0, len(X), 64):
        batch = order[i:i + 64]
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(X[batch]), Y[batch]).backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = (model(Xt).argmax(1) == Yt).float().mean().item() * 100
    print(f'epoch {epoch + 1}: PyTorch test accuracy {accuracy:.2f}% ({time.time() - start:.0f} s)', flush=True)

header, blobs, offset = {}, [], 0
for name, tensor in model.state_dict().items():
    data = tensor.detach().contiguous().numpy().astype('<f4').tobytes()
    header[name] = {'dtype': 'F32', 'shape': list(tensor.shape), 'data_offsets': [offset, offset + len(data)]}
    blobs.append(data); offset += len(data)
encoded = json.dumps(header).encode()
encoded += b' ' * (-len(encoded) % 8)
with open(out, 'wb') as f:
    f.write(struct.pack('<Q', len(encoded)) + encoded + b''.join(blobs))
print(f'wrote {out}: {", ".join(header)}')
