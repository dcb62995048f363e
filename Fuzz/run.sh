#!/usr/bin/env bash
# Builds and runs the libFuzzer targets. See Fuzz/README.md.
#
#   Fuzz/run.sh [target|all] [runs] [more libFuzzer flags...]
#
# target: FuzzHTTP1, FuzzWebSocket, FuzzInflate, FuzzJSON, FuzzConfig or all (default: all, one after another).
# runs:   executions per target (default 10,000,000).
# The growing corpus, crash files and logs go to $FUZZ_WORK/<target> (default /tmp/gateway-fuzz),
# never into the repository; Fuzz/Corpus/<target> is read as seeds only. One process (no -jobs/-workers).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
target=${1:-all}
runs=${2:-10000000}
shift $(( $# < 2 ? $# : 2 ))
work_root=${FUZZ_WORK:-/tmp/gateway-fuzz}
scratch=$here/.build-fuzz
all=(FuzzHTTP1 FuzzWebSocket FuzzInflate FuzzJSON FuzzConfig)

build() {
    # -sanitize=fuzzer links libFuzzer and adds coverage; -enable-testing lets FuzzJSON and FuzzConfig
    # reach the internal MessageCodec and RuntimeConfig (@testable import Gateway).
    swift build -c release --package-path "$here" --scratch-path "$scratch" --product "$1" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing
}

run() {
    local name=$1 work=$work_root/$1
    shift
    mkdir -p "$work/corpus" "$work/artifacts"
    # FUZZ_NO_BUILD=1 runs the binary as last built (e.g. while the main package is mid-edit).
    [[ ${FUZZ_NO_BUILD:-0} == 1 ]] || build "$name"
    local dict=()
    [[ -f $here/Dictionaries/$name.dict ]] && dict=(-dict="$here/Dictionaries/$name.dict")
    echo "== $name: $runs runs; corpus $work/corpus, log $work/fuzz.log"
    local start=$SECONDS status=0
    # FuzzJSON makes some twenty passes over each input and FuzzWebSocket reads it twice, often a byte
    # at a time: 2 KiB keeps them near 5,000 executions/s and still holds 256-deep nesting, 16-bit
    # frame lengths and hundreds of frames.
    local max_len=4096
    [[ $name == FuzzJSON || $name == FuzzWebSocket ]] && max_len=2048
    "$scratch/release/$name" -runs="$runs" -rss_limit_mb=2048 -timeout=5 -max_len="$max_len" \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/" "${dict[@]}" "$@" \
        "$work/corpus" "$here/Corpus/$name" >"$work/fuzz.log" 2>&1 || status=$?
    local seconds=$((SECONDS - start))
    grep -E '^(INFO: (Seed|seed corpus)|stat::|Done )' "$work/fuzz.log" || true
    if (( status != 0 )); then
        grep -E -A30 'ERROR:|INVARIANT FAILED|==[0-9]+==' "$work/fuzz.log" | head -60 || true
        echo "== $name FAILED (exit $status) after ${seconds}s; inputs in $work/artifacts/"
        return "$status"
    fi
    local execs
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log")
    echo "== $name: $execs executions in ${seconds}s, no crash, leak or timeout"
}

if [[ $target == all ]]; then
    for name in "${all[@]}"; do run "$name" "$@"; done
else
    run "$target" "$@"
fi
