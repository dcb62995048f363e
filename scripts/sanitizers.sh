#!/usr/bin/env bash
# Builds the gateway with a sanitizer and runs the end-to-end suite against that binary under both
# I/O engines. A sanitizer report makes the gateway exit non-zero, which fails the test's teardown.
#
#   scripts/sanitizers.sh              # address (with leak detection) and thread
#   scripts/sanitizers.sh address      # AddressSanitizer + LeakSanitizer only
#   scripts/sanitizers.sh thread       # ThreadSanitizer only
#   E2E_ENGINES=epoll scripts/sanitizers.sh thread
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
ensure_swift
KINDS="${*:-address thread}"
ENGINES="${E2E_ENGINES:-io_uring epoll}"
for kind in $KINDS; do
  case "$kind" in
    address) scratch=.build-asan; export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1" ;;
    thread) scratch=.build-tsan; export TSAN_OPTIONS="halt_on_error=1 exitcode=66" ;;
    *) echo "usage: $0 [address|thread]..." >&2; exit 2 ;;
  esac
  step "build with -sanitize=$kind ($scratch)"
  swift build --scratch-path "$scratch" -Xswiftc -sanitize="$kind" --product gateway 2>&1 | tail -n 1
  step "end-to-end tests under the $kind sanitizer ($ENGINES)"
  GATEWAY_BIN="$ROOT/$scratch/debug/gateway" E2E_ENGINES="$ENGINES" GATEWAY_SANITIZER="$kind" \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider "$ROOT/Tests/EndToEnd"
done
step "sanitizer runs passed: $KINDS"
