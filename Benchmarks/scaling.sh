#!/usr/bin/env bash
# How cost grows (issue 16), measured in one run and drawn into Docs/images/ against the cores' FMA peak:
#   (a) CNN training throughput at batch 16, 64, 256 and 1024: `kiln bench --workload cnn_train_step --batch B` on
#       pocl, and PyTorch (Benchmarks/peers/scaling.py cnn, one process per batch size);
#   (b) SGEMM GFLOP/s: square N³ for N = 64 … 4096, and two skinny families at S = 256 … 4096: 64×S×S (a dense layer
#       on a batch of 64) and S×S×64 (its weight gradient: a rank-64 product); `kiln bench --gemm` and NumPy;
#   (c) peak memory per batch size: Kiln's compiled plan (intermediates with buffer reuse + parameters, optimizer
#       state and inputs; `peak_memory_bytes` of `kiln bench --json`) and PyTorch's resident-set growth.
# The FMA peak is measured here: ../shared/peers/fma_peak.c compiled and run on every core (the larger of its AVX2
# and AVX-512 figures). Data: $OUT/scaling.json (every figure with its source) and one CSV per chart; charts:
# Docs/images/scaling-{cnn,gemm,memory}.svg (the subtitle says where it was measured: set MACHINE, e.g. "quiet
# machine"). Run from anywhere after `swift build -c release` and the peers' setup.sh; REPS sets the replicates.
# FMA_PEAK=233 draws that figure (GFLOP/s) instead of the one measured here (on a busy machine the other processes
# take the cores from fma_peak too); CHARTS_ONLY=1 redraws the charts from the data already in $OUT.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KILN=${KILN:-$ROOT/.build/release/kiln}
V=${PEERS_VENV:-/tmp/kiln-peers/venv}/bin/python
PEERS=${PEERS:-$(cd "$ROOT/../shared/peers" 2>/dev/null && pwd || echo /work/shared/peers)}
export PEERS
OUT=${OUT:-/tmp/kiln-scaling}
IMAGES=${IMAGES:-$ROOT/Docs/images}
REPS=${REPS:-5}
MACHINE=${MACHINE:-busy machine}
BATCHES=${BATCHES:-16 64 256 1024}
SIZES=${SIZES:-256 512 1024 2048 4096}
SQUARE=${SQUARE:-64 128 $SIZES}
mkdir -p "$OUT" "$IMAGES" || exit 1
log() { echo "== $* $(date +%T)"; }

if [ -z "${CHARTS_ONLY:-}" ]; then
log "FMA peak"
if ! gcc -O2 -march=native -pthread "$PEERS/fma_peak.c" -o "$OUT/fma_peak" 2>/dev/null; then
  # A CPU without AVX-512: build both paths anyway; the AVX-512 one stops the program after the AVX2 line (the
  # subshell keeps the shell's "Illegal instruction" report out of the output).
  gcc -O2 -mavx2 -mfma -mavx512f -pthread "$PEERS/fma_peak.c" -o "$OUT/fma_peak" || exit 1
fi
(stdbuf -oL "$OUT/fma_peak" "$(nproc)" > "$OUT/fma_peak.log" 2>&1; :) 2>/dev/null
cat "$OUT/fma_peak.log"

log "Kiln SGEMM"
GEMMS=""
for n in $SQUARE; do GEMMS="$GEMMS --gemm $n"; done
for s in $SIZES; do GEMMS="$GEMMS --gemm 64x${s}x${s} --gemm ${s}x${s}x64"; done
# shellcheck disable=SC2086
"$KILN" bench --device opencl --json --replicates "$REPS" --warmup 1 $GEMMS > "$OUT/kiln_gemm.jsonl" 2> "$OUT/kiln_gemm.err"
echo "rc=$? $(grep -c '"status":"ok"' "$OUT/kiln_gemm.jsonl") shapes ok"

