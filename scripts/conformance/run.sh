#!/usr/bin/env bash
# Runs the Autobahn|Testsuite fuzzingclient against the gateway (raw module, local echo) under one
# or more I/O engines and fails if any case FAILED.
#
#   scripts/conformance/run.sh [--engines "io_uring epoll"] [--cases '["1.*",…]'] [--full] [--bin PATH]
#                              [--deflate-subset] [--context-takeover]
#
# Defaults: both engines, groups 1–10 (under a minute each). --full runs every group (about 20 min
# per engine). --deflate-subset runs a few cases of each permessage-deflate group (12.1–12.5,
# 13.1–13.7; small messages, fragmented ones, every offer of 13), about 40 s per engine; the
# full 12 and 13 take about 15 min per engine (--cases '["12.*","13.*"]'). The module compresses
# without context takeover unless --context-takeover is given.
# Needs ../shared/conformance (install-autobahn.sh, run-autobahn.sh) or AUTOBAHN_SCRIPTS.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ENGINES="io_uring epoll"
CASES='["1.*","2.*","3.*","4.*","5.*","6.*","7.*","8.*","9.*","10.*"]'
DEFLATE_SUBSET='["12.1.1","12.2.2","12.3.3","12.4.11","12.5.1","13.1.1","13.2.2","13.3.3","13.4.11","13.5.1","13.6.2","13.7.3"]'
TAKEOVER=false
BIN="${GATEWAY_BIN:-$ROOT/.build/debug/gateway}"
SCRIPTS="${AUTOBAHN_SCRIPTS:-$ROOT/../shared/conformance}"
OUT="${AUTOBAHN_OUT:-$ROOT/reports/autobahn}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --engines) ENGINES="$2"; shift 2 ;;
    --cases) CASES="$2"; shift 2 ;;
    --full) CASES='["*"]'; shift ;;
    --deflate-subset) CASES="$DEFLATE_SUBSET"; shift ;;
    --context-takeover) TAKEOVER=true; shift ;;
    --bin) BIN="$2"; shift 2 ;;
    *) echo "usage: $0 [--engines LIST] [--cases JSON] [--full] [--deflate-subset] [--context-takeover] [--bin PATH]" >&2; exit 2 ;;
  esac
done
[[ -x "$BIN" ]] || { echo "conformance: $BIN not found; run swift build first" >&2; exit 2; }
[[ -x "$SCRIPTS/run-autobahn.sh" ]] || { echo "conformance: $SCRIPTS/run-autobahn.sh not found (set AUTOBAHN_SCRIPTS)" >&2; exit 2; }
bash "$SCRIPTS/install-autobahn.sh" >/dev/null 2>&1 || bash "$SCRIPTS/install-autobahn.sh"

mkdir -p "$(dirname "$OUT")"
status=0
for engine in $ENGINES; do
  cfg="$(mktemp /tmp/gateway-autobahn.XXXXXX.json)"
  # A random port below the kernel's ephemeral range (32768+), where outgoing connections take
  # theirs; if it is taken anyway (the gateway exits with EADDRINUSE), try another.
  for _ in 1 2 3 4 5; do
    port=$(( 20000 + RANDOM % 12000 ))
    sed -e "s/127.0.0.1:9001/127.0.0.1:$port/" -e "s/\"contextTakeover\": false/\"contextTakeover\": $TAKEOVER/" \
      "$HERE/autobahn.json" > "$cfg"
    "$BIN" serve --config "$cfg" --io-engine "$engine" --loops 2 > "$OUT-$engine.gateway.log" 2>&1 &
    pid=$!
    up=0
    for _ in $(seq 100); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then up=1; break; fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    [[ $up == 1 ]] && break
    wait "$pid" 2>/dev/null || true
  done
  mkdir -p "$OUT-$engine"
  if line=$(bash "$SCRIPTS/run-autobahn.sh" "ws://127.0.0.1:$port" "$CASES" "$OUT-$engine"); then
    echo "autobahn ($engine): ${line#autobahn: }"
  else
    echo "autobahn ($engine): ${line#autobahn: } — FAILED (details: $OUT-$engine/summary.txt)"
    status=1
  fi
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$cfg"
done
exit $status
