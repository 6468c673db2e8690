#!/usr/bin/env bash
# Builds the libFuzzer harnesses in Fuzz/Harnesses against the package's own sources: each library module
# they need is compiled with swiftc (-sanitize=fuzzer,address: coverage instrumentation and AddressSanitizer)
# into one object, then each harness is linked with libFuzzer's main. Output: Fuzz/.build/fuzz-NAME.
# Usage: Fuzz/build.sh [NAME...]   (default: every harness)
set -euo pipefail
cd "$(dirname "$0")/.."
out=Fuzz/.build
mkdir -p "$out"
flags=(-O -g -sanitize=fuzzer,address -parse-as-library -I "$out" -I Sources/CZlib -I Sources/CPNG -I Sources/CTurboJPEG)
settings=(-swift-version 5)

# module NAME SOURCES...: one object and one .swiftmodule, rebuilt when a source is newer than the object or when
# a module before it was rebuilt (the modules come in dependency order, and an object compiled against an older
# module, a protocol's witness table for one, reads past the new one's end); compiled with the language `settings`
# (Swift 5 mode, as the package is).
rebuilt=0
module() {
    local name=$1; shift
    local object="$out/$name.o"
    if [[ $rebuilt == 0 && -f $object ]] && [[ -z $(find "$@" -newer "$object" 2>/dev/null | head -1) ]]; then return; fi
    rebuilt=1
    echo "compiling $name" >&2
    swiftc "${flags[@]}" "${settings[@]}" -wmo -module-name "$name" -emit-module -emit-module-path "$out/$name.swiftmodule" -c "$@" -o "$object"
}

module KilnCore $(find Sources/KilnCore -name '*.swift')
module KilnFiles $(find Sources/KilnFiles -name '*.swift')
module KilnReference $(find Sources/KilnReference -name '*.swift')
module KilnNN $(find Sources/KilnNN -name '*.swift')
module KilnData $(find Sources/KilnData -name '*.swift')
# The ONNX reader and its protobuf runtime (checked out by `swift package resolve`).
protobuf=.build/checkouts/swift-protobuf/Sources/SwiftProtobuf
[[ -d $protobuf ]] || swift package resolve >&2
# As swift-protobuf's manifest builds it: Swift 6, its package-level declarations, explicit `any`.
settings=(-swift-version 6 -package-name swift_protobuf -enable-upcoming-feature ExistentialAny)
module SwiftProtobuf "$protobuf"/*.swift
settings=(-swift-version 5)
module KilnONNX $(find Sources/KilnONNX -name '*.swift')
# The model strings and the character vocabulary (found by name, wherever a module holds them), with the
# shim's re-exports.
find_source() {
    local found
    found=$(find Sources -name "$1" | head -1)
    [[ -n $found ]] || { echo "build.sh: no $1 under Sources" >&2; exit 1; }
    echo "$found"
}
module Kiln Fuzz/Support/KilnStandIn.swift
module FuzzShim Fuzz/Support/FuzzShim.swift "$(find_source ModelSpec.swift)" "$(find_source CharacterVocabulary.swift)" "$(find_source SequenceError.swift)"

objects=("$out"/KilnCore.o "$out"/KilnFiles.o "$out"/KilnReference.o "$out"/KilnNN.o "$out"/KilnData.o "$out"/SwiftProtobuf.o "$out"/KilnONNX.o
    "$out"/Kiln.o "$out"/FuzzShim.o)
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then names=($(ls Fuzz/Harnesses | sed 's/\.swift$//')); fi
for name in "${names[@]}"; do
    echo "linking fuzz-$name" >&2
    swiftc "${flags[@]}" -swift-version 5 -use-ld=lld -module-name "Fuzz_${name//-/_}" Fuzz/Harnesses/"$name".swift "${objects[@]}" -lz -lpng -lturbojpeg \
        -o "$out/fuzz-$name"
done
