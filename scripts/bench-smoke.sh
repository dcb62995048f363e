#!/usr/bin/env bash
# Smoke test of gateway-bench: starts a gateway on a free loopback port with an echo and a fan-out
# module, runs every scenario for about a second under each I/O engine, and fails unless each run
# exits 0 and reports no errors in its JSON line.
#
#   scripts/bench-smoke.sh                      # builds both products (release) first
#   SKIP_BUILD=1 BIN_DIR=.build/release scripts/bench-smoke.sh
#   BENCH_ENGINES=epoll scripts/bench-smoke.sh  # e.g. where seccomp blocks io_uring
#
# Environment: CONFIGURATION (release), SCRATCH (swift build --scratch-path, default .build),
# BIN_DIR (where gateway and gateway-bench are), BENCH_ENGINES (default "epoll io_uring";
# io_uring is skipped with a note when the kernel or seccomp refuses it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CONFIGURATION="${CONFIGURATION:-release}"
SCRATCH="${SCRATCH:-$ROOT/.build}"
BIN_DIR="${BIN_DIR:-$SCRATCH/$CONFIGURATION}"
ENGINES="${BENCH_ENGINES:-epoll io_uring}"

if [[ -z "${SKIP_BUILD:-}" ]]; then
  echo "==> building gateway and gateway-bench ($CONFIGURATION)"
  swift build -c "$CONFIGURATION" --scratch-path "$SCRATCH" --product gateway 2>&1 | tail -n 1
  swift build -c "$CONFIGURATION" --scratch-path "$SCRATCH" --product gateway-bench 2>&1 | tail -n 1
fi
GATEWAY="$BIN_DIR/gateway"
BENCH="$BIN_DIR/gateway-bench"
[[ -x "$GATEWAY" && -x "$BENCH" ]] || { echo "missing $GATEWAY or $BENCH"; exit 1; }

WORK="$(mktemp -d)"
GATEWAY_PID=""
cleanup() {
  if [[ -n "$GATEWAY_PID" ]]; then kill "$GATEWAY_PID" 2>/dev/null || true; wait "$GATEWAY_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"$WORK/gateway.json" <<EOF
{"listen":"127.0.0.1:$PORT","modules":[
  {"path":"/echo","parser":"raw","default":{"local":"echo"}},
  {"path":"/fan","parser":"raw","default":{"local":"echo","deliver":"all"}}]}
EOF
"$GATEWAY" serve --config "$WORK/gateway.json" --io-engine epoll --loops 1 >"$WORK/gateway.log" 2>&1 &
GATEWAY_PID=$!
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
  sleep 0.1
done
kill -0 "$GATEWAY_PID" 2>/dev/null || { echo "gateway did not start:"; cat "$WORK/gateway.log"; exit 1; }

WS="ws://127.0.0.1:$PORT"
failures=0
run() {
  local name="$1"; shift
  local out status=0
  out="$("$BENCH" "$@" --json 2>&1)" || status=$?
  local line
  line="$(printf '%s\n' "$out" | grep '^{"tool":"gateway-bench"' | tail -n 1 || true)"
  if [[ $status -eq 0 && "$line" == *'"errors":0,'* ]]; then
    printf 'ok    %-28s %s\n' "$name" "$(printf '%s\n' "$out" | grep -E 'msg/s|deliveries/s|handshakes/s|^hold:' | head -n 1)"
  else
    failures=$((failures + 1))
    printf 'FAIL  %-28s exit %s\n%s\n' "$name" "$status" "$out"
  fi
}

for engine in $ENGINES; do
  if [[ "$engine" == io_uring ]] && ! "$BENCH" hold -u "$WS/echo" -c 1 -d 0 --io-engine io_uring >/dev/null 2>&1; then
    echo "skip  io_uring: not available here ($("$BENCH" hold -u "$WS/echo" -c 1 -d 0 --io-engine io_uring 2>&1 | head -n 1))"
    continue
  fi
  E=(--io-engine "$engine")
  run "rtt ($engine)" rtt -u "$WS/echo" -c 20 -t 2 -p 2 -w 0.2 -d 1 -m '{"c":{{conn}},"s":{{seq}},"p":"{{pad:64}}"}' "${E[@]}"
  run "fanout ws ($engine)" fanout -u "$WS/fan" -c 200 --rate 20 -d 1 --grace 1 "${E[@]}"
  run "fanout http ($engine)" fanout -u "$WS/fan" -c 200 --rate 20 -d 1 --grace 1 \
    --pub-http "http://127.0.0.1:$PORT/fan" --pub-body '{"cmd":"pub","data":"{{ts}}"}' --pub-header 'X-Bench: smoke' "${E[@]}"
  run "hold ($engine)" hold -u "$WS/echo" -c 500 -r 5000 -d 1 --ping 0.3 "${E[@]}"
  run "handshakes ($engine)" handshakes -u "$WS/echo" -c 10 -d 1 "${E[@]}"
done

# Usage errors exit 2; a refused connection exits 1.
status=0; "$BENCH" rtt -c 1 >/dev/null 2>&1 || status=$?
if [[ $status -eq 2 ]]; then echo "ok    usage error exits 2"; else echo "FAIL  usage error exited $status"; failures=$((failures + 1)); fi
status=0; "$BENCH" rtt -u "ws://127.0.0.1:1/echo" -c 1 -d 0 --io-engine epoll >/dev/null 2>&1 || status=$?
if [[ $status -eq 1 ]]; then echo "ok    refused connection exits 1"; else echo "FAIL  refused connection exited $status"; failures=$((failures + 1)); fi

if [[ $failures -gt 0 ]]; then
  echo "bench smoke: $failures failure(s)"
  exit 1
fi
echo "bench smoke: all passed"
