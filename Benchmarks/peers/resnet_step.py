"""The small ResNet training step of `kiln bench --workload resnet_train_step`, in PyTorch and JAX.
  conv16k3p1-bn-relu-res(conv16k3p1-bn-relu-conv16k3p1-bn)-relu-maxpool2
  -res(conv32k3p1-bn-relu-conv32k3p1-bn)-relu-maxpool2-res(conv64k3p1-bn-relu-conv64k3p1-bn)-relu-gap-flatten-dense10
on [N,1,28,28]: every convolution has a bias; a block that widens adds its input through a 1x1 convolution (with
bias), else the identity; batch norm in training mode (batch statistics, eps 1e-5, running statistics updated with
momentum 0.1); softmax cross-entropy (mean); SGD lr 0.01 momentum 0.9 (v = 0.9 v + g; p -= lr v). Random images in
[0, 1) and labels, fixed for every step (throughput only).
Usage: python3 resnet_step.py FW [REPS] [BATCH]   FW = torch | jax
Prints: RESULT fw resnet img_per_s all[median min max] quiet[...] (noise.py's timed_reps: each rep ~0.3 s of
back-to-back steps, then one synchronisation).
"""
import os, sys
import peerpath  # noqa: F401
import numpy as np
from noise import timed_reps, stats

FW = sys.argv[1]; REPS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
B = int(sys.argv[3]) if len(sys.argv) > 3 else 64
LR, MOM, EPS, BN_MOM = 0.01, 0.9, 1e-5, 0.1
rng = np.random.default_rng(0)
X = rng.random((B, 1, 28, 28), dtype=np.float32); Y = (np.arange(B) * 7 % 10).astype(np.int32)
STAGES = [(16, 16), (16, 32), (32, 64)]  # (input channels, block channels)

def u(shape, fan_in):
    return rng.uniform(-1 / np.sqrt(fan_in), 1 / np.sqrt(fan_in), shape).astype(np.float32)

def init():
    p = {"stem.w": u((16, 1, 3, 3), 9), "stem.b": u((16,), 9), "stem.g": np.ones(16, np.float32), "stem.beta": np.zeros(16, np.float32)}
    for i, (cin, c) in enumerate(STAGES):
        p[f"r{i}.w1"], p[f"r{i}.b1"] = u((c, cin, 3, 3), cin * 9), u((c,), cin * 9)
        p[f"r{i}.w2"], p[f"r{i}.b2"] = u((c, c, 3, 3), c * 9), u((c,), c * 9)
        for j in (1, 2): p[f"r{i}.g{j}"], p[f"r{i}.beta{j}"] = np.ones(c, np.float32), np.zeros(c, np.float32)
        if cin != c: p[f"r{i}.ws"], p[f"r{i}.bs"] = u((c, cin, 1, 1), cin), u((c,), cin)
    p["fc.w"], p["fc.b"] = u((64, 10), 64), u((10,), 64)
    return p
P0 = init()

if FW == "torch":
    import torch, torch.nn.functional as F
    torch.set_num_threads(os.cpu_count())
    label = "torch"; print(f"torch {torch.__version__} threads={torch.get_num_threads()} batch={B}", flush=True)
    P = {k: torch.tensor(v, requires_grad=True) for k, v in P0.items()}
    running = {k: (torch.zeros(v.shape[0]), torch.ones(v.shape[0])) for k, v in P0.items() if ".g" in k}
    def bn(x, g):
        mean, var = running[g]
        return F.batch_norm(x, mean, var, P[g], P[g.replace(".g", ".beta")], training=True, momentum=BN_MOM, eps=EPS)
    def fwd(x):
        x = F.relu(bn(F.conv2d(x, P["stem.w"], P["stem.b"], padding=1), "stem.g"))
        for i, (cin, c) in enumerate(STAGES):
            y = F.relu(bn(F.conv2d(x, P[f"r{i}.w1"], P[f"r{i}.b1"], padding=1), f"r{i}.g1"))
            y = bn(F.conv2d(y, P[f"r{i}.w2"], P[f"r{i}.b2"], padding=1), f"r{i}.g2")
            x = F.relu(y + (F.conv2d(x, P[f"r{i}.ws"], P[f"r{i}.bs"]) if cin != c else x))
            if i < 2: x = F.max_pool2d(x, 2)
        return x.mean((2, 3)) @ P["fc.w"] + P["fc.b"]
    opt = torch.optim.SGD(list(P.values()), lr=LR, momentum=MOM)
    xt, yt = torch.from_numpy(X), torch.from_numpy(Y).long()
    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(fwd(xt), yt); loss.backward(); opt.step(); return loss.detach()
    sync = lambda l: float(l)
