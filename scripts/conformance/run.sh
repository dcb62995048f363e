#!/usr/bin/env bash
# Runs the Autobahn|Testsuite fuzzingclient against the gateway (raw module, local echo) under one
# or more I/O engines and fails if any case FAILED.
#
#   scripts/conformance/run.sh [--engines "io_uring epoll"] [--cases '["1.*",…]'] [--full] [--tls] [--bin PATH]
#                              [--deflate-subset] [--context-takeover]
#
# Defaults: both engines, groups 1–10 (under a minute each). --full runs every group (about 20 min
# per engine). --tls serves wss:// (a fresh self-signed certificate) and points the fuzzingclient at
# it. --deflate-subset runs a few cases of each permessage-deflate group (12.1–12.5,
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
TLS=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --engines) ENGINES="$2"; shift 2 ;;
    --cases) CASES="$2"; shift 2 ;;
    --full) CASES='["*"]'; shift ;;
    --tls) TLS=1; shift ;;
    --deflate-subset) CASES="$DEFLATE_SUBSET"; shift ;;
    --context-takeover) TAKEOVER=true; shift ;;
    --bin) BIN="$2"; shift 2 ;;
    *) echo "usage: $0 [--engines LIST] [--cases JSON] [--full] [--tls] [--deflate-subset] [--context-takeover] [--bin PATH]" >&2; exit 2 ;;
  esac
done
[[ -x "$BIN" ]] || { echo "conformance: $BIN not found; run swift build first" >&2; exit 2; }
[[ -x "$SCRIPTS/run-autobahn.sh" ]] || { echo "conformance: $SCRIPTS/run-autobahn.sh not found (set AUTOBAHN_SCRIPTS)" >&2; exit 2; }
bash "$SCRIPTS/install-autobahn.sh" >/dev/null 2>&1 || bash "$SCRIPTS/install-autobahn.sh"

mkdir -p "$(dirname "$OUT")"
status=0
tlsdir=""
if [[ $TLS == 1 ]]; then
  tlsdir="$(mktemp -d /tmp/gateway-autobahn-tls.XXXXXX)"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$tlsdir/key.pem" -out "$tlsdir/cert.pem" >/dev/null 2>&1
  OUT="$OUT-wss"
fi

# run-autobahn.sh takes only ws:// URLs; for wss:// the same spec is written here and wstest run
# directly (the fuzzingclient speaks TLS through pyOpenSSL and does not check the certificate).
run_wss() {
  local url="$1" out="$2"
  rm -f "$out"/index.json "$out"/*_case_*.json "$out"/*_case_*.html
  python3 - "$url" "$CASES" "$out" > "$out/spec.json" <<'PY'
import json, sys
url, cases, out = sys.argv[1:4]
sel = json.loads(cases)
sel = {"cases": sel} if isinstance(sel, list) else sel
json.dump({"options": sel.get("options", {"failByDrop": False}), "outdir": out,
           "servers": [{"agent": "gateway-wss", "url": url}], "cases": sel.get("cases", ["*"]),
           "exclude-cases": sel.get("exclude-cases", []), "exclude-agent-cases": {}}, sys.stdout)
PY
  ( cd "$out" && timeout --foreground 3600 "${AUTOBAHN_PREFIX:-/opt/autobahn}/bin/wstest" -m fuzzingclient -s "$out/spec.json" ) \
    > "$out/wstest.log" 2>&1 || { tail -n 15 "$out/wstest.log" >&2; return 3; }
  python3 "$SCRIPTS/summarize.py" "$out" --show failed,unimplemented > "$out/summary.txt"
  local rc=$?
  grep '^autobahn: ' "$out/summary.txt"
  return $rc
}
for engine in $ENGINES; do
  cfg="$(mktemp /tmp/gateway-autobahn.XXXXXX.json)"
  # A random port below the kernel's ephemeral range (32768+), where outgoing connections take
  # theirs; if it is taken anyway (the gateway exits with EADDRINUSE), try another.
  for _ in 1 2 3 4 5; do
    port=$(( 20000 + RANDOM % 12000 ))
    if [[ $TLS == 1 ]]; then
      sed -e "s/127.0.0.1:9001/127.0.0.1:$port/" -e "s/\"contextTakeover\": false/\"contextTakeover\": $TAKEOVER/" \
          -e "s#^  \"listen\"#  \"tls\": { \"cert\": \"$tlsdir/cert.pem\", \"key\": \"$tlsdir/key.pem\" },\n  \"listen\"#" \
          "$HERE/autobahn.json" > "$cfg"
    else
      sed -e "s/127.0.0.1:9001/127.0.0.1:$port/" -e "s/\"contextTakeover\": false/\"contextTakeover\": $TAKEOVER/" \
        "$HERE/autobahn.json" > "$cfg"
    fi
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
  if [[ $TLS == 1 ]]; then
    run=(run_wss "wss://127.0.0.1:$port")
  else
    run=(bash "$SCRIPTS/run-autobahn.sh" "ws://127.0.0.1:$port" "$CASES")
  fi
  if line=$("${run[@]}" "$OUT-$engine"); then
    echo "autobahn ($engine): ${line#autobahn: }"
  else
    echo "autobahn ($engine): ${line#autobahn: } — FAILED (details: $OUT-$engine/summary.txt)"
    status=1
  fi
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$cfg"
done
[[ -n "$tlsdir" ]] && rm -rf "$tlsdir"
exit $status
