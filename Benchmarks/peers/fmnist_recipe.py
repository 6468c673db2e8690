"""Kiln's best CNN recipe (README, "Best CNN recipe") in PyTorch, for time to a test accuracy on Fashion-MNIST:
  conv32k3p1-relu-maxpool2-conv64k3p1-relu-maxpool2-flatten-dropout25-dense128-relu-dense10
PyTorch's default initialisation (Kiln's `pytorchDefault`), inputs standardised by the training set's mean and
standard deviation (Kiln's default `--normalize standard`), softmax cross-entropy, SGD momentum 0.9, batch 64
(shuffled per epoch, last partial batch dropped), lr 0.03 cosine-annealed to 0 over 10 epochs, one rate per epoch
(lr_e = 0.015 (1 + cos(pi e / 10)), Kiln's schedule). The test set is measured after every epoch, outside the timing.
Usage: python3 fmnist_recipe.py [EPOCHS] [TARGET_PERCENT]   (default 10 epochs, target 91; TORCH_THREADS, default
every core)
Prints an EPOCH line per epoch (training seconds so far, test accuracy) and
  RESULT torch fmnist_recipe time_to_TARGET s=<training seconds until the first epoch at or above it, or none>
"""
import os, sys, gzip, math, time
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F

EPOCHS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
TARGET = float(sys.argv[2]) if len(sys.argv) > 2 else 91.0
BS, LR, MOM, COSINE = 64, 0.03, 0.9, 10
D = os.environ.get("FMNIST_DIR", "/usr/share/datasets/fashion-mnist")
torch.set_num_threads(int(os.environ.get("TORCH_THREADS", os.cpu_count()))); torch.manual_seed(0)

def idx(name):
    with gzip.open(os.path.join(D, name)) as f: b = f.read()
    nd = b[3]; dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)
Xtr = idx("train-images-idx3-ubyte.gz").astype(np.float32) / 255.0
mean, std = Xtr.mean(), Xtr.std()
Xtr = torch.from_numpy(((Xtr - mean) / std).reshape(-1, 1, 28, 28))
Ytr = torch.from_numpy(idx("train-labels-idx1-ubyte.gz").astype(np.int64))
Xte = torch.from_numpy(((idx("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0 - mean) / std).reshape(-1, 1, 28, 28))
Yte = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))

model = nn.Sequential(
    nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Dropout(0.25), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOM)
print(f"torch {torch.__version__} threads={torch.get_num_threads()} epochs={EPOCHS} target={TARGET}%", flush=True)

def accuracy():
    model.eval(); correct = 0
    with torch.no_grad():
        for i in range(0, len(Xte), 1000): correct += int((model(Xte[i:i + 1000]).argmax(1) == Yte[i:i + 1000]).sum())
    model.train(); return 100.0 * correct / len(Xte)

trained, reached = 0.0, None
for epoch in range(EPOCHS):
    for group in opt.param_groups: group["lr"] = 0.5 * LR * (1 + math.cos(math.pi * min(epoch, COSINE) / COSINE))
    perm = torch.from_numpy(np.random.default_rng(epoch + 1).permutation(len(Xtr)))
    start = time.perf_counter()
    for s in range(len(Xtr) // BS):
        b = perm[s * BS:(s + 1) * BS]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(Xtr[b]), Ytr[b]); loss.backward(); opt.step()
    trained += time.perf_counter() - start
    acc = accuracy()
    if reached is None and acc >= TARGET: reached = trained
    print(f"EPOCH {epoch + 1} train_s={trained:.1f} last_loss={float(loss):.4f} test_acc={acc:.2f}%", flush=True)
print(f"RESULT torch fmnist_recipe time_to_{TARGET:g} s={'none' if reached is None else f'{reached:.1f}'} epochs={EPOCHS}", flush=True)
