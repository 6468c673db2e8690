"""The character-LSTM training step of `kiln bench --workload charlstm_train_step`, in PyTorch and JAX: one-hot
characters of a 65-character vocabulary into one LSTM layer (hidden 256, gate order i,f,g,o, PyTorch-style
parameters with both biases), a dense layer to 65 logits, softmax cross-entropy (mean over the window), gradients
clipped to global norm 5, Adam lr 3e-3 (betas 0.9, 0.999, eps 1e-8). One window of 64 characters in 32 streams,
the state carried from one step to the next (gradients stop at the window's start). Random characters (throughput only).
Usage: python3 charlstm_step.py FW [REPS] [STREAMS]   FW = torch | jax
Prints: RESULT fw charlstm chars_per_s all[median min max] quiet[...]
"""
import os, sys
import peerpath  # noqa: F401
import numpy as np
from noise import timed_reps, stats

FW = sys.argv[1]; REPS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
N = int(sys.argv[3]) if len(sys.argv) > 3 else 32
T, V, H, LR, CLIP = 64, 65, 256, 3e-3, 5.0
rng = np.random.default_rng(0)
text = rng.integers(0, V, T * N + 1)
X, Y = text[:-1].reshape(T, N).astype(np.int32), text[1:].reshape(T, N).astype(np.int32)
k = 1 / np.sqrt(H)
P0 = {"wih": rng.uniform(-k, k, (4 * H, V)), "whh": rng.uniform(-k, k, (4 * H, H)), "bih": rng.uniform(-k, k, 4 * H),
      "bhh": rng.uniform(-k, k, 4 * H), "dw": rng.uniform(-k, k, (V, H)), "db": rng.uniform(-k, k, V)}
P0 = {name: value.astype(np.float32) for name, value in P0.items()}

if FW == "torch":
    import torch, torch.nn.functional as F
    torch.set_num_threads(os.cpu_count())
    label = "torch"; print(f"torch {torch.__version__} threads={torch.get_num_threads()} streams={N}", flush=True)
    lstm, dense = torch.nn.LSTM(V, H), torch.nn.Linear(H, V)
    with torch.no_grad():
        for name, tensor in (("wih", lstm.weight_ih_l0), ("whh", lstm.weight_hh_l0), ("bih", lstm.bias_ih_l0),
                             ("bhh", lstm.bias_hh_l0), ("dw", dense.weight), ("db", dense.bias)):
            tensor.copy_(torch.from_numpy(P0[name]))
    params = list(lstm.parameters()) + list(dense.parameters())
    opt = torch.optim.Adam(params, lr=LR)
    xt, yt = F.one_hot(torch.from_numpy(X).long(), V).float(), torch.from_numpy(Y).long().reshape(-1)
    state = [(torch.zeros(1, N, H), torch.zeros(1, N, H))]
    def step():
        opt.zero_grad(set_to_none=True)
        out, (h, c) = lstm(xt, state[0])
        loss = F.cross_entropy(dense(out.reshape(-1, H)), yt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP)
        opt.step(); state[0] = (h.detach(), c.detach()); return loss.detach()
    sync = lambda l: float(l)
elif FW == "jax":
    import jax, jax.numpy as jnp
    label = "jax"; print(f"jax {jax.__version__} {jax.devices()} streams={N}", flush=True)
    P = {name: jnp.asarray(value) for name, value in P0.items()}
    zeros = jax.tree_util.tree_map(jnp.zeros_like, P)
    def loss_fn(p, hc, x, y):
        def cell(hc, xt):
            h, c = hc
            gates = xt @ p["wih"].T + p["bih"] + h @ p["whh"].T + p["bhh"]
            i, f, g, o = jnp.split(gates, 4, axis=1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h
        hc, hs = jax.lax.scan(cell, hc, jax.nn.one_hot(x, V))
        logits = hs.reshape(-1, H) @ p["dw"].T + p["db"]
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y.reshape(-1, 1), axis=1)), hc
    def _step(p, m, v, t, hc, x, y):
        (l, hc), g = jax.value_and_grad(loss_fn, has_aux=True)(p, hc, x, y)
        norm = jnp.sqrt(sum(jnp.sum(x * x) for x in jax.tree_util.tree_leaves(g)))
        scale = jnp.minimum(1.0, CLIP / (norm + 1e-6))
        g = jax.tree_util.tree_map(lambda g: g * scale, g)
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, v, g)
        lr = LR * jnp.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        p = jax.tree_util.tree_map(lambda p, m, v: p - lr * m / (jnp.sqrt(v) + 1e-8), p, m, v)
        return p, m, v, t, jax.lax.stop_gradient(hc), l
    _step = jax.jit(_step, donate_argnums=(0, 1, 2))
    S = {"p": P, "m": zeros, "v": jax.tree_util.tree_map(jnp.zeros_like, P), "t": jnp.zeros(()),
         "hc": (jnp.zeros((N, H)), jnp.zeros((N, H)))}
    xj, yj = jnp.asarray(X), jnp.asarray(Y)
    def step():
        S["p"], S["m"], S["v"], S["t"], S["hc"], l = _step(S["p"], S["m"], S["v"], S["t"], S["hc"], xj, yj); return l
    sync = lambda l: float(jax.block_until_ready(l))
else:
    sys.exit("FW must be torch | jax")

ts, fs, inner = timed_reps(step, sync, REPS)
print(f"RESULT {label} charlstm chars_per_s {stats([T * N / t for t in ts], fs, '{:.0f}')} streams={N} inner={inner}", flush=True)
