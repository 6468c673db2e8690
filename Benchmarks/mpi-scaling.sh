#!/usr/bin/env bash
# Data-parallel scaling on this machine: step time, the allreduce's time and the gradient bytes per step of
# the MLP and the CNN on one process and on 2 ranks of `mpirun -np 2 kiln train`, with the ways the ranks can
# share the cores (Docs/distributed.md explains the table and projects it to 8 and 64 machines). Run it from
# the repository root after `swift build -c release`, on a quiet machine:
#   Benchmarks/mpi-scaling.sh              # STEPS=300 DATASET=fashion-mnist KILN=.build/release/kiln
set -u
KILN=${KILN:-$(cd "$(dirname "$0")/.." && pwd)/.build/release/kiln}
STEPS=${STEPS:-300}
DATASET=${DATASET:-fashion-mnist}
MPIRUN=(mpirun --allow-run-as-root)
BUCKETS=()
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
[ -x "$KILN" ] || { echo "no $KILN: run swift build -c release first" >&2; exit 1; }
command -v mpirun > /dev/null || { echo "no mpirun: apt-get install openmpi-bin libopenmpi-dev" >&2; exit 1; }

printf '%-5s %-5s %-52s %9s %9s %9s %9s %9s %10s\n' model ranks "placement" "step ms" "images/s" "wait ms" "read ms" "alone ms" "grad MiB"

# One process, as a user without mpirun runs it: `kiln bench`'s whole training step (batch 64, all cores).
for model in mlp cnn; do
  line=$("$KILN" bench --device opencl --workload "${model}_train_step" --replicates 10 --json 2>/dev/null | head -1)
  median=$(echo "$line" | python3 -c 'import json, sys; print("%.3f" % json.load(sys.stdin)["median_ms"])' 2>/dev/null || echo "?")
  images=$(python3 -c "print('%.0f' % (64 / ($median / 1000)))" 2>/dev/null || echo "?")
  printf '%-5s %-5s %-52s %9s %9s %9s %9s %9s %10s\n' "$model" 1 "one process, no MPI (kiln bench)" "$median" "$images" - - - -
done

# `kiln train` under mpirun: STEPS steps of batch 64 split across the ranks; the median of the last 90%.
run() {
  local model=$1 ranks=$2 placement=$3
  shift 3
  local log="$OUT/$model-$ranks-$(echo "$placement" | tr -c 'a-zA-Z0-9' _).log"
  timeout 1800 "${MPIRUN[@]}" -np "$ranks" "$@" "$KILN" train --model "$model" --device opencl --dataset "$DATASET" \
    --steps "$STEPS" --report-timing "${BUCKETS[@]}" --out "$OUT/run" > "$log" 2>&1
  local timing grad
  timing=$(grep '^timing' "$log")
  grad=$(sed -n 's/^gradients: \([0-9.]*\) MiB.*/\1/p' "$log")
  if [ -z "$timing" ]; then
    printf '%-5s %-5s %-52s failed, see below\n' "$model" "$ranks" "$placement"
    tail -5 "$log"
    return
  fi
  echo "$timing" | python3 -c '
import re, sys
model, ranks, placement, grad = sys.argv[1:5]
step, wait, read, alone = [float(x) for x in re.findall(r"([0-9.]+) ms", sys.stdin.read())][:4]
print("%-5s %-5s %-52s %9.3f %9.0f %9.3f %9.3f %9.3f %10s" % (model, ranks, placement, step, 64 / (step / 1000), wait, read, alone, grad))
' "$model" "$ranks" "$placement" "$grad"
}

for model in mlp cnn; do
  run "$model" 1 "mpirun -np 1 --bind-to none (all cores)" --bind-to none
  run "$model" 2 "each rank bound to a core (Open MPI's default)"
  run "$model" 2 "unbound, POCL_MAX_PTHREAD_COUNT=1 each (Kiln's)" --bind-to none
  run "$model" 2 "unbound, all cores each (oversubscribed)" --bind-to none -x POCL_MAX_PTHREAD_COUNT="$(nproc)"
done
# The CNN's dense gradient in a bucket of its own, summed during the convolutions' backward pass.
BUCKETS=(--bucket-mib 1)
run cnn 2 "bound to a core, 1 MiB buckets (--bucket-mib 1)"
cat <<'NOTE'
step ms: median step on rank 0 (batch 64 in all, split across the ranks). wait ms: time blocked on the
allreduce after the backward pass (what overlap did not hide, and the other rank's lateness). read ms:
copying finished gradients to the host, including waiting for the device to compute them. alone ms: the
same allreduces with nothing to overlap. grad MiB: gradients summed per step (each rank sends 2(N-1)/N of
them with the ring).
NOTE
