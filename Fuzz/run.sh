#!/usr/bin/env bash
# Builds (see build.sh) and runs the libFuzzer harnesses, one after another, each for SECONDS (default 60)
# from its committed seeds in Fuzz/corpus/NAME plus what earlier runs found (Fuzz/.build/corpus-NAME).
# Prints one line per harness: executions, coverage, new corpus entries; a crash leaves its input in
# Fuzz/.build/crashes/ and makes the script fail.
# Usage: Fuzz/run.sh [-t SECONDS] [NAME...]   (default: every harness in Fuzz/Harnesses)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
if [[ ${1:-} == -t ]]; then seconds=$2; shift 2; fi
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then names=($(ls Fuzz/Harnesses | sed 's/\.swift$//')); fi
Fuzz/build.sh "${names[@]}" 2>&1 | grep -v "Cannot export local symbol" >&2 || true
out=Fuzz/.build
mkdir -p "$out/crashes"
failed=0
for name in "${names[@]}"; do
    [[ -x $out/fuzz-$name ]] || { echo "fuzz-$name was not built" >&2; exit 1; }
    mkdir -p "$out/corpus-$name"
    log="$out/fuzz-$name.log"
    status=0
    # -rss_limit_mb: a harness that needs more than 2 GiB has found an unbounded allocation.
    seeds=("Fuzz/corpus/$name")
    # ONNX's node tests (every operator Kiln imports) are seeds too, read where the tests keep them.
    if [[ $name == onnx ]]; then seeds+=(Tests/KilnONNXTests/Data/node); fi
    "$out/fuzz-$name" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
        -artifact_prefix="$out/crashes/$name-" "$out/corpus-$name" "${seeds[@]}" >"$log" 2>&1 || status=$?
    # -a: a harness's log can hold bytes of the inputs it printed; -o | tail -1: the final statistics only.
    runs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo "?")
    coverage=$(grep -ao 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
    features=$(grep -ao 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
    corpus=$(ls "$out/corpus-$name" | wc -l)
    if [[ $status -ne 0 ]]; then
        failed=1
        echo "fuzz-$name: FAILED after $runs runs (status $status); see $log and $out/crashes/"
    else
        echo "fuzz-$name: ${seconds} s, $runs runs, coverage $coverage edges, $features features, $corpus inputs found, 0 crashes"
    fi
done
exit $failed
