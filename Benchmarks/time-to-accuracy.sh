#!/usr/bin/env bash
# Time to a test accuracy on Fashion-MNIST (issue 16): Kiln's best CNN recipe (the README's "Best CNN recipe":
# dropout 25% before the first dense layer, lr 0.03 cosine-annealed over 10 epochs, momentum 0.9, batch 64) through
# `kiln train --test-every-epoch` on pocl, then the same recipe in PyTorch (Benchmarks/peers/fmnist_recipe.py) on the
# same cores, one after the other. Each side prints one RESULT line: the training seconds (test measurements
# excluded) until the first epoch whose test accuracy reaches TARGET percent, and the command's whole wall time.
# Run from anywhere after `swift build -c release`; EPOCHS=1 is a smoke run of both scripts.
set -u
EPOCHS=${EPOCHS:-10}
TARGET=${TARGET:-91}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KILN=${KILN:-$ROOT/.build/release/kiln}
V=${PEERS_VENV:-/tmp/kiln-peers/venv}/bin/python
OUT=${OUT:-/tmp/kiln-time-to-accuracy}/$(date +%Y%m%d-%H%M%S)
RECIPE=conv32k3p1-relu-maxpool2-conv64k3p1-relu-maxpool2-flatten-dropout25-dense128-relu-dense10
mkdir -p "$OUT" || exit 1
echo "== kiln $(date +%T): $EPOCHS epochs, target $TARGET%, logs in $OUT"
start=$(date +%s%N)
"$KILN" train --device opencl --model "$RECIPE" --lr 0.03 --cosine 10 --momentum 0.9 --batch-size 64 --epochs "$EPOCHS" \
  --test-every-epoch --progress plain --out "$OUT/kiln" > "$OUT/kiln.log" 2>&1
rc=$?
wall=$(( ($(date +%s%N) - start) / 1000000 ))
grep '^epoch' "$OUT/kiln.log"
[ $rc -eq 0 ] || { echo "kiln train failed (rc=$rc), see $OUT/kiln.log"; tail -5 "$OUT/kiln.log"; exit 1; }
python3 - "$OUT/kiln/metrics.csv" "$TARGET" "$wall" "$EPOCHS" <<'PY'
import csv, sys
rows, target, wall, epochs = list(csv.DictReader(open(sys.argv[1]))), float(sys.argv[2]), float(sys.argv[3]) / 1000, sys.argv[4]
trained, reached = 0.0, None
for row in rows:
    trained += float(row["seconds"])
    if reached is None and row["test_accuracy"] and 100 * float(row["test_accuracy"]) >= target: reached = trained
print(f"RESULT kiln fmnist_recipe time_to_{target:g} s={'none' if reached is None else f'{reached:.1f}'} epochs={epochs} "
      f"final_test_acc={100 * float(rows[-1]['test_accuracy']):.2f}% command_wall_s={wall:.1f}")
PY
echo "== torch $(date +%T)"
start=$(date +%s%N)
"$V" "$ROOT/Benchmarks/peers/fmnist_recipe.py" "$EPOCHS" "$TARGET" > "$OUT/torch.log" 2>&1 || { echo "torch failed, see $OUT/torch.log"; exit 1; }
wall=$(( ($(date +%s%N) - start) / 1000000 ))
grep '^EPOCH' "$OUT/torch.log"
echo "$(grep '^RESULT' "$OUT/torch.log") command_wall_s=$((wall / 1000)).$(printf %03d $((wall % 1000)))"
