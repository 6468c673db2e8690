"""The peers' side of Benchmarks/scaling.sh: how cost grows with size.
Usage: python3 scaling.py gemm REPS MxNxK...   NumPy (OpenBLAS) SGEMM GFLOP/s at each shape (C[M,N] = A[M,K]·B[K,N])
       python3 scaling.py cnn REPS BATCH       PyTorch training of the course's CNN (train_fmnist.py's: conv32-relu-pool-
                                               conv64-relu-pool-dense128-relu-dense10, SGD lr 0.01 momentum 0.9) at BATCH:
                                               images/s, and the peak memory the training took
Peak memory: the growth of the process's resident-set high-water mark (ru_maxrss) from just before the model is
built (after one step of a throwaway model on one image has loaded the libraries) to the end of the run: parameters, gradients, momentum, activations, the allocator's and oneDNN's scratch. Run
one batch size per process (scaling.sh does), so that an earlier, larger run does not set the mark.
Prints: RESULT numpy gemm M=.. N=.. K=.. GFLOPS all[median ...] ...   or
        RESULT torch cnn_train batch=B img_per_s all[median ...] ... peak_mib=X
"""
import os, sys, resource
import peerpath  # noqa: F401
import numpy as np
from noise import timed_reps, stats

MODE, REPS = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
if MODE == "gemm":
    print("numpy", np.__version__, flush=True)
    for shape in sys.argv[3:]:
        m, n, k = map(int, shape.lower().split("x"))
        a = rng.standard_normal((m, k), dtype=np.float32); b = rng.standard_normal((k, n), dtype=np.float32)
        c = np.empty((m, n), np.float32)
        ts, fs, inner = timed_reps(lambda: np.matmul(a, b, out=c), lambda o: None, REPS)
        print(f"RESULT numpy gemm M={m} N={n} K={k} GFLOPS {stats([2 * m * n * k / t / 1e9 for t in ts], fs)} inner={inner}", flush=True)
elif MODE == "cnn":
    import torch, torch.nn as nn, torch.nn.functional as F
    torch.set_num_threads(os.cpu_count())
    B = int(sys.argv[3])
    x = torch.from_numpy(rng.random((B, 1, 28, 28), dtype=np.float32)); y = torch.from_numpy(np.arange(B) * 7 % 10)
    def cnn():
        return nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    # One step of a throwaway model on one image first: loads the libraries (oneDNN) whose pages would count.
    F.cross_entropy(cnn()(x[:1]), y[:1]).backward()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = cnn()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y); loss.backward(); opt.step(); return loss.detach()
    print(f"torch {torch.__version__} threads={torch.get_num_threads()} batch={B}", flush=True)
    ts, fs, inner = timed_reps(step, lambda l: float(l), REPS)
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024  # ru_maxrss is in KiB on Linux
    print(f"RESULT torch cnn_train batch={B} img_per_s {stats([B / t for t in ts], fs, '{:.0f}')} peak_mib={peak:.1f} inner={inner}", flush=True)
else:
    sys.exit("MODE must be gemm | cnn")