log "NumPy SGEMM"
SHAPES=""
for n in $SQUARE; do SHAPES="$SHAPES ${n}x${n}x${n}"; done
for s in $SIZES; do SHAPES="$SHAPES 64x${s}x${s} ${s}x${s}x64"; done
# shellcheck disable=SC2086
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$V" "$ROOT/Benchmarks/peers/scaling.py" gemm "$REPS" $SHAPES > "$OUT/numpy_gemm.log" 2>&1
grep -c RESULT "$OUT/numpy_gemm.log"

: > "$OUT/kiln_cnn.jsonl"; : > "$OUT/torch_cnn.log"
for b in $BATCHES; do
  log "CNN batch $b: Kiln"
  "$KILN" bench --device opencl --json --replicates "$REPS" --warmup 1 --workload cnn_train_step --batch "$b" \
    >> "$OUT/kiln_cnn.jsonl" 2>> "$OUT/kiln_cnn.err"
  log "CNN batch $b: PyTorch"
  "$V" "$ROOT/Benchmarks/peers/scaling.py" cnn "$REPS" "$b" >> "$OUT/torch_cnn.log" 2>&1
done

fi

log "tables and charts"
python3 - "$OUT" "$MACHINE $(date +%F), $(nproc) cores" "${FMA_PEAK:-}" <<'PY' || exit 1
import json, os, re, sys
out, where = sys.argv[1], sys.argv[2]
def lines(name):  # a part that did not run (or was stopped) leaves its file missing or short
    path = os.path.join(out, name)
    return open(path).read().splitlines() if os.path.exists(path) else []
def jsonl(name): return [json.loads(l) for l in lines(name) if l.startswith("{")]
def results(name): return [l for l in lines(name) if l.startswith("RESULT")]
def median(line): return float(re.search(r"all\[median=([0-9.]+)", line).group(1))
peaks = [float(m) for m in re.findall(r"GFLOPS_\w+_fma: total=([0-9.]+)", "\n".join(lines("fma_peak.log")))]
fma_measured = max(peaks) if peaks else None
fma = float(sys.argv[3]) if sys.argv[3] else fma_measured
# FLOPs of one training image of the CNN: forward 2·MACs of conv1 (28·28·32·9), conv2 (14·14·64·32·9), dense
# 3136·128 and 128·10; backward twice the forward except conv1, whose input needs no gradient.
conv1, conv2, dense = 2 * 28 * 28 * 32 * 9, 2 * 14 * 14 * 64 * 32 * 9, 2 * (3136 * 128 + 128 * 10)
cnn_flops = 2 * conv1 + 3 * conv2 + 3 * dense
def shape(workload):
    m = re.fullmatch(r"sgemm_(\d+)(?:x(\d+)x(\d+))?", workload)
    return (int(m.group(1)),) * 3 if m.group(2) is None else tuple(map(int, m.groups()))
gemm = {}
for r in jsonl("kiln_gemm.jsonl"):
    if r["status"] == "ok": gemm.setdefault(shape(r["workload"]), {})["kiln"] = r["gflops"]
for l in results("numpy_gemm.log"):
    m, n, k = (int(re.search(p + r"=(\d+)", l).group(1)) for p in ("M", "N", "K"))
    gemm.setdefault((m, n, k), {})["numpy"] = median(l)
cnn = {}
for r in jsonl("kiln_cnn.jsonl"):
    if r["status"] == "ok":
        batch = round(r["items_per_s"] * r["median_ms"] / 1000)
        cnn.setdefault(batch, {}).update(kiln_img_s=r["items_per_s"], kiln_mib=r["peak_memory_bytes"] / 2**20)
for l in results("torch_cnn.log"):
    batch = int(re.search(r"batch=(\d+)", l).group(1))
    cnn.setdefault(batch, {}).update(torch_img_s=median(l), torch_mib=float(re.search(r"peak_mib=([0-9.]+)", l).group(1)))
data = {"where": where, "fma_peak_gflops": fma, "fma_peak_measured_gflops": fma_measured, "cnn_flops_per_image": cnn_flops,
        "gemm": [{"m": m, "n": n, "k": k, **v} for (m, n, k), v in sorted(gemm.items())],
        "cnn": [{"batch": b, **v} for b, v in sorted(cnn.items())]}
