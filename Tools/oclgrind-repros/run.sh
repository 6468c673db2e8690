#!/usr/bin/env bash
# run.sh: builds the oclgrind reproductions and runs each where it shows the defect and where it does not, checking
# both outcomes, so each defect is shown to be oclgrind's: pocl (the system's OpenCL) and oclgrind without the
# triggering option give the right answer from the same program. Exit status 0 when every outcome is as described.
# Usage: Tools/oclgrind-repros/run.sh [BUILD_DIR]   (needs cc, the OpenCL headers and loader, pocl and oclgrind)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$(mktemp -d)}"
failures=0

# expect OUTCOME PATTERN COMMAND...: runs COMMAND and checks that its output matches PATTERN (grep -E).
expect() {
    local outcome="$1" pattern="$2"
    shift 2
    local output
    output="$("$@" 2>&1)"
    if grep -Eq "$pattern" <<<"$output"; then
        echo "as expected ($outcome): $*"
    else
        echo "NOT as expected ($outcome): $*"
        echo "$output" | sed 's/^/    /'
        failures=$((failures + 1))
    fi
}

# expect_no_report COMMAND...: runs COMMAND and checks that oclgrind reported nothing and the result was right.
expect_no_report() {
    local output
    output="$("$@" 2>&1)"
    if grep -q ": right" <<<"$output" && ! grep -Eq "Uninitialized|uninitialized|FATAL" <<<"$output"; then
        echo "as expected (no report): $*"
    else
        echo "NOT as expected (no report): $*"
        echo "$output" | sed 's/^/    /'
        failures=$((failures + 1))
    fi
}

for name in vector-mask-not freeze-uninitialized released-buffer-shadow shuffle-undef-uninitialized partial-transfer-shadow; do
    cc -O1 -o "$build/$name" "$here/$name.c" -lOpenCL || exit 2
done

expect "pocl right" ": right" "$build/vector-mask-not"
expect "oclgrind wrong" ": WRONG" oclgrind "$build/vector-mask-not"
expect "oclgrind unoptimised right" ": right" oclgrind --build-options -cl-opt-disable "$build/vector-mask-not"

expect "pocl right" ": right" "$build/freeze-uninitialized"
expect "oclgrind right" ": right" oclgrind "$build/freeze-uninitialized"
expect "oclgrind --uninitialized stops at freeze" "Unsupported instruction: freeze" oclgrind --uninitialized "$build/freeze-uninitialized"

expect "false report" "Uninitialized value" oclgrind --uninitialized "$build/released-buffer-shadow" release 4 64
expect_no_report oclgrind --uninitialized "$build/released-buffer-shadow" keep 4 64
expect_no_report oclgrind --uninitialized "$build/released-buffer-shadow" release 64 64

expect "pocl right" ": right" "$build/shuffle-undef-uninitialized" fold
expect "oclgrind right" ": right" oclgrind "$build/shuffle-undef-uninitialized" fold
expect "oclgrind --uninitialized crashes" "Segmentation fault|status 139" \
    bash -c '"$@"; status=$?; [ $status -ge 128 ] && echo "Segmentation fault (status $status)"' _ oclgrind --uninitialized "$build/shuffle-undef-uninitialized" fold
expect "pocl right" ": right" "$build/shuffle-undef-uninitialized" odd
expect "false report" "Uninitialized value" oclgrind --uninitialized "$build/shuffle-undef-uninitialized" odd

expect "false report" "Uninitialized value" oclgrind --uninitialized "$build/partial-transfer-shadow" halves
expect_no_report oclgrind --uninitialized "$build/partial-transfer-shadow" whole

exit $((failures > 0))
