#!/usr/bin/env bash
# device-check.sh: check Kiln on an OpenCL device it has never run on, from a folder that needs no Swift there.
#
#   Tools/device-check.sh pack [--icd nvidia|pocl|PATH] [--pack DIR] [--no-data] [--incremental]
#       On the build machine: builds a static release `kiln` from scratch (swift build -c release
#       --static-swift-stdlib, in .build/static; --incremental reuses that folder, which risks a binary whose modules
#       disagree on a changed class's layout after merges), checks that it loads no Swift runtime library, and packs
#       into DIR (default .build/device-check, ignored by git, so it travels with the working tree only when named,
#       e.g. as a carried path) the stripped binary gzipped (about 25 MB), the ICD loader (libOpenCL.so.1) and the
#       other system libraries kiln links (libpng16, libz), a vendors/ folder with one .icd file naming the OpenCL
#       driver (nvidia: NVIDIA's libnvidia-opencl.so.1, found on the target by the dynamic loader; pocl: this
#       machine's pocl, for testing the script here; or a library path), Fashion-MNIST (30 MB; not with --no-data),
#       and this script.
#   DIR/device-check.sh run [--results DIR] [--quick]
#       On the target machine (from the packed folder, or Tools/device-check.sh run --pack DIR): with OCL_ICD_VENDORS
#       pointing at the packed vendors/ folder and the packed libraries first on the library path, runs `kiln devices`,
#       `kiln check` (the whole catalog; --quick: the quick cases only), `kiln bench` (every workload, each GEMM
#       variant) and a 1-epoch CNN training run on Fashion-MNIST, writing each command's output (and the training's
#       metrics) to the results folder (default ./device-check-results) with a summary.txt. Exit status: 0 when every
#       command succeeded, 1 otherwise (the summary says which).
set -uo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
    sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 2
}

fail() {
    echo "device-check: $*" >&2
    exit 1
}

# ---- pack ----

pack() {
    local icd="nvidia" pack_dir="" data=1 incremental=0
    while [ $# -gt 0 ]; do
        case "$1" in
        --icd) icd="${2:?--icd needs nvidia, pocl or a library path}"; shift 2 ;;
        --pack) pack_dir="${2:?--pack needs a folder}"; shift 2 ;;
        --no-data) data=0; shift ;;
        --incremental) incremental=1; shift ;;
        *) usage ;;
        esac
    done
    local repo
    repo="$(cd "$script_dir/.." && pwd)"
    [ -f "$repo/Package.swift" ] || fail "pack runs from the repository (Tools/device-check.sh pack); $repo has no Package.swift"
    pack_dir="${pack_dir:-$repo/.build/device-check}"

    echo "building a static release kiln (.build/static) ..."
    [ "$incremental" = 1 ] || rm -rf "$repo/.build/static"
    (cd "$repo" && swift build -c release --static-swift-stdlib --build-path .build/static --product kiln) || fail "the static build failed"
    local binary="$repo/.build/static/release/kiln"
    [ -x "$binary" ] || fail "no binary at $binary"

    # The binary must not need the Swift toolchain's libraries on the target.
    local swift_libraries
    swift_libraries="$(ldd "$binary" | grep -E 'libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime' || true)"
    [ -z "$swift_libraries" ] || fail "the binary still loads Swift runtime libraries:
