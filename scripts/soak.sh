#!/usr/bin/env bash
# Soak test: a release gateway under held connections, connection churn, steady backend traffic and
# periodic broadcasts for N minutes; then checks that the gateway's fds and RSS return to baseline,
# that no load tool saw an error and that the gateway exits 0 on SIGTERM. See README.md, "Soak test".
#
#   scripts/soak.sh [--minutes N] [--engine auto|io_uring|epoll] [--connections N]
#
# Defaults: 10 minutes, engine auto, 15000 held connections. --minutes may be fractional (0.5 for a
# quick check of the harness). Exit status: 0 PASS, 1 FAIL, 2 usage, 3 cannot run (no backend, no
# port, another soak running).
#
# Environment:
#   BACKEND_BIN       the C backend (default ../shared/bench/backend; built with make if missing)
#   SKIP_BUILD=1      use the binaries already in $BIN_DIR
#   SCRATCH, BIN_DIR  swift build --scratch-path (default .build) and where the binaries are
#   HOLD_PROCS        processes the held connections are split over (2; each holds <= 19000 fds)
#   HOLD_RATE         connects per second per hold process (1000)
#   PING              hold: ping interval in seconds (15)
#   CHURN_C           handshakes workers (20)
#   RTT_C             rtt connections (20, see README: the 2 shared cores)
#   SOAK_LOOPBACK_ONLY=1  listen on 127.0.0.1 and send every client there (see README: the kernel's
#                     ephemeral-port search then throttles the churn); default: listen on 0.0.0.0
#                     and give each client process its own 127.0.0.x destination
#   SOAK_TRIM=0       skip the malloc_trim(0) diagnostic (gdb) after the load
#   PUBLISH_INTERVAL  seconds between admin publishes (5)
#   SAMPLE_INTERVAL   seconds between samples (5)
#   REPORT_DIR        where the report goes (reports/soak-<timestamp>-<engine>)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MINUTES=10
ENGINE=auto
CONNECTIONS=15000
usage() { sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --minutes) MINUTES="${2:?}"; shift 2 ;;
    --engine) ENGINE="${2:?}"; shift 2 ;;
    --connections) CONNECTIONS="${2:?}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "soak: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$MINUTES" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "soak: --minutes must be a number" >&2; exit 2; }
[[ "$CONNECTIONS" =~ ^[0-9]+$ && "$CONNECTIONS" -ge 2 ]] || { echo "soak: --connections must be an integer >= 2" >&2; exit 2; }
case "$ENGINE" in auto|io_uring|epoll) ;; *) echo "soak: --engine must be auto, io_uring or epoll" >&2; exit 2 ;; esac

HOLD_PROCS="${HOLD_PROCS:-2}"
HOLD_RATE="${HOLD_RATE:-1000}"
PING="${PING:-15}"
CHURN_C="${CHURN_C:-20}"
RTT_C="${RTT_C:-20}"
PUBLISH_INTERVAL="${PUBLISH_INTERVAL:-5}"
SAMPLE_INTERVAL="${SAMPLE_INTERVAL:-5}"
SCRATCH="${SCRATCH:-$ROOT/.build}"
BIN_DIR="${BIN_DIR:-$SCRATCH/release}"
DURATION="$(python3 -c "print(round($MINUTES * 60, 1))")"

# One soak at a time on this machine: the figures of two would be meaningless.
LOCK="${TMPDIR:-/tmp}/gateway-soak.lock"
exec 9>"$LOCK"
if ! flock -n 9; then echo "soak: another soak is running (lock $LOCK held); not starting" >&2; exit 3; fi

# The gateway and each client hold one fd per connection.
ulimit -n "$(ulimit -Hn)"
FD_LIMIT="$(ulimit -n)"
PER_HOLD=$(( (CONNECTIONS + HOLD_PROCS - 1) / HOLD_PROCS ))
if [[ "$FD_LIMIT" != unlimited ]]; then
  if (( PER_HOLD + 100 > FD_LIMIT )); then
    echo "soak: $PER_HOLD connections per hold process exceed the fd limit $FD_LIMIT; raise HOLD_PROCS" >&2; exit 2
  fi
  if (( CONNECTIONS + RTT_C + CHURN_C + 600 > FD_LIMIT )); then
    echo "soak: the gateway would need more than the fd limit $FD_LIMIT for $CONNECTIONS connections" >&2; exit 2
  fi
