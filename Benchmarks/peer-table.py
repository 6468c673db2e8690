#!/usr/bin/env python3
"""The README's comparison table from one run of Benchmarks/compare-peers.sh.

    Benchmarks/peer-table.py [OUT]    (default /tmp/kiln-peers-run, compare-peers.sh's $OUT)

Reads the peers' RESULT lines and `kiln bench --json` from OUT/*.log and prints a Markdown table: every
workload's median (GFLOP/s for SGEMM, images or characters per second for training steps, else ms), Kiln's
speed over the fastest CPU framework's (NumPy for SGEMM, else the fastest of PyTorch and JAX), and over
tinygrad's on the same OpenCL device. Medians over all of a peer's samples, as Kiln's are over all replicates.
When OUT holds rounds (OUT/round-1, round-2, ...: compare-peers.sh with ROUNDS=N), each figure is the median of its
rounds' figures and each ratio the median of the rounds' ratios, each of those from one round's runs minutes apart.
"""
import glob
import json
import os
import re
import statistics
import sys


def median(line):
    match = re.search(r"all\[median=([0-9.]+)", line) or re.search(r"GFLOPS median=([0-9.]+)", line)
    return float(match.group(1))


def table_rows(out):
    """Each row of one round's logs in `out`: (label, Kiln's median, the peers' medians, whether higher is better, the
    CPU frameworks to beat)."""
    results = [line.strip() for path in sorted(glob.glob(os.path.join(out, "*.log"))) for line in open(path) if line.startswith("RESULT")]
    kiln = {}
    for line in open(os.path.join(out, "kiln_bench.log")):
        if line.startswith("{"):
            record = json.loads(line)
            if "workload" in record:
                kiln[record["workload"]] = record

    def peer(framework, pattern):
        """The median of the first RESULT line of `framework` (its name as the peer prints it) matching `pattern`."""
        for line in results:
            words = line.split()
            if words[1] == framework and re.search(pattern, line):
                return median(line)
        return None

    rows = []
    for name, record in kiln.items():
        sgemm = re.fullmatch(r"sgemm_(\d+)(?:x(\d+)x(\d+))?", name)
        if sgemm:
            m, n, k = (int(sgemm.group(1)),) * 3 if sgemm.group(2) is None else map(int, sgemm.groups())
            shape = rf"M={m} N={n} K={k} "
            values = {"numpy": peer("numpy", shape), "clblast": peer("clblast", shape), "tinygrad": peer("tinygrad-CL", shape)}
            rows.append((f"{name} (GFLOP/s)", record["gflops"], values, True, ["numpy"]))
            continue
        kernel = re.fullmatch(r"(conv[12]|pool[12])_(fwd|fwdbwd)|(lstm)_fwdbwd", name)
        if kernel:
            op, direction = (kernel.group(1), kernel.group(2)) if kernel.group(1) else ("lstm", "fwdbwd")
            pattern = f" {op} " + (r"fwd\+bwd" if direction == "fwdbwd" else "fwd") + " ms"
            values = {f: peer(f, pattern) for f in ("torch", "jax")}
            values["tinygrad"] = peer("tinygrad-CL", pattern) or peer("tinygrad-contig-CL", pattern)
            rows.append((name, record["median_ms"], values, False, ["torch", "jax"]))
            continue
        step = re.fullmatch(r"(cnn|mlp|resnet|charlstm)_train_step", name)
        if step:
            model = step.group(1)
            unit = "characters/s" if model == "charlstm" else "images/s"
            pattern = rf" {model} (img|chars)_per_s"
            values = {f: peer(f, pattern) for f in ("torch", "jax")}
            values["tinygrad"] = peer("tinygrad-CL", pattern)
            rows.append((f"{name} ({unit})", record["items_per_s"], values, True, ["torch", "jax"]))

    return rows


def show(value):
    if value is None:
        return ""
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:#.3g}" if value < 10 else f"{value:.1f}"


def ratio(r):
    if r is None:
        return ""
    return f"{r:.2f}" if r < 10 else f"{r:.1f}"


def best_cpu(values, higher, cpu):
    cpu_values = [values[f] for f in cpu if values.get(f) is not None]
    return (max if higher else min)(cpu_values) if cpu_values else None


def speed_ratio(kiln_value, other, higher):
    return None if other is None else (kiln_value / other if higher else other / kiln_value)


if len(sys.argv) > 2 or (len(sys.argv) == 2 and sys.argv[1] in ("-h", "--help")):
    sys.exit("usage: Benchmarks/peer-table.py [OUT]   (a Benchmarks/compare-peers.sh output folder)")
out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/kiln-peers-run"
if not glob.glob(os.path.join(out, "*.log")) and not glob.glob(os.path.join(out, "round-*", "*.log")):
    sys.exit(f"peer-table.py: no compare-peers.sh logs (*.log or round-N/*.log) in {out}")
rounds = sorted(glob.glob(os.path.join(out, "round-*")), key=lambda path: int(path.rsplit("-", 1)[1]))
columns = ["numpy", "torch", "jax", "clblast", "tinygrad"]
# Per workload: the rounds' rows, then the medians over them.
per_round = [table_rows(path) for path in rounds] if rounds else [table_rows(out)]
rows = []
for name, value, values, higher, cpu in per_round[0]:
    same = [row for round_rows in per_round for row in round_rows if row[0] == name]

    def middle(numbers):
        numbers = [n for n in numbers if n is not None]
        return statistics.median(numbers) if numbers else None

    merged = {f: middle([row[2].get(f) for row in same]) for f in columns}
    cpu_ratio = middle([speed_ratio(row[1], best_cpu(row[2], higher, cpu), higher) for row in same])
    tinygrad_ratio = middle([speed_ratio(row[1], row[2].get("tinygrad"), higher) for row in same])
    rows.append((name, middle([row[1] for row in same]), merged, cpu_ratio, tinygrad_ratio))
if rounds:
    print(f"(medians over {len(rounds)} rounds)")
print("| workload | Kiln (pocl) | NumPy | PyTorch | JAX | CLBlast (pocl) | tinygrad (pocl) | Kiln ÷ best CPU peer | Kiln ÷ tinygrad |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for name, value, values, cpu_ratio, tinygrad_ratio in rows:
    cells = [show(values.get(f)) for f in columns]
    print(f"| {name} | {show(value)} | " + " | ".join(cells) + f" | {ratio(cpu_ratio)} | {ratio(tinygrad_ratio)} |")