$swift_libraries"

    rm -rf "$pack_dir"
    mkdir -p "$pack_dir/lib" "$pack_dir/vendors" || fail "cannot create $pack_dir"
    cp "$binary" "$pack_dir/kiln" && strip "$pack_dir/kiln" && gzip -9 "$pack_dir/kiln" || fail "cannot pack the binary"
    cp "${BASH_SOURCE[0]}" "$pack_dir/device-check.sh"

    # The ICD loader and the other libraries kiln links besides glibc and the C++ runtime, by their sonames.
    local library path
    for library in libOpenCL.so.1 libpng16.so.16 libz.so.1; do
        path="$(ldd "$binary" | awk -v name="$library" '$1 == name { print $3 }')"
        [ -n "$path" ] && [ -f "$path" ] || fail "$library: not found through ldd $binary"
        cp -L "$path" "$pack_dir/lib/$library"
    done

    local driver
    case "$icd" in
    nvidia) driver="libnvidia-opencl.so.1" ;;
    pocl)
        driver="$(cat /etc/OpenCL/vendors/pocl.icd 2>/dev/null)"
        [ -n "$driver" ] || fail "--icd pocl: /etc/OpenCL/vendors/pocl.icd not found (apt-get install pocl-opencl-icd)"
        ;;
    *) driver="$icd" ;;
    esac
    echo "$driver" >"$pack_dir/vendors/kiln-device-check.icd"

    if [ "$data" = 1 ]; then
        local source="/usr/share/datasets/fashion-mnist"
        [ -f "$source/train-images-idx3-ubyte.gz" ] || fail "Fashion-MNIST not found in $source (apt-get install dataset-fashion-mnist, or --no-data)"
        mkdir -p "$pack_dir/data" && cp "$source"/*.gz "$pack_dir/data/"
    fi
    echo "packed $(du -sh "$pack_dir" | cut -f1) into $pack_dir (OpenCL driver: $driver)"
    echo "on the target: $pack_dir/device-check.sh run --results RESULTS_FOLDER"
}

# ---- run ----

# step NAME COMMAND...: runs COMMAND with its output in RESULTS/NAME.txt, records its status and time in the summary.
step() {
    local name="$1"
    shift
    local start end status
    start="$(date +%s)"
    "$@" >"$results/$name.txt" 2>&1
    status=$?
    end="$(date +%s)"
    printf '%-24s %s  %4d s  %s\n' "$name" "$([ $status -eq 0 ] && echo ok || echo "FAILED ($status)")" $((end - start)) "$*" \
        | tee -a "$results/summary.txt"
    [ $status -eq 0 ] || failures=$((failures + 1))
}

run() {
    local pack_dir="$script_dir" quick=0
    results="$PWD/device-check-results"
    while [ $# -gt 0 ]; do
        case "$1" in
        --pack) pack_dir="$(cd "${2:?--pack needs a folder}" && pwd)"; shift 2 ;;
        --results) results="${2:?--results needs a folder}"; shift 2 ;;
        --quick) quick=1; shift ;;
        *) usage ;;
        esac
    done
    [ -f "$pack_dir/kiln.gz" ] || fail "no kiln.gz in $pack_dir: pack it first (Tools/device-check.sh pack)"
    mkdir -p "$results" || fail "cannot create $results"
    results="$(cd "$results" && pwd)"
    : >"$results/summary.txt"
    failures=0

    export OCL_ICD_VENDORS="$pack_dir/vendors"
    export LD_LIBRARY_PATH="$pack_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    # Programs are cached per device inside the results, so the folder shows the cold builds and nothing is left behind.
    export KILN_CACHE_DIR="$results/program-cache"
    # The binary unpacked outside the results, which travel back and should stay small.
    local unpacked
    unpacked="$(mktemp -d)" || fail "cannot create a temporary folder"
    trap "rm -rf '$unpacked'" EXIT
    gunzip -c "$pack_dir/kiln.gz" >"$unpacked/kiln" && chmod +x "$unpacked/kiln" || fail "cannot unpack $pack_dir/kiln.gz"
    local kiln="$unpacked/kiln"
    {
        echo "kiln device check on $(hostname) at $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
        echo "OCL_ICD_VENDORS=$OCL_ICD_VENDORS: $(cat "$OCL_ICD_VENDORS"/*.icd | tr '\n' ' ')"
        command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
        echo
    } | tee "$results/summary.txt"

    step devices "$kiln" devices
    local check_options=()
    [ "$quick" = 1 ] && check_options=(--quick)
    step check "$kiln" check --device opencl "${check_options[@]}"
    step check-json "$kiln" check --device opencl --json "${check_options[@]}"
    local variant
    for variant in tiled register-blocked; do
        step "bench-$variant" env KILN_GEMM="$variant" "$kiln" bench --device opencl --save "$results/bench-$variant.jsonl"
    done
    if [ -d "$pack_dir/data" ]; then
        step train-cnn-1-epoch "$kiln" train --model cnn --epochs 1 --device opencl --dataset "$pack_dir/data" --out "$results/cnn"
    else
        echo "train-cnn-1-epoch        skipped: packed without data" | tee -a "$results/summary.txt"
    fi
    echo "results in $results ($failures failed)" | tee -a "$results/summary.txt"
    [ "$failures" -eq 0 ]
}

case "${1:-}" in
pack) shift; pack "$@" ;;
run) shift; run "$@" ;;
*) usage ;;
esac
