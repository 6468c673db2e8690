#!/usr/bin/env bash
# The comparison in the README's "Measured" section: the peer scripts of ../shared/peers (after its
# setup.sh) and of Benchmarks/peers, one after another, then `kiln bench` on pocl, each output in $OUT/NAME.log, and
# prints the README's table from them (Benchmarks/peer-table.py). Run it on a quiet
# machine from the repository root after `swift build -c release` (KILN_BIN names another binary); quote ratios from
# one run only.
# ROUNDS=N (default 1) repeats the whole comparison N times into $OUT/round-1 ... round-N, Kiln last in odd rounds and
# first in even ones, and the table gives each figure's median over the rounds and each ratio's median over the
# rounds' ratios: a shared machine's speed drifts by tens of percent over minutes, and a ratio of two runs taken
# minutes apart carries that drift.
set -u
V=${PEERS_VENV:-/tmp/kiln-peers/venv}/bin/python
BIN=${PEERS_BIN:-/tmp/kiln-peers/bin}
PEERS=${PEERS:-$(cd "$(dirname "$0")/../../shared/peers" && pwd)}
KILN=${KILN_BIN:-$(cd "$(dirname "$0")/.." && pwd)/.build/release/kiln}
MINE=$(cd "$(dirname "$0")" && pwd)/peers
export PEERS
OUT=${OUT:-/tmp/kiln-peers-run}
mkdir -p "$OUT"
cd "$PEERS" || exit 1
run() {
  local name=$1; shift
  echo "== $name $(date +%T)"
  timeout 900 "$@" > "$ROUND_OUT/$name.log" 2>&1
  echo "rc=$? $(date +%T)"
  grep RESULT "$ROUND_OUT/$name.log"
}
peers() {
  run sgemm_numpy env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$V" sgemm_numpy.py 10
  run sgemm_clblast "$BIN/sgemm_clblast" 10
  run sgemm_tinygrad env DEV=CL "$V" sgemm_tinygrad.py 10
  run conv_torch "$V" conv_bench.py torch 10
  run conv_jax "$V" conv_bench.py jax 10
  run conv_tinygrad env DEV=CL "$V" conv_bench.py tinygrad 5
  run lstm_torch "$V" lstm_bench.py torch 10
  run lstm_jax "$V" lstm_bench.py jax 10
  run lstm_tinygrad env DEV=CL "$V" lstm_bench.py tinygrad-contig 3
  run train_torch_cnn "$V" train_fmnist.py torch cnn 1 400
  run train_torch_mlp "$V" train_fmnist.py torch mlp 1 1400
  run train_jax_cnn "$V" train_fmnist.py jax cnn 1 400
  run train_jax_mlp "$V" train_fmnist.py jax mlp 1 1400
  run train_tinygrad_cnn env DEV=CL "$V" train_fmnist.py tinygrad cnn 1 200
  run train_tinygrad_mlp env DEV=CL "$V" train_fmnist.py tinygrad mlp 1 1000
  # The workloads users run (issue 16): Benchmarks/peers, same shapes as kiln bench's resnet_train_step and
  # charlstm_train_step.
  run resnet_torch "$V" "$MINE/resnet_step.py" torch 10
  run resnet_jax "$V" "$MINE/resnet_step.py" jax 10
  run charlstm_torch "$V" "$MINE/charlstm_step.py" torch 10
  run charlstm_jax "$V" "$MINE/charlstm_step.py" jax 10
}
kiln() { run kiln_bench "$KILN" bench --device opencl --json; }
rounds=${ROUNDS:-1}
for round in $(seq 1 "$rounds"); do
  if [[ $rounds -gt 1 ]]; then ROUND_OUT=$OUT/round-$round; else ROUND_OUT=$OUT; fi
  mkdir -p "$ROUND_OUT"
  echo "== round $round of $rounds: $ROUND_OUT"
  if ((round % 2 == 0)); then kiln; peers; else peers; kiln; fi
done
# The README's table from this run's logs.
python3 "$(dirname "$MINE")/peer-table.py" "$OUT"