elif FW == "jax":
    import jax, jax.numpy as jnp
    label = "jax"; print(f"jax {jax.__version__} {jax.devices()} batch={B}", flush=True)
    # NHWC/HWIO inside (XLA:CPU's faster layout, as in conv_bench.py's jax-nhwc).
    P = {k: jnp.asarray(v.transpose(2, 3, 1, 0) if v.ndim == 4 else v) for k, v in P0.items()}
    M = jax.tree_util.tree_map(jnp.zeros_like, P)
    R = {k: (jnp.zeros(v.shape[0]), jnp.ones(v.shape[0])) for k, v in P0.items() if ".g" in k}
    dn = ("NHWC", "HWIO", "NHWC")
    def conv(x, w, b, pad): return jax.lax.conv_general_dilated(x, w, (1, 1), ((pad, pad), (pad, pad)), dimension_numbers=dn) + b
    def bn(p, r, x, g, new):
        mean, var = x.mean((0, 1, 2)), x.var((0, 1, 2))
        n = x.size / x.shape[-1]
        new[g] = (r[g][0] * (1 - BN_MOM) + mean * BN_MOM, r[g][1] * (1 - BN_MOM) + var * n / (n - 1) * BN_MOM)
        return (x - mean) / jnp.sqrt(var + EPS) * p[g] + p[g.replace(".g", ".beta")]
    def pool(x): return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    def loss_fn(p, r, x, y):
        new = {}
        x = jax.nn.relu(bn(p, r, conv(x.transpose(0, 2, 3, 1), p["stem.w"], p["stem.b"], 1), "stem.g", new))
        for i, (cin, c) in enumerate(STAGES):
            h = jax.nn.relu(bn(p, r, conv(x, p[f"r{i}.w1"], p[f"r{i}.b1"], 1), f"r{i}.g1", new))
            h = bn(p, r, conv(h, p[f"r{i}.w2"], p[f"r{i}.b2"], 1), f"r{i}.g2", new)
            x = jax.nn.relu(h + (conv(x, p[f"r{i}.ws"], p[f"r{i}.bs"], 0) if cin != c else x))
            if i < 2: x = pool(x)
        logits = x.mean((1, 2)) @ p["fc.w"] + p["fc.b"]
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1)), new
    def _step(p, m, r, x, y):
        (l, r), g = jax.value_and_grad(loss_fn, has_aux=True)(p, r, x, y)
        m = jax.tree_util.tree_map(lambda m, g: MOM * m + g, m, g)
        p = jax.tree_util.tree_map(lambda p, m: p - LR * m, p, m)
        return p, m, r, l
    _step = jax.jit(_step, donate_argnums=(0, 1, 2))
    state = {"p": P, "m": M, "r": R}
    xj, yj = jnp.asarray(X), jnp.asarray(Y)
    def step():
        state["p"], state["m"], state["r"], l = _step(state["p"], state["m"], state["r"], xj, yj); return l
    sync = lambda l: float(jax.block_until_ready(l))
else:
    sys.exit("FW must be torch | jax")

ts, fs, inner = timed_reps(step, sync, REPS)
print(f"RESULT {label} resnet img_per_s {stats([B / t for t in ts], fs, '{:.0f}')} batch={B} inner={inner}", flush=True)
