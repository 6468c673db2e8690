#!/usr/bin/env bash
# The whole op catalog (`kiln check`, every tier, the bench's kernel workloads included) and the bench's training steps
# (`kiln bench --check-only`: one run of the step checked against the reference) under oclgrind with every check
# (--data-races --uninitialized), one op or step per oclgrind process so that a run can stop and continue later: an op
# whose result in OUT says it passed with an empty oclgrind log is not run again.
#   Tools/oclgrind-check.sh default|reduced [OUT]
# default: oclgrind's own limits (1024 work items, 32 KiB of local memory), where Kiln picks the GPU-shaped tiled
#          GEMM; reduced: 256 work items and 16 KiB (--max-wgsize 256 --local-mem-size 16384) with the
#          register-blocked GEMM (KILN_GEMM=register-blocked).
# OUT (default .build/oclgrind-check/MODE) holds per op NAME.jsonl (kiln check's JSON lines), NAME.oclgrind.log (its
# reports; empty when none) and NAME.seconds. KILN sets the binary (default .build/release/kiln, after
# `swift build -c release`); JOBS runs that many ops at once (default 1); OPS="op op ..." checks only those ops or
# steps. Prints one line per op and a summary; exit 1 when an op failed, oclgrind reported anything, or an op has not
# finished.
# The interpreter is slow: with every check on (--uninitialized above all) the tiled GEMM runs about eight times slower
# than the register-blocked one, so the bench's sgemm_2048 alone takes 44 minutes of a 2-core machine at the reduced
# limits and about six hours at the default ones (sgemm_512: 68 s and 535 s).
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
case $mode in
default) limits=() gemm=${KILN_GEMM:-} ;;
reduced) limits=(--max-wgsize 256 --local-mem-size 16384) gemm=register-blocked ;;
*)
    echo "usage: Tools/oclgrind-check.sh default|reduced [OUT]" >&2
    exit 64
    ;;
esac
out=${2:-.build/oclgrind-check/$mode}
kiln=${KILN:-.build/release/kiln}
mkdir -p "$out" || exit 1
[[ -x $kiln ]] || { echo "no $kiln: run swift build -c release first, or set KILN" >&2; exit 1; }
command -v oclgrind > /dev/null || { echo "oclgrind is not installed (apt-get install oclgrind)" >&2; exit 1; }

# The catalog's ops in order, each once (the case list names them "op N"), then the training steps.
steps=(mlp_train_step cnn_train_step charlstm_train_step resnet_train_step)
if [[ -n ${OPS:-} ]]; then
    read -ra ops <<< "$OPS"
else
    mapfile -t ops < <("$kiln" check --list | cut -f1 | sed 's/ [0-9]*$//' | awk '!seen[$0]++')
    ops+=("${steps[@]}")
fi

is_step() { [[ $1 == *_train_step ]]; }

passed() { # op: its result says pass (a step: checked) and oclgrind reported nothing
    [[ -f $out/$1.jsonl && -f $out/$1.oclgrind.log && ! -s $out/$1.oclgrind.log ]] || return 1
    if is_step "$1"; then
        grep -q '"status":"checked"' "$out/$1.jsonl"
    else
        grep -q '"kind":"summary"' "$out/$1.jsonl" && ! grep -q '"status":"fail' "$out/$1.jsonl"
    fi
}

run_op() {
    local op=$1 start=$SECONDS command
    passed "$op" && return 0
    if is_step "$op"; then
        command=(bench --device opencl --json --check-only --workload "$op")
    else
        command=(check --device opencl --json --op "$op")
    fi
    env KILN_CACHE=off ${gemm:+KILN_GEMM=$gemm} oclgrind --data-races --uninitialized --log "$out/$op.oclgrind.log" \
        "${limits[@]}" "$kiln" "${command[@]}" > "$out/$op.jsonl" 2> "$out/$op.stderr"
    echo $((SECONDS - start)) > "$out/$op.seconds"
}
export -f run_op passed is_step
export out kiln gemm
export limits_text="${limits[*]}"
# Arrays do not cross into the xargs children: they rebuild the limits from their text.
printf '%s\n' "${ops[@]}" | xargs -P "${JOBS:-1}" -I{} bash -c 'limits=($limits_text); run_op "$1"' _ {}

status=0
for op in "${ops[@]}"; do
    reports="?"
    [[ -f $out/$op.oclgrind.log ]] && reports=$(wc -l < "$out/$op.oclgrind.log")
    if passed "$op"; then
        verdict=pass
    elif [[ -f $out/$op.jsonl ]] && grep -q '"status":"fail' "$out/$op.jsonl"; then
        verdict=FAIL status=1
    elif is_step "$op" && [[ -s $out/$op.seconds ]] && ! grep -q '"status":"checked"' "$out/$op.jsonl" 2> /dev/null; then
        verdict=FAIL status=1
    elif [[ $reports != 0 && $reports != "?" ]]; then
        verdict="REPORTED" status=1
    else
        verdict="not finished" status=1
    fi
    cases=$(grep -o '"cases":[0-9]*' "$out/$op.jsonl" 2> /dev/null | head -1 | cut -d: -f2)
    is_step "$op" && cases=1
    printf '%-32s %-13s cases %-5s oclgrind report lines %-4s %s s\n' "$op" "$verdict" "${cases:-?}" "$reports" \
        "$(cat "$out/$op.seconds" 2> /dev/null || echo "?")"
done
echo "oclgrind-check $mode: ${#ops[@]} ops; results in $out"
exit $status
