#!/usr/bin/env bash
# Runs the tests that cover the CPU paths, the readers and the OpenCL runtime wrappers under AddressSanitizer
# (with LeakSanitizer) and ThreadSanitizer, each in its own scratch folder, and fails on any failed test or
# sanitizer report. Suppressions for the toolchain's and pocl's own reports are in Tools/sanitizers/, each
# with its reason.
#   Tools/sanitizers.sh [address|thread|both] [--with-cycles]
# --with-cycles adds LiveObjectTests (1,000 device/model/step cycles), about 20 minutes under ASan on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-both}
filter='KilnFilesTests|KilnDataTests|KilnReferenceTests|KilnCoreTests|RuntimeTests|ProgramCacheTrustTests'
if [[ "${2:-}" == "--with-cycles" ]]; then filter+='|LiveObjectTests'; fi
supp="$PWD/Tools/sanitizers"
mkdir -p .build-sanitizers
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export TSAN_OPTIONS="suppressions=$supp/tsan.supp:halt_on_error=0"
status=0

run() { # sanitizer, scratch path
    local log=".build-sanitizers/$1.log" start=$SECONDS
    nice -n 15 swift build --build-tests --sanitize="$1" --scratch-path "$2"
    local built=$SECONDS
    set +e
    nice -n 15 swift test --skip-build --sanitize="$1" --scratch-path "$2" --filter "$filter" >"$log" 2>&1
    local code=$?
    set -e
    local summary reports
    summary=$(grep -E "Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -1 | sed 's/^[[:space:]]*//')
    reports=$(grep -cE "ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer" "$log" || true)
    echo "$1: ${summary:-no test summary}; sanitizer reports: $reports; exit $code;" \
        "build $((built - start)) s, tests $((SECONDS - built)) s (log: $log)"
    if [[ $code -ne 0 || $reports -ne 0 || -z "$summary" ]]; then status=1; fi
}

if [[ $which == address || $which == both ]]; then run address .build-asan; fi
if [[ $which == thread || $which == both ]]; then run thread .build-tsan; fi
exit $status