fi
MAX_CONNECTIONS=$(( CONNECTIONS + RTT_C + CHURN_C + 1000 ))

# --- build --------------------------------------------------------------------------------------
if [[ -z "${SKIP_BUILD:-}" ]]; then
  echo "==> building gateway and gateway-bench (release)"
  swift build -c release --scratch-path "$SCRATCH" --product gateway 2>&1 | tail -n 1
  swift build -c release --scratch-path "$SCRATCH" --product gateway-bench 2>&1 | tail -n 1
fi
GATEWAY="$BIN_DIR/gateway"
BENCH="$BIN_DIR/gateway-bench"
[[ -x "$GATEWAY" && -x "$BENCH" ]] || { echo "soak: missing $GATEWAY or $BENCH" >&2; exit 3; }

BACKEND_BIN="${BACKEND_BIN:-$ROOT/../shared/bench/backend}"
if [[ ! -x "$BACKEND_BIN" && -f "$(dirname "$BACKEND_BIN")/Makefile" ]]; then
  echo "==> building the C backend (make -C $(dirname "$BACKEND_BIN"))"
  make -C "$(dirname "$BACKEND_BIN")" backend >/dev/null || true
fi
if [[ ! -x "$BACKEND_BIN" ]]; then
  echo "soak: SKIPPED: the C backend ($BACKEND_BIN) is missing and could not be built; set BACKEND_BIN" >&2
  exit 3
fi

# --- set-up -------------------------------------------------------------------------------------
STAMP="$(date -u +%Y%m%d-%H%M%S)"
OUT="${REPORT_DIR:-$ROOT/reports/soak-$STAMP-$ENGINE}"
mkdir -p "$OUT"
WORK="$(mktemp -d)"
# Run copies, so a rebuild in the shared .build during the soak cannot swap the binaries.
BINARY="$(sha256sum "$GATEWAY" | cut -c1-12), built $(date -u -r "$GATEWAY" +%Y-%m-%dT%H:%M:%SZ)"
mkdir -p "$WORK/bin"
cp "$GATEWAY" "$BENCH" "$WORK/bin/"
GATEWAY="$WORK/bin/gateway"
BENCH="$WORK/bin/gateway-bench"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
DIRTY="$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | wc -l)"
git -C "$ROOT" diff HEAD >"$OUT/worktree.diff" 2>/dev/null || true  # what the build had beyond $COMMIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("0.0.0.0", 0)); print(s.getsockname()[1])'; }
GW_PORT="$(free_port)"; ADMIN_PORT="$(free_port)"; BACKEND_PORT="$(free_port)"
while [[ "$ADMIN_PORT" == "$GW_PORT" ]]; do ADMIN_PORT="$(free_port)"; done
while [[ "$BACKEND_PORT" == "$GW_PORT" || "$BACKEND_PORT" == "$ADMIN_PORT" ]]; do BACKEND_PORT="$(free_port)"; done
export SOAK_ADMIN_TOKEN="soak-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
ADMIN="http://127.0.0.1:$ADMIN_PORT"
# Client destinations. connect() picks its ephemeral port per destination address, even ports
# first: with ~15,000 connections to one address the even half of the range (32768-60999) is full
# and every further connect() to that address scans it (measured: churn 7,700/s alone, ~700-1,150/s
# next to 15,000 held connections, ~5,800/s to another 127.0.0.x). So by default the gateway listens
# on 0.0.0.0 and each client process gets its own loopback address.
if [[ "${SOAK_LOOPBACK_ONLY:-}" == 1 ]]; then
  LISTEN="127.0.0.1:$GW_PORT"
  dest() { echo 127.0.0.1; }
else
  LISTEN="0.0.0.0:$GW_PORT"
  dest() { echo "127.0.0.$1"; }