json.dump(data, open(os.path.join(out, "scaling.json"), "w"), indent=1)
def cell(v): return "" if v is None else f"{v:.6g}"
def family(m, n, k):
    return "N³" if m == n == k else "64×S×S" if m == 64 and n == k else "S×S×64" if k == 64 and m == n else None
with open(os.path.join(out, "gemm.csv"), "w") as f:
    columns = [(who, fam) for who in ("Kiln (pocl)", "NumPy") for fam in ("N³", "64×S×S", "S×S×64")]
    f.write("size (N or S)," + ",".join(f"{who} {fam}" for who, fam in columns) + "\n")
    rows = {}
    for (m, n, k), v in gemm.items():
        fam = family(m, n, k)
        if fam is None: continue
        size = n
        for who, key in (("Kiln (pocl)", "kiln"), ("NumPy", "numpy")):
            rows.setdefault(size, {})[(who, fam)] = v.get(key)
    for size in sorted(rows): f.write(f"{size}," + ",".join(cell(rows[size].get(c)) for c in columns) + "\n")
with open(os.path.join(out, "cnn.csv"), "w") as f:
    f.write("batch,Kiln (pocl),PyTorch\n")
    for b, v in sorted(cnn.items()): f.write(f"{b},{cell(v.get('kiln_img_s'))},{cell(v.get('torch_img_s'))}\n")
with open(os.path.join(out, "memory.csv"), "w") as f:
    f.write("batch,Kiln (pocl) plan peak,PyTorch resident-set growth\n")
    for b, v in sorted(cnn.items()): f.write(f"{b},{cell(v.get('kiln_mib'))},{cell(v.get('torch_mib'))}\n")
with open(os.path.join(out, "levels.sh"), "w") as f:
    f.write(f"FMA={fma if fma else ''}\nFMA_SOURCE={'given' if sys.argv[3] else 'measured'}\nCNN_BOUND={fma * 1e9 / cnn_flops if fma else ''}\nCNN_MFLOP={cnn_flops / 1e6:.1f}\n")
print(json.dumps(data, indent=1))
PY
# shellcheck disable=SC1091
. "$OUT/levels.sh"
FMA_LEVEL=(); CNN_LEVEL=()
[ -n "$FMA" ] && FMA_LEVEL=(--level "FMA peak ($(printf %.0f "$FMA") GFLOP/s, $FMA_SOURCE)=$FMA")
[ -n "$CNN_BOUND" ] && CNN_LEVEL=(--level "FMA bound ($(printf %.0f "$FMA") GFLOP/s $FMA_SOURCE ÷ $CNN_MFLOP MFLOP)=$CNN_BOUND")
"$KILN" chart "$OUT/gemm.csv" -o "$IMAGES/scaling-gemm.svg" --log-x "${FMA_LEVEL[@]}" --y-label "GFLOP/s" \
  --title "SGEMM: GFLOP/s against size (C[M,N] = A[M,K]·B[K,N])" --subtitle "$MACHINE $(date +%F), $(nproc) cores; Kiln on pocl, NumPy/OpenBLAS"
"$KILN" chart "$OUT/cnn.csv" -o "$IMAGES/scaling-cnn.svg" --log-x "${CNN_LEVEL[@]}" --y-label "images/s" \
  --title "CNN training throughput against batch size" --subtitle "$MACHINE $(date +%F), $(nproc) cores; SGD momentum step, Kiln on pocl, PyTorch on the CPU"
"$KILN" chart "$OUT/memory.csv" -o "$IMAGES/scaling-memory.svg" --log-x --log-y --y-label "MiB" \
  --title "CNN training: peak memory against batch size" --subtitle "$MACHINE $(date +%F); Kiln: its plan's device memory; PyTorch: resident-set growth"
log "done: $OUT/scaling.json, $IMAGES/scaling-{gemm,cnn,memory}.svg"
