#!/usr/bin/env bash
# Builds the libFuzzer harnesses in Fuzz/Harnesses against the package's own sources: each library module
# they need is compiled with swiftc (-sanitize=fuzzer,address: coverage instrumentation and AddressSanitizer)
# into one object, then each harness is linked with libFuzzer's main. Output: Fuzz/.build/fuzz-NAME.
# Usage: Fuzz/build.sh [NAME...]   (default: every harness)
set -euo pipefail
cd "$(dirname "$0")/.."
out=Fuzz/.build
mkdir -p "$out"
flags=(-O -g -sanitize=fuzzer,address -parse-as-library -swift-version 5 -I "$out" -I Sources/CZlib -I Sources/CPNG)

# module NAME SOURCES...: one object and one .swiftmodule, rebuilt when a source is newer than the object.
module() {
    local name=$1; shift
    local object="$out/$name.o"
    if [[ -f $object ]] && [[ -z $(find "$@" -newer "$object" 2>/dev/null | head -1) ]]; then return; fi
    echo "compiling $name" >&2
    swiftc "${flags[@]}" -wmo -module-name "$name" -emit-module -emit-module-path "$out/$name.swiftmodule" -c "$@" -o "$object"
}

module KilnCore Sources/KilnCore/*.swift
module KilnFiles Sources/KilnFiles/*.swift
module KilnReference Sources/KilnReference/*.swift
module KilnNN Sources/KilnNN/*.swift
module KilnData Sources/KilnData/*.swift
# The model strings and the character vocabulary (found by name, wherever a module holds them), with the
# shim's re-exports.
find_source() {
    local found
    found=$(find Sources -name "$1" | head -1)
    [[ -n $found ]] || { echo "build.sh: no $1 under Sources" >&2; exit 1; }
    echo "$found"
}
module FuzzShim Fuzz/Support/FuzzShim.swift "$(find_source ModelSpec.swift)" "$(find_source CharacterVocabulary.swift)" "$(find_source SequenceError.swift)"

objects=("$out"/KilnCore.o "$out"/KilnFiles.o "$out"/KilnReference.o "$out"/KilnNN.o "$out"/KilnData.o "$out"/FuzzShim.o)
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then names=($(ls Fuzz/Harnesses | sed 's/\.swift$//')); fi
for name in "${names[@]}"; do
    echo "linking fuzz-$name" >&2
    swiftc "${flags[@]}" -use-ld=lld -module-name "Fuzz_${name//-/_}" Fuzz/Harnesses/"$name".swift "${objects[@]}" -lz -lpng \
        -o "$out/fuzz-$name"
done
