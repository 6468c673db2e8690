#!/usr/bin/env bash
# Cold start (issue 16, goal 5), in one command: the figures of the README's "Kernel builds" paragraph and the first
# training step of a new process against a steady one.
#   1. `kiln warmup` (every program) with Kiln's program cache off and an empty pocl cache: the cold build;
#      then with an empty cache folder (the first run, which fills it) and again from it: the warm build.
#   2. `kiln train --model cnn --steps 30` twice in new processes sharing one filled cache: from the second run's
#      steps.jsonl, the first step (which waits for any first-launch work pocl still does) against the median of
#      steps 11-30, and the process's wall time.
#   3. `kiln bench` on the CNN and MLP steps: its cold-start columns (first step with an empty / a warm program
#      cache, in one process) beside the steady median.
# Every cache is a fresh temporary folder: nothing the user's own caches hold is read or changed.
# Run from anywhere after `swift build -c release`; DEVICE picks the OpenCL device (default opencl).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KILN=${KILN:-$ROOT/.build/release/kiln}
DEVICE=${DEVICE:-opencl}
WORK=$(mktemp -d /tmp/kiln-cold-start.XXXXXX) || exit 1
trap 'rm -rf "$WORK"' EXIT
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

echo "== kernel builds (kiln warmup, every program)"
mkdir -m 700 "$WORK/pocl-cold" "$WORK/pocl" "$WORK/kiln"
start=$(date +%s%N)
KILN_CACHE=off POCL_CACHE_DIR="$WORK/pocl-cold" "$KILN" warmup --device "$DEVICE" | head -1
cold=$(ms "$start")
start=$(date +%s%N)
KILN_CACHE_DIR="$WORK/kiln" POCL_CACHE_DIR="$WORK/pocl" "$KILN" warmup --device "$DEVICE" | head -1
fill=$(ms "$start")
start=$(date +%s%N)
KILN_CACHE_DIR="$WORK/kiln" POCL_CACHE_DIR="$WORK/pocl" "$KILN" warmup --device "$DEVICE" | head -1
warm=$(ms "$start")
echo "RESULT kernel_builds process_ms cold=$cold first_with_cache=$fill warm=$warm warm_over_cold=$(awk "BEGIN{printf \"%.3f\", $warm/$cold}")"

echo "== first training step of a new process, warm caches (kiln train --model cnn --steps 30)"
for run in fill measure; do
  start=$(date +%s%N)
  KILN_CACHE_DIR="$WORK/kiln" POCL_CACHE_DIR="$WORK/pocl" "$KILN" train --device "$DEVICE" --model cnn --steps 30 \
    --progress plain --out "$WORK/train-$run" > "$WORK/train-$run.log" 2>&1 || { cat "$WORK/train-$run.log"; exit 1; }
  wall=$(ms "$start")
done
python3 - "$WORK/train-measure/steps.jsonl" "$wall" <<'PY'
import json, statistics, sys
steps = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
ms = [64 / s["images_per_second"] * 1000 for s in steps]
steady = statistics.median(ms[10:30])
print(f"RESULT first_step new_process_warm_cache first_ms={ms[0]:.1f} steady_median_ms={steady:.2f} "
      f"first_over_steady={ms[0] / steady:.1f} process_wall_ms={sys.argv[2]}")
PY

echo "== kiln bench cold-start columns"
"$KILN" bench --device "$DEVICE" --workload cnn_train_step --workload mlp_train_step
