#!/usr/bin/env bash
# Installs what the tests need (Debian 12) and runs them all: unit tests, the end-to-end suite against
# the real binary under both I/O engines, and Autobahn groups 1–10 under both engines over ws:// and
# wss://, plus a subset of the compression groups 12 and 13 (with and without context takeover).
#
#   scripts/test.sh                 # everything CI runs
#   SKIP_APT=1 scripts/test.sh      # skip apt-get (packages already installed)
#   E2E_ENGINES=epoll scripts/test.sh   # e.g. inside a container where seccomp blocks io_uring
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

step "system packages"
install_packages build-essential pkg-config liburing-dev libcurl4-openssl-dev libhiredis-dev libssl-dev zlib1g-dev libc-ares-dev openssl redis-server \
  python3 python3-dnslib python3-websockets python3-pytest python3-jsonschema python3-seccomp python3-jwt python3-cryptography python3-h2 curl nodejs chromium
ensure_swift

step "build"
swift build 2>&1 | tail -n 3

step "unit tests"
swift test >/tmp/gateway-unit.log 2>&1 || { grep -E "✘|error:" /tmp/gateway-unit.log | head -n 60; echo "unit tests FAILED"; exit 1; }
grep -E "Test run with" /tmp/gateway-unit.log | tail -n 1

ENGINES="${E2E_ENGINES:-io_uring epoll}"
step "end-to-end tests ($ENGINES)"
GATEWAY_BIN="$ROOT/.build/debug/gateway" E2E_ENGINES="$ENGINES" /usr/bin/python3 -m pytest -q -p no:cacheprovider "$ROOT/Tests/EndToEnd"

step "Autobahn|Testsuite groups 1-10 ($ENGINES)"
if [[ -d "${AUTOBAHN_SCRIPTS:-$ROOT/../shared/conformance}" ]]; then
  "$ROOT/scripts/conformance/run.sh" --engines "$ENGINES"
  step "Autobahn|Testsuite groups 1-10 over wss:// ($ENGINES)"
  "$ROOT/scripts/conformance/run.sh" --engines "$ENGINES" --tls
  step "Autobahn|Testsuite 12/13 subset, permessage-deflate ($ENGINES)"
  "$ROOT/scripts/conformance/run.sh" --engines "$ENGINES" --deflate-subset
  "$ROOT/scripts/conformance/run.sh" --engines "$ENGINES" --deflate-subset --context-takeover
else
  echo "skipped: ../shared/conformance not found (set AUTOBAHN_SCRIPTS to run it)"
fi
step "all tests passed"