fi
WS_HOLD() { echo "ws://$(dest "$1"):$GW_PORT/hold"; }
WS_CHURN="ws://$(dest $((HOLD_PROCS + 1))):$GW_PORT/churn"
WS_RTT="ws://$(dest $((HOLD_PROCS + 2))):$GW_PORT/rtt"
# CPU time of each load process, when GNU time is there.
TIMER=()
[[ -x /usr/bin/time ]] && TIMER=(/usr/bin/time -f '%e %U %S' -o)
# timed NAME cmd... &: the background job execs cmd (under GNU time, whose only child it is), output
# in $OUT/NAME.out, CPU in $OUT/NAME.time; $! is then the PID of time (or of cmd).
timed() {
  local name="$1"; shift
  exec >"$OUT/$name.out" 2>&1
  if [[ ${#TIMER[@]} -gt 0 ]]; then exec "${TIMER[@]}" "$OUT/$name.time" "$@"; else exec "$@"; fi
}

GATEWAY_PID="" BACKEND_PID="" SAMPLER_PID="" PUBLISHER_PID=""
LOAD_PIDS=()
cleanup() {
  local pid
  for pid in "${LOAD_PIDS[@]}" "$PUBLISHER_PID" "$SAMPLER_PID"; do
    if [[ -n "$pid" ]]; then
      pkill -TERM -P "$pid" 2>/dev/null || true  # the gateway-bench under /usr/bin/time
      kill "$pid" 2>/dev/null || true
    fi
  done
  if [[ -n "$GATEWAY_PID" ]] && kill -0 "$GATEWAY_PID" 2>/dev/null; then
    kill -TERM "$GATEWAY_PID" 2>/dev/null || true; wait "$GATEWAY_PID" 2>/dev/null || true
  fi
  if [[ -n "$BACKEND_PID" ]] && kill -0 "$BACKEND_PID" 2>/dev/null; then
    kill -TERM "$BACKEND_PID" 2>/dev/null || true; wait "$BACKEND_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "soak: interrupted" >&2; exit 130' INT TERM

cat >"$WORK/soak.json" <<EOF
{
  "listen": "$LISTEN",
  "io": {"engine": "$ENGINE"},
  "admin": {"listen": "127.0.0.1:$ADMIN_PORT", "token": "\${SOAK_ADMIN_TOKEN}"},
  "limits": {
    "maxConnections": $MAX_CONNECTIONS,
    "messagesPerSecond": 0,
    "idleTimeoutSeconds": 120,
    "pingIntervalSeconds": 30,
    "handshakeTimeoutSeconds": 30,
    "backendTimeoutMs": 10000
  },
  "modules": [
    {"path": "/hold", "parser": "raw", "default": {"local": "echo"}},
    {"path": "/churn", "parser": "raw", "default": {"local": "echo"}},
    {"path": "/rtt", "parser": "raw", "default": "http://127.0.0.1:$BACKEND_PORT/echo"}
  ]
}
EOF
cp "$WORK/soak.json" "$OUT/gateway.json"
"$GATEWAY" check-config --config "$WORK/soak.json" >/dev/null

echo "==> report: $OUT"
# 9>&-: the soak lock's fd stays out of the gateway's fd table.
"$BACKEND_BIN" -p "$BACKEND_PORT" -a 127.0.0.1 -q >"$OUT/backend.log" 2>&1 9>&- &
BACKEND_PID=$!
"$GATEWAY" serve --config "$WORK/soak.json" --io-engine "$ENGINE" >"$OUT/gateway.log" 2>&1 9>&- &
GATEWAY_PID=$!

admin() { curl -sS --max-time 10 -H "Authorization: Bearer $SOAK_ADMIN_TOKEN" "$@"; }
for _ in $(seq 100); do
  if curl -fsS --max-time 1 "$ADMIN/readyz" >/dev/null 2>&1 && curl -fsS --max-time 1 "http://127.0.0.1:$BACKEND_PORT/ok" >/dev/null 2>&1; then
    break
  fi
  sleep 0.1
done
kill -0 "$GATEWAY_PID" 2>/dev/null || { echo "soak: the gateway did not start:"; cat "$OUT/gateway.log"; exit 1; }
curl -fsS --max-time 2 "$ADMIN/readyz" >/dev/null || { echo "soak: the gateway is not ready"; cat "$OUT/gateway.log"; exit 1; }
STATS="$(admin "$ADMIN/v1/stats")"
ENGINE_USED="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["engine"])' <<<"$STATS")"
LOOPS="$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["loops"]))' <<<"$STATS")"
VERSION="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])' <<<"$STATS")"
head -n 1 "$OUT/gateway.log"
# Smoke test of the backend route before loading it.
ECHO="$(curl -sS --max-time 5 -d '{"cmd":"x","id":1,"data":{"soak":1}}' "http://127.0.0.1:$GW_PORT/rtt")"
[[ "$ECHO" == *'"soak":1'* ]] || { echo "soak: the /rtt route does not reach the backend: $ECHO"; exit 1; }

TOOLS=()
for i in $(seq "$HOLD_PROCS"); do TOOLS+=("hold-$i"); done
TOOLS+=(churn rtt)

# --- warm-up and baseline -----------------------------------------------------------------------
# The cold figures are those of a gateway that has not received a byte yet. Then 2 s of 16000-byte
# echo messages on 16 connections (local echo, no backend) make the fixed per-loop receive buffers
# resident: on io_uring each loop has 256 x 16 KiB provided buffers (8 MiB with 2 loops), and a page
# of them becomes resident only when a recv first writes to it. So the baseline is an idle gateway
# that has served traffic, and those buffers do not count as growth (they add ~8 MiB on io_uring,
# ~0 on epoll).
cold() { awk -v k="$1" '$1 == k ":" {print $2}' "/proc/$GATEWAY_PID/status"; }
COLD_RSS="$(cold VmRSS)"; COLD_ANON="$(cold RssAnon)"; COLD_FDS="$(ls "/proc/$GATEWAY_PID/fd" | wc -l)"
"$BENCH" rtt -u "ws://127.0.0.1:$GW_PORT/hold" -c 16 -t 1 -w 0 -d 2 -m '{{pad:16000}}' --json >"$OUT/warmup.out" 2>&1 \
  || { echo "soak: the warm-up failed:"; cat "$OUT/warmup.out"; exit 1; }
PHASE_FILE="$OUT/phase"
echo baseline >"$PHASE_FILE"
python3 "$ROOT/scripts/soak/sampler.py" --pid "$GATEWAY_PID" --csv "$OUT/samples.csv" --admin "$ADMIN" \
  --token-env SOAK_ADMIN_TOKEN --backend-port "$BACKEND_PORT" --phase-file "$PHASE_FILE" \
  --interval "$SAMPLE_INTERVAL" &
SAMPLER_PID=$!
echo "==> baseline: 10 s idle"
sleep 10

# --- load ---------------------------------------------------------------------------------------
echo load >"$PHASE_FILE"
echo "==> load for $MINUTES min: $CONNECTIONS held ($HOLD_PROCS processes), churn -c $CHURN_C, rtt -c $RTT_C, publish every $PUBLISH_INTERVAL s"
LOAD_START=$SECONDS
# rtt first, so its connections can be left out of the broadcasts (see README).
timed rtt "$BENCH" rtt -u "$WS_RTT" -c "$RTT_C" -t 1 -w 0 -d "$DURATION" --timeout 30 \
  -m '{"c":{{conn}},"s":{{seq}},"p":"{{pad:64}}"}' --json &
LOAD_PIDS+=("$!")
RTT_IDS="[]"
for _ in $(seq 300); do
  RTT_IDS="$(admin "$ADMIN/v1/connections" | python3 -c '
import json, sys
ids = [c["id"] for c in json.load(sys.stdin)["connections"] if c["path"] == "/rtt"]
print(json.dumps(ids))' || echo '[]')"
  [[ "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$RTT_IDS")" -ge "$RTT_C" ]] && break
  sleep 0.1
done
n_ids="$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$RTT_IDS")"
if (( n_ids < RTT_C )); then
  echo "soak: only $n_ids of $RTT_C rtt connections seen; the others will get the broadcasts (see rtt.out)" >&2
fi
echo "{\"except\":$RTT_IDS}" >"$WORK/except.json"

HOLD_CONNECT_S=$(( (PER_HOLD + HOLD_RATE - 1) / HOLD_RATE ))
HOLD_D="$(python3 -c "print(max(1.0, $DURATION - $HOLD_CONNECT_S))")"
remaining=$CONNECTIONS
for i in $(seq "$HOLD_PROCS"); do
  n=$(( remaining / (HOLD_PROCS - i + 1) )); remaining=$(( remaining - n ))
  timed "hold-$i" "$BENCH" hold -u "$(WS_HOLD "$i")" -c "$n" -t 1 -r "$HOLD_RATE" -d "$HOLD_D" --ping "$PING" \
    --timeout 30 --json &
  LOAD_PIDS+=("$!")
done
timed churn "$BENCH" handshakes -u "$WS_CHURN" -c "$CHURN_C" -t 1 -d "$DURATION" --timeout 30 --json &
LOAD_PIDS+=("$!")

# Publisher: POST /v1/publish to all (except the rtt connections) every PUBLISH_INTERVAL s.
(
  trap 'exit 0' TERM
  echo "t_s,phase,http,delivered" >"$OUT/publishes.csv"
  ready_at=""
  n=0
  while true; do
    sleep "$PUBLISH_INTERVAL" & wait $!
    n=$((n + 1))
    phase=ramp
    if [[ -z "$ready_at" ]]; then
      all=1
      for i in $(seq "$HOLD_PROCS"); do grep -q '^READY ' "$OUT/hold-$i.out" 2>/dev/null || all=0; done
      [[ $all == 1 ]] && ready_at=$SECONDS
    fi
    # "held": every hold process is connected and not yet near its end.
    if [[ -n "$ready_at" ]] && python3 -c "import sys; sys.exit(0 if $SECONDS - $ready_at + $PUBLISH_INTERVAL + 2 < $HOLD_D else 1)"; then
      phase=held
    elif [[ -n "$ready_at" ]]; then
      phase=tail
    fi
    body="$(python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["except"]
print(json.dumps({"to": {"all": True}, "except": e, "cmd": "soak.broadcast", "data": {"n": int(sys.argv[2])}}))' "$WORK/except.json" "$n")"
    resp="$(admin -w '\n%{http_code}' -H 'Content-Type: application/json' -d "$body" "$ADMIN/v1/publish" 2>/dev/null || true)"
    code="$(tail -n 1 <<<"$resp")"
    delivered="$(head -n 1 <<<"$resp" | sed -n 's/.*"delivered":\([0-9]*\).*/\1/p')"
    echo "$((SECONDS - LOAD_START)),$phase,$code,$delivered" >>"$OUT/publishes.csv"
  done
) &
PUBLISHER_PID=$!

# Progress line every minute while the load runs.
LOAD_RC=()
(
  while sleep 60; do
    tail -n 1 "$OUT/samples.csv" | awk -F, '{printf "    %s  t=%ss rss=%.1fMiB fds=%s websockets=%s gateway-cpu=%s%% load=%s\n", $1, $2, $4/1024, $7, $14, $12, $22}'
  done
) &
PROGRESS_PID=$!
for pid in "${LOAD_PIDS[@]}"; do
  rc=0; wait "$pid" || rc=$?
  LOAD_RC+=("$rc")
done
for pid in "$PROGRESS_PID" "$PUBLISHER_PID"; do  # the subshells and their sleep
  kill -TERM "$pid" 2>/dev/null || true; pkill -TERM -P "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
done
PUBLISHER_PID=""
# LOAD_PIDS order: rtt, hold-1..N, churn.
echo "${LOAD_RC[0]}" >"$OUT/rtt.rc"
for i in $(seq "$HOLD_PROCS"); do echo "${LOAD_RC[$i]}" >"$OUT/hold-$i.rc"; done
echo "${LOAD_RC[$((HOLD_PROCS + 1))]}" >"$OUT/churn.rc"
LOAD_PIDS=()
LOAD_S=$((SECONDS - LOAD_START))
echo "==> load ended after $LOAD_S s; waiting for 0 connections (30 s at most)"

# --- drain and after ----------------------------------------------------------------------------
echo drain >"$PHASE_FILE"
DRAIN_START=$SECONDS
DRAINED=false
OPEN="?"
while (( SECONDS - DRAIN_START <= 30 )); do
  OPEN="$(admin "$ADMIN/v1/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["connections"]["open"])' || echo '?')"
  if [[ "$OPEN" == 0 ]]; then DRAINED=true; break; fi
  sleep 0.1
done
if $DRAINED; then
  echo "connections 0 after $((SECONDS - DRAIN_START)) s" >"$OUT/drain.txt"
else
  echo "connections still $OPEN after 30 s" >"$OUT/drain.txt"
fi
cat "$OUT/drain.txt"
echo after >"$PHASE_FILE"
echo "==> after: 10 s idle"
sleep "$(python3 -c "print($SAMPLE_INTERVAL * 2 + 1)")"
kill -TERM "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=""
admin "$ADMIN/metrics" >"$OUT/metrics-end.txt" || true
admin "$ADMIN/v1/stats" >"$OUT/stats-end.json" || true

# Diagnostic, after the measurements: how much of the RSS is memory glibc keeps for reuse? gdb makes
# the gateway call malloc_trim(0), which returns free heap pages to the kernel; what stays is in use
# (or mapped files). Not part of the PASS/FAIL checks.
rss_line() { awk '/^(VmRSS|RssAnon):/ {printf "%s %s ", $1, $2}' "/proc/$GATEWAY_PID/status"; }
if [[ "${SOAK_TRIM:-1}" == 1 ]] && command -v gdb >/dev/null 2>&1; then
  before="$(rss_line)"
  if timeout 60 gdb -p "$GATEWAY_PID" -batch -ex 'call (int)malloc_trim(0)' >"$OUT/trim-gdb.log" 2>&1; then
    sleep 1
    echo "before $before" >"$OUT/trim.txt"
    echo "after $(rss_line)" >>"$OUT/trim.txt"
  fi
  # The gateway must still answer after being stopped and resumed by the debugger.
  curl -fsS --max-time 5 "$ADMIN/healthz" >/dev/null || echo "soak: gateway not healthy after the malloc_trim diagnostic" >&2
fi

kill -TERM "$GATEWAY_PID"
GW_RC=0; wait "$GATEWAY_PID" || GW_RC=$?
GATEWAY_PID=""
echo "$GW_RC" >"$OUT/gateway.rc"
kill -TERM "$BACKEND_PID" 2>/dev/null || true; wait "$BACKEND_PID" 2>/dev/null || true
BACKEND_PID=""

TOOLS_JSON="$(printf '"%s",' "${TOOLS[@]}")"
cat >"$OUT/meta.json" <<EOF
{"minutes": $MINUTES, "duration_s": $DURATION, "load_s": $LOAD_S, "engine": "$ENGINE", "engine_used": "$ENGINE_USED",
 "loops": $LOOPS, "gateway_version": "$VERSION", "commit": "$COMMIT", "modified_files": $DIRTY, "binary": "$BINARY", "connections": $CONNECTIONS, "hold_procs": $HOLD_PROCS,
 "hold_rate": $HOLD_RATE, "ping": $PING, "churn_c": $CHURN_C, "rtt_c": $RTT_C, "publish_interval": $PUBLISH_INTERVAL,
 "sample_interval": $SAMPLE_INTERVAL, "cold_rss_kib": $COLD_RSS, "cold_anon_kib": $COLD_ANON, "cold_fds": $COLD_FDS, "max_connections": $MAX_CONNECTIONS, "drained": $DRAINED, "listen": "$LISTEN",
 "tools": [${TOOLS_JSON%,}]}
EOF
echo
python3 "$ROOT/scripts/soak/summary.py" "$OUT"
