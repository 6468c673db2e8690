#!/usr/bin/env bash
# The comparison in the README's "Measured" section: the peer scripts of ../shared/peers (after its setup.sh) and of
# Benchmarks/peers, and `kiln bench` on pocl, each output in $OUT/NAME.log, then the README's table from them
# (Benchmarks/peer-table.py). Run it on a quiet machine from the repository root after `swift build -c release`
# (KILN_BIN names another binary); quote ratios from one run only.
# The workloads go in families (SGEMM; convolutions and pooling; the LSTM layer; then each training step), and each
# family's CPU frameworks and Kiln run back to back, Kiln after them in odd rounds and before them in even ones (the
# OpenCL peers, CLBlast and tinygrad, follow): a shared machine's speed drifts by tens of percent over minutes, so a
# ratio is taken between runs seconds apart rather than a whole pass of the peers apart.
# ROUNDS=N (default 3) repeats the whole comparison N times into $OUT/round-1 ... round-N, and the table gives each
# figure's median over the rounds and each ratio's median over the rounds' ratios.
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
# Runs each `run` command line of a ";"-separated list.
run_all() {
  local commands command
  IFS=';' read -ra commands <<< "$1"
  for command in "${commands[@]}"; do eval "run $command"; done
}
# `kiln bench` on pocl over the workloads named, appended to the round's kiln_bench.log.
kiln() {
  local arguments=() workload
  for workload in "$@"; do arguments+=(--workload "$workload"); done
  echo "== kiln_bench $* $(date +%T)"
  "$KILN" bench --device opencl --json "${arguments[@]}" >> "$ROUND_OUT/kiln_bench.log" 2>&1
  echo "rc=$? $(date +%T)"
}
# One family: its CPU frameworks (run command lines), Kiln's workloads (a list of names) and its OpenCL peers.
family() {
  # shellcheck disable=SC2086
  if ((round % 2 == 0)); then kiln $2; run_all "$1"; else run_all "$1"; kiln $2; fi
  run_all "$3"
}
V_NUMPY="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $V"
families() {
  family "sgemm_numpy $V_NUMPY sgemm_numpy.py 10" \
    "sgemm_256 sgemm_512 sgemm_1024 sgemm_2048 sgemm_64x128x3136" \
    "sgemm_clblast $BIN/sgemm_clblast 10; sgemm_tinygrad env DEV=CL $V sgemm_tinygrad.py 10"
  family "conv_torch $V conv_bench.py torch 10; conv_jax $V conv_bench.py jax 10" \
    "conv1_fwd conv1_fwdbwd conv2_fwd conv2_fwdbwd pool1_fwdbwd pool2_fwdbwd" \
    "conv_tinygrad env DEV=CL $V conv_bench.py tinygrad 5"
  family "lstm_torch $V lstm_bench.py torch 10; lstm_jax $V lstm_bench.py jax 10" "lstm_fwdbwd" \
    "lstm_tinygrad env DEV=CL $V lstm_bench.py tinygrad-contig 3"
  family "train_torch_cnn $V train_fmnist.py torch cnn 1 400; train_jax_cnn $V train_fmnist.py jax cnn 1 400" "cnn_train_step" \
    "train_tinygrad_cnn env DEV=CL $V train_fmnist.py tinygrad cnn 1 200"
  family "train_torch_mlp $V train_fmnist.py torch mlp 1 1400; train_jax_mlp $V train_fmnist.py jax mlp 1 1400" "mlp_train_step" \
    "train_tinygrad_mlp env DEV=CL $V train_fmnist.py tinygrad mlp 1 1000"
  # The workloads users run (issue 16): Benchmarks/peers, same shapes as kiln bench's resnet_train_step and
  # charlstm_train_step.
  family "resnet_torch $V $MINE/resnet_step.py torch 10; resnet_jax $V $MINE/resnet_step.py jax 10" "resnet_train_step" ""
  family "charlstm_torch $V $MINE/charlstm_step.py torch 10; charlstm_jax $V $MINE/charlstm_step.py jax 10" \
    "charlstm_train_step" ""
}
rounds=${ROUNDS:-3}
for round in $(seq 1 "$rounds"); do
  if [[ $rounds -gt 1 ]]; then ROUND_OUT=$OUT/round-$round; else ROUND_OUT=$OUT; fi
  mkdir -p "$ROUND_OUT"
  : > "$ROUND_OUT/kiln_bench.log"
  echo "== round $round of $rounds: $ROUND_OUT"
  families
done
# The README's table from this run's logs.
python3 "$(dirname "$MINE")/peer-table.py" "$OUT"
