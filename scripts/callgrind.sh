#!/usr/bin/env bash
# Instructions per message in the gateway process, measured with callgrind, for before/after
# comparisons of a refactor.
#
#   S1  round trip through the C backend: raw module whose default route is POST /echo on
#       ../shared/bench/backend (or $BENCH_TOOLS_DIR/backend)
#   S1host  S1 with the backend behind a host name (http://cg-backend.test:PORT/echo), resolved by
#       the native client's c-ares resolver from a hosts file made for the run (io.dns.hostsFile),
#       not the system's; the per-call path must cost what S1's does
#   S2  local echo: raw module with {"local":"echo"}
#   S5      WebSocket handshakes on the echo module (no auth): per handshake, a fresh TCP
#           connection, the upgrade, the 101, a close frame and the server's close (counted per
#           handshake: accept, parse, upgrade, teardown)
#   S5jwt   the same on a module with auth.jwt (HS256, issuer and audience required, the token in
#           ?token=, made as scripts/bench's S5 makes it: sub, iss, aud, iat, nbf, exp)
#   S5hook  the same on a module with a handshake hook to the C backend's /size/0 (200, empty body)
#   S8  local echo over TLS (wss://): S2 on a gateway whose listener has `tls` (a self-signed EC
#       P-256 certificate made with openssl for the run); the TLS handshakes are in the warm-up
#   S1up  S1 through an upstream group (round-robin, no retry, default passive ejection) of two
#       endpoints that are the same C backend (127.0.0.1 and localhost): what choosing an endpoint
#       and recording the try adds to a round trip
#   For S5*, --messages counts handshakes (sequential, one connection at a time; --connections
#   and --size do not apply) and the output says instructions/handshake.
#
# Per run: start the gateway under `valgrind --tool=callgrind` (--loops 1, --io-engine ENGINE),
# open the client connections, send a warm-up, zero the counters (callgrind_control -z), send
# EXACTLY --messages messages (--depth in flight per connection, 1 by default: send, await the
# reply, send the next),
# dump (callgrind_control -d), and divide the dump's total Ir by the messages. Only the gateway
# runs under valgrind; the client (an embedded Python stdlib client) and the backend do not, so
# their instructions are not counted. Every run starts a fresh gateway.
#
# What the count includes: every instruction the gateway process executes in user space between
# the zero and the dump, in all its threads (with --loops 1: the loop thread, plus whatever else
# runs, e.g. idle timers, about 2,000 Ir/s, and the zero/dump requests themselves, a few thousand
# Ir once) -- parsing, routing, the backend HTTP client (S1), libc, the Swift runtime. Not
# included: kernel work (syscalls, TCP), the client, the backend.
#
# io_uring under valgrind 3.19: io_uring_enter is not treated as a blocking syscall, so a thread
# waiting in it keeps valgrind's scheduler lock and no other thread of the process runs until a
# completion arrives. Left alone, the gateway hangs at start-up: the loop thread waits in
# io_uring_enter and the main thread never gets to log "listening on". The script therefore pokes
# the port with TCP connects (closed at once) while it waits for that line; each accept wakes the
# loop and lets the main thread run. Once started, the loop thread is busy with the measured
# traffic and callgrind_control (vgdb) still works. SIGTERM is not handled while the loop waits,
# so io_uring gateways get SIGKILL 2 s after SIGTERM (the measured dump is already
# written by then). If the start-up still hangs (30 s, a thread in io_uring_enter), io_uring is
# reported as "not measurable". VALGRIND=/path/to/valgrind selects another valgrind.
#
# Exit status: 0 all runs measured; 1 a run failed; 3 only io_uring was not measurable; 64 usage.
#
# Usage: scripts/callgrind.sh [--bin PATH] [--engine epoll|io_uring|all] [--scenario S1|S1host|S1up|S2|S5|S5jwt|S5hook|S8|all]
#                             [--messages N] [--warmup N] [--connections C] [--runs R]
#                             [--size BYTES] [--keep DIR]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
BIN="$ROOT/.build/release/gateway"
ENGINES="epoll"
SCENARIOS="S2 S1"
MESSAGES=20000
WARMUP=2000
CONNS=1
RUNS=1
DEPTH=1
SIZE=64
KEEP=""
TOOLS="${BENCH_TOOLS_DIR:-$(realpath -m "$ROOT/../shared/bench")}"
PY=/usr/bin/python3
[[ -x $PY ]] || PY="$(command -v python3)"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
  cat <<EOF
Options:
  --bin PATH        gateway binary (default $ROOT/.build/release/gateway)
  --engine E        epoll | io_uring | all (= io_uring epoll); comma list allowed (default epoll)
  --scenario S      S1 | S1host | S1up | S2 | S5 | S5jwt | S5hook | S8 | all (= S2 S1; comma list allowed; default all)
  --messages N      measured messages per run (default $MESSAGES)
  --warmup N        warm-up messages per run, before the counters are zeroed (default $WARMUP)
  --connections C   client connections, 1-10 (default $CONNS); messages are split evenly. With 1
                    the count is deterministic (runs agree to ~0.01 %); with more, how many
                    messages one loop wake-up handles depends on timing, so the count is lower
                    (wake-ups amortized) and varies by up to ~1.5 % between runs
  --runs R          runs per scenario and engine (default $RUNS)
  --depth D         messages in flight per connection, 1-64 (default $DEPTH): with more than 1 a loop
                    wake-up sees several frames of one connection (pipelined load, as wsload -d)
  --size BYTES      message size, 'x' * BYTES text frames (default $SIZE, as scripts/bench)
  --keep DIR        keep config, logs and callgrind.out files in DIR (default: temp dir, removed)
Environment: BENCH_TOOLS_DIR (default ../shared/bench) for backend; VALGRIND (default valgrind);
  VALGRIND_OPTS_EXTRA (extra valgrind options, word-split).
Output: one line per run, e.g.  S2 epoll: 4,213 instructions/message (N=20000); S5*: instructions/handshake
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) BIN="$2"; shift 2 ;;
    --engine|--engines) ENGINES="${2//,/ }"; shift 2 ;;
    --scenario|--scenarios) SCENARIOS="${2//,/ }"; shift 2 ;;
    --messages) MESSAGES="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --connections|-c) CONNS="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --depth|-d) DEPTH="$2"; shift 2 ;;
    --size) SIZE="$2"; shift 2 ;;
    --keep) KEEP="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 64 ;;
  esac
done
[[ $ENGINES == all ]] && ENGINES="io_uring epoll"
[[ ${SCENARIOS^^} == ALL ]] && SCENARIOS="S2 S1"
SCENARIOS="$(for s in $SCENARIOS; do case "${s^^}" in S5JWT) echo S5jwt ;; S5HOOK) echo S5hook ;; S1HOST) echo S1host ;; S1UP) echo S1up ;; *) echo "${s^^}" ;; esac; done | xargs)"
for e in $ENGINES; do [[ $e == epoll || $e == io_uring ]] || { echo "bad engine: $e" >&2; exit 64; }; done
for s in $SCENARIOS; do
  case "$s" in S1|S1host|S1up|S2|S5|S5jwt|S5hook|S8) ;; *) echo "bad scenario: $s" >&2; exit 64 ;; esac
done
for v in MESSAGES WARMUP CONNS RUNS SIZE DEPTH; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "--${v,,} must be a number" >&2; exit 64; }
done
(( CONNS >= 1 && CONNS <= 10 )) || { echo "--connections must be 1-10" >&2; exit 64; }
(( DEPTH >= 1 && DEPTH <= 64 )) || { echo "--depth must be 1-64" >&2; exit 64; }
(( MESSAGES >= CONNS )) || { echo "--messages must be >= --connections" >&2; exit 64; }
BIN="$(realpath "$BIN")"
[[ -x $BIN ]] || { echo "not executable: $BIN" >&2; exit 1; }
VALGRIND="${VALGRIND:-valgrind}"
command -v "$VALGRIND" >/dev/null || { echo "valgrind not found ($VALGRIND)" >&2; exit 1; }
command -v callgrind_control >/dev/null || { echo "callgrind_control not found" >&2; exit 1; }
NEED_BACKEND=""
[[ " $SCENARIOS " == *" S1 "* || " $SCENARIOS " == *" S1host "* || " $SCENARIOS " == *" S1up "* || " $SCENARIOS " == *" S5hook "* ]] && NEED_BACKEND=1
if [[ -n $NEED_BACKEND && ! -x $TOOLS/backend ]]; then
  make -C "$TOOLS" >/dev/null || { echo "could not build $TOOLS/backend" >&2; exit 1; }
fi

if [[ -n $KEEP ]]; then mkdir -p "$KEEP"; WORK="$(realpath "$KEEP")"; else WORK="$(mktemp -d /tmp/gw-callgrind.XXXXXX)"; fi
VGDB_PREFIX="$WORK/vgdb"   # private vgdb FIFOs: never talk to someone else's valgrind
# valgrind 3.19 cannot read the DWARF 5 debug info of Swift 6 binaries ("unhandled dwarf2 abbrev
# form code 0x25 ... Possibly corrupted debuginfo file. I can't recover."), so run a copy without
# debug sections (the symbol table stays: callgrind_annotate still names functions). The code is
# byte-identical; the copy also keeps a rebuild of --bin during the run from changing what is measured.
BIN_SHA="$(sha256sum "$BIN" | cut -c1-12)"
cp "$BIN" "$WORK/gateway"
objcopy --strip-debug "$WORK/gateway"
GW="$WORK/gateway"

# ---- process bookkeeping: every child runs in its own process group (setsid) and is stopped on exit
PIDS=()
stop_pid() {  # stop_pid PID [GRACE]: TERM its group, KILL after GRACE seconds (10)
  local pid=$1 grace=${2:-10} i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$? p
  for p in "${PIDS[@]}"; do stop_pid "$p" 3; done
  PIDS=()
  if [[ -z $KEEP ]]; then rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
forget() { local p keep=(); for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done; PIDS=("${keep[@]}"); }

# A port below the kernel's ephemeral range (32768+, where bind(0) and outgoing connections take
# theirs), checked free by binding it; the caller retries the start if the server loses the race.
pick_port() {
  "$PY" - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randint(20000, 32767)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
else:
    raise SystemExit("no free port below 32768")
EOF
}

# ---- backend (S1, S5hook)
BACKEND_PORT=1
BACKEND_PID=""
start_backend() {
  local try port
  for try in 1 2 3 4 5; do
    port=$(pick_port)
    setsid "$TOOLS/backend" -p "$port" -a 127.0.0.1 -q >"$WORK/backend.log" 2>&1 &
    BACKEND_PID=$!; PIDS+=("$BACKEND_PID")
    for _ in $(seq 100); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then BACKEND_PORT=$port; return 0; fi
      kill -0 "$BACKEND_PID" 2>/dev/null || break
      sleep 0.05
    done
    stop_pid "$BACKEND_PID"; forget "$BACKEND_PID"
  done
  echo "backend did not start; see $WORK/backend.log" >&2; return 1
}

# ---- gateway config: the bench modules and limits (scripts/bench/bench.py write_config), no admin
cat >"$WORK/gateway.json" <<'EOF'
{
  "listen": "127.0.0.1:${CG_GATEWAY_PORT}",
  "io": {"engine": "auto", "loops": 1},
  "limits": {
    "messagesPerSecond": 0,
    "maxConnections": 100000,
    "sendQueueBytes": 16777216,
    "maxInflightPerConnection": 64,
    "idleTimeoutSeconds": 600,
    "pingIntervalSeconds": 300,
    "handshakeTimeoutSeconds": 30,
    "drainTimeoutSeconds": 2,
    "backendPipelineDepth": 1
  },
  "modules": [
    {"path": "/echo", "parser": "raw", "default": {"local": "echo"}},
    {"path": "/backend", "parser": "raw", "default": {"url": "http://127.0.0.1:${CG_BACKEND_PORT}/echo"}},
    {"path": "/s5jwt", "parser": "raw", "default": {"local": "echo"},
     "auth": {"jwt": {"algorithms": ["HS256"], "secret": "bench-jwt-secret-0123456789abcdef-0123456789",
                      "issuer": "https://bench.invalid", "audience": "bench"},
              "token": ["query:token"]}},
    {"path": "/s5hook", "parser": "raw", "default": {"local": "echo"},
     "handshake": "http://127.0.0.1:${CG_BACKEND_PORT}/size/0"}
  ]
}
EOF
if [[ " $SCENARIOS " == *" S1host "* ]]; then
  # S1host: the same backend by name, from a hosts file made for the run (never the system's). Only
  # then, so that S1 alone runs with a config an older binary (without io.dns) accepts.
  echo "127.0.0.1 cg-backend.test" >"$WORK/hosts"
  "$PY" - "$WORK/gateway.json" "$WORK/hosts" <<'EOF'
import json, sys
path, hosts = sys.argv[1], sys.argv[2]
cfg = json.load(open(path))
cfg["io"]["dns"] = {"hostsFile": hosts}
cfg["modules"].append({"path": "/backendhost", "parser": "raw",
                       "default": {"url": "http://cg-backend.test:${CG_BACKEND_PORT}/echo"}})
json.dump(cfg, open(path, "w"), indent=2)
EOF
fi
CG_GATEWAY_PORT=1 CG_BACKEND_PORT=1 "$GW" check-config --config "$WORK/gateway.json" >"$WORK/check-config.log" 2>&1 \
  || { echo "gateway check-config rejected the config:" >&2; cat "$WORK/check-config.log" >&2; exit 1; }
if [[ " $SCENARIOS " == *" S8 "* ]]; then
  # S8: the same gateway with a TLS listener (scripts/bench's S8 certificate: self-signed EC P-256).
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
    -keyout "$WORK/tls.key" -out "$WORK/tls.crt" >/dev/null 2>&1 || { echo "openssl req failed" >&2; exit 1; }
  "$PY" -c "import json, sys; c = json.load(open(sys.argv[1])); c['tls'] = {'cert': sys.argv[2], 'key': sys.argv[3]}; \
json.dump(c, open(sys.argv[4], 'w'), indent=1)" "$WORK/gateway.json" "$WORK/tls.crt" "$WORK/tls.key" "$WORK/gateway-tls.json"
  CG_GATEWAY_PORT=1 CG_BACKEND_PORT=1 "$GW" check-config --config "$WORK/gateway-tls.json" >"$WORK/check-config.log" 2>&1 \
    || { echo "gateway check-config rejected the TLS config:" >&2; cat "$WORK/check-config.log" >&2; exit 1; }
fi

if [[ " $SCENARIOS " == *" S1up "* ]]; then
  # S1up: the same gateway with an upstream group of two endpoints on the one backend, in a config
  # of its own (a gateway from before upstreams still measures the other scenarios).
  "$PY" -c "import json, sys; c = json.load(open(sys.argv[1])); \
c['upstreams'] = {'two': {'endpoints': ['http://127.0.0.1:\${CG_BACKEND_PORT}', 'http://localhost:\${CG_BACKEND_PORT}']}}; \
c['modules'].append({'path': '/upstream', 'parser': 'raw', 'default': {'upstream': 'two', 'path': '/echo'}}); \
json.dump(c, open(sys.argv[2], 'w'), indent=1)" "$WORK/gateway.json" "$WORK/gateway-up.json"
  CG_GATEWAY_PORT=1 CG_BACKEND_PORT=1 "$GW" check-config --config "$WORK/gateway-up.json" >"$WORK/check-config.log" 2>&1 \
    || { echo "gateway check-config rejected the upstream config:" >&2; cat "$WORK/check-config.log" >&2; exit 1; }
fi

# ---- the client: exactly N messages, depth 1 per connection; drives callgrind_control itself
cat >"$WORK/client.py" <<'EOF'
import base64, hashlib, hmac, json, os, selectors, socket, ssl, struct, subprocess, sys, time

port, path, conns, warmup, n, size, vgpid, prefix, outdir, mode, tls, depth = sys.argv[1:13]
port, conns, warmup, n, size, tls, depth = int(port), int(conns), int(warmup), int(n), int(size), tls == "1", int(depth)
TLS_CTX = None
if tls:
    TLS_CTX = ssl.create_default_context()
    TLS_CTX.check_hostname = False
    TLS_CTX.verify_mode = ssl.CERT_NONE
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PAYLOAD = b"x" * size
TIMEOUT = 600.0

def die(msg):
    print("client: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)

def frame(opcode, payload):
    mask = os.urandom(4)
    ln = len(payload)
    if ln < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | ln)
    elif ln < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, ln)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, ln)
    m = (mask * (ln // 4 + 1))[:ln]
    body = (int.from_bytes(payload, "big") ^ int.from_bytes(m, "big")).to_bytes(ln, "big") if ln else b""
    return head + mask + body

class Conn:
    def __init__(self, i, target=None):
        self.i = i
        target = target or path
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if TLS_CTX:
            s = TLS_CTX.wrap_socket(s, server_hostname="127.0.0.1")
        key = base64.b64encode(os.urandom(16))
        s.sendall(b"GET " + target.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = s.recv(4096)
            if not d:
                die("EOF during handshake")
            buf += d
        head, _, rest = buf.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            die("handshake refused: " + head.split(b"\r\n")[0].decode(errors="replace"))
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        if accept not in head:
            die("bad Sec-WebSocket-Accept")
        s.settimeout(None)            # blocking: recv only after select() says readable
        self.s, self.buf, self.left, self.got = s, rest, 0, 0

    def frames(self):
        """Complete frames in the buffer: (opcode, payload)."""
        out = []
        b = self.buf
        while len(b) >= 2:
            op, ln = b[0] & 0x0F, b[1] & 0x7F
            p = 2
            if ln == 126:
                if len(b) < 4: break
                ln, p = struct.unpack("!H", b[2:4])[0], 4
            elif ln == 127:
                if len(b) < 10: break
                ln, p = struct.unpack("!Q", b[2:10])[0], 10
            if len(b) < p + ln: break
            out.append((op, b[p:p + ln], b[0] & 0x80))
            b = b[p + ln:]
        self.buf = b
        return out

def phase(cs, total):
    """Send exactly `total` messages over the connections (`depth` in flight each) and await every reply."""
    per, extra = divmod(total, len(cs))
    sel = selectors.DefaultSelector()
    active = 0
    for c in cs:
        c.left = per + (1 if c.i < extra else 0)
        c.unsent = c.left
        if c.left:
            first = min(depth, c.unsent)
            c.s.sendall(frame(0x1, PAYLOAD) * first)
            c.unsent -= first
            sel.register(c.s, selectors.EVENT_READ, c)
            active += 1
    replies = 0
    deadline = time.monotonic() + TIMEOUT
    while active:
        ev = sel.select(timeout=5)
        if not ev and time.monotonic() > deadline:
            die(f"timeout: {replies}/{total} replies")
        for key, _ in ev:
            c = key.data
            try:
                d = c.s.recv(65536)
                while TLS_CTX and c.s.pending():     # records already decrypted by the ssl module
                    d += c.s.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError):
                continue
            if not d:
                die(f"connection {c.i} closed by the gateway")
            c.buf += d
            for op, payload, fin in c.frames():
                if op == 0x9:
                    c.s.sendall(frame(0xA, payload)); continue
                if op == 0x8:
                    die(f"connection {c.i}: close frame {payload[:2].hex()} {payload[2:]!r}")
                if op not in (0x1, 0x2) or not fin:
                    die(f"connection {c.i}: unexpected frame opcode {op} fin {fin}")
                if payload != PAYLOAD:
                    die(f"connection {c.i}: reply is not the echo: {payload[:80]!r}")
                replies += 1
                c.left -= 1
                if c.unsent:
                    c.s.sendall(frame(0x1, PAYLOAD))
                    c.unsent -= 1
                if not c.left:
                    sel.unregister(c.s)
                    active -= 1
    sel.close()
    return replies

def control(flag):
    r = subprocess.run(["callgrind_control", "--vgdb-prefix=" + prefix, flag, vgpid],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0 or "OK" not in r.stdout:
        die(f"callgrind_control {flag} failed: {r.stdout.strip()} {r.stderr.strip()}")

def s5_token():
    """scripts/bench's S5 token (bench.py s5_token): HS256 over sub, iss, aud, iat, nbf, exp."""
    b64 = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode("ascii")
    part = lambda o: b64(json.dumps(o, separators=(",", ":")).encode())
    now = int(time.time())
    claims = {"sub": "bench-user", "iss": "https://bench.invalid", "aud": "bench",
              "iat": now, "nbf": now - 60, "exp": now + 86400}
    signing_input = part({"alg": "HS256", "typ": "JWT"}) + "." + part(claims)
    sig = hmac.new(b"bench-jwt-secret-0123456789abcdef-0123456789", signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(sig)

def handshakes(total, target):
    """`total` sequential handshakes: connect, upgrade, 101, close frame, the server's close, EOF."""
    for _ in range(total):
        c = Conn(0, target)
        c.s.settimeout(60)
        c.s.sendall(frame(0x8, struct.pack("!H", 1000)))
        while True:
            d = c.s.recv(4096)
            if not d:
                break
            c.buf += d
        ops = [op for op, _, _ in c.frames()]
        if ops != [0x8]:
            die(f"expected the server's close frame, got opcodes {ops}")
        c.s.close()
    return total

if mode == "handshakes":
    target = path + ("?token=" + s5_token() if path == "/s5jwt" else "")
    if warmup:
        handshakes(warmup, target)
    time.sleep(0.2)
    control("-z")
    t0 = time.monotonic()
    got = handshakes(n, target)
    dt = time.monotonic() - t0
    control("-d")
    print(f"{got} {dt:.3f}", flush=True)
    sys.exit(0)

cs = [Conn(i) for i in range(conns)]
if warmup:
    phase(cs, warmup)
time.sleep(0.2)                       # let the gateway go idle, then zero
control("-z")
t0 = time.monotonic()
got = phase(cs, n)
dt = time.monotonic() - t0
control("-d")
for c in cs:
    try:
        c.s.setblocking(True)
        c.s.settimeout(10)
        c.s.sendall(frame(0x8, struct.pack("!H", 1000)))
        while c.s.recv(4096):
            pass
    except OSError:
        pass
    c.s.close()
print(f"{got} {dt:.3f}", flush=True)
EOF

# True if a thread of PID is blocked in io_uring_enter (x86_64 syscall 426).
in_io_uring_enter() {
  local t
  for t in /proc/"$1"/task/*/syscall; do
    [[ $(cut -d' ' -f1 "$t" 2>/dev/null) == 426 ]] && return 0
  done
  return 1
}
URING_BROKEN=""

# ---- one measured run: sets RESULT="Ir messages seconds". Runs in this shell (no $(...)), so
# the children it starts are in PIDS and the EXIT trap stops them.
RESULT=""
measure() {  # measure SCENARIO ENGINE RUN
  local sc=$1 engine=$2 run=$3 tag="$1-$2-$3" path port pid cpid try up out dumps ir got secs i
  RESULT=""
  local mode=messages
  case "$sc" in
    S1) path=/backend ;;
    S1host) path=/backendhost ;;
    S2) path=/echo ;;
    S5) path=/echo; mode=handshakes ;;
    S5jwt) path=/s5jwt; mode=handshakes ;;
    S5hook) path=/s5hook; mode=handshakes ;;
    S8) path=/echo ;;
    S1up) path=/upstream ;;
  esac
  local config="$WORK/gateway.json" tls=0
  [[ $sc == S8 ]] && { config="$WORK/gateway-tls.json"; tls=1; }
  [[ $sc == S1up ]] && config="$WORK/gateway-up.json"
  local log="$WORK/$tag.gateway.log"
  for try in 1 2 3 4 5; do
    port=$(pick_port) && [[ -n $port ]] || { echo "$tag: no free port" >&2; return 1; }
    rm -f "$WORK/callgrind.out.$tag".*
    # shellcheck disable=SC2086
    CG_GATEWAY_PORT=$port CG_BACKEND_PORT=$BACKEND_PORT setsid "$VALGRIND" --tool=callgrind \
      --callgrind-out-file="$WORK/callgrind.out.$tag.%p" --vgdb=yes --vgdb-prefix="$VGDB_PREFIX" \
      ${VALGRIND_OPTS_EXTRA:-} \
      "$GW" serve --config "$config" --io-engine "$engine" --loops 1 --log-level notice \
      >"$log" 2>&1 &
    pid=$!; PIDS+=("$pid")
    up=0
    for ((i = 0; i < 1200; i++)); do    # valgrind start-up is slow: up to 60 s (about 1 s here)
      if grep -Eq "listening on (tls://)?127.0.0.1:$port" "$log" 2>/dev/null; then up=1; break; fi
      kill -0 "$pid" 2>/dev/null || break
      if [[ $engine == io_uring ]] && (( i >= 20 && i % 10 == 0 )); then
        # Wake the loop thread out of io_uring_enter (see the top of this file) so that the main
        # thread gets valgrind's lock and finishes the start-up: a TCP connect that is closed at once.
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || true
      fi
      if (( i == 600 )) && [[ $engine == io_uring ]] && in_io_uring_enter "$pid"; then
        # 30 s without the start-up line and a thread blocked in io_uring_enter: the valgrind
        # problem described at the top of this file, and the pokes did not help.
        stop_pid "$pid"; forget "$pid"
        URING_BROKEN="the gateway hangs at start-up under $("$VALGRIND" --version): its loop thread blocks in io_uring_enter (syscall 426) holding valgrind's scheduler lock, so the main thread never runs"
        echo "$tag: $URING_BROKEN (log $log)" >&2
        return 2
      fi
      sleep 0.05
    done
    [[ $up == 1 ]] && break
    stop_pid "$pid"; forget "$pid"
    if ! grep -qi "address.*in use\|EADDRINUSE" "$log"; then
      echo "$tag: the gateway did not start under valgrind (log $log):" >&2; tail -n 15 "$log" >&2; return 1
    fi
  done
  [[ $up == 1 ]] || { echo "$tag: no free port after 5 tries" >&2; return 1; }
  if ! grep "listening on" "$log" | grep -q "engine $engine"; then
    echo "$tag: the gateway did not start with engine $engine: $(grep 'listening on' "$log")" >&2
    stop_pid "$pid"; forget "$pid"; return 1
  fi
  # In the background + wait, so that a signal to this script is handled at once.
  "$PY" "$WORK/client.py" "$port" "$path" "$CONNS" "$WARMUP" "$MESSAGES" "$SIZE" "$pid" \
    "$VGDB_PREFIX" "$WORK" "$mode" "$tls" "$DEPTH" >"$WORK/$tag.client.out" 2>"$WORK/$tag.client.log" &
  cpid=$!; PIDS+=("$cpid")
  if ! wait "$cpid"; then
    forget "$cpid"
    echo "$tag: client failed:" >&2; cat "$WORK/$tag.client.log" >&2; tail -n 15 "$log" >&2
    stop_pid "$pid"; forget "$pid"; return 1
  fi
  forget "$cpid"
  out=$(cat "$WORK/$tag.client.out")
  if [[ $engine == io_uring ]]; then stop_pid "$pid" 2; else stop_pid "$pid"; fi   # see the top
  forget "$pid"
  # The dump requested with -d is callgrind.out.<tag>.<pid>.1 (the final dump at exit has no suffix).
  dumps=("$WORK/callgrind.out.$tag.$pid".1)
  [[ -f ${dumps[0]} ]] || { echo "$tag: no dump file ${dumps[0]}" >&2; ls "$WORK" >&2; return 1; }
  ir=$(awk '$1 == "summary:" { print $2; exit }' "${dumps[0]}")   # = callgrind_annotate's PROGRAM TOTALS
  [[ $ir =~ ^[0-9]+$ ]] || { echo "$tag: no Ir total in ${dumps[0]}" >&2; return 1; }
  read -r got secs <<<"$out"
  [[ $got == "$MESSAGES" ]] || { echo "$tag: client counted $got replies, expected $MESSAGES" >&2; return 1; }
  RESULT="$ir $got $secs"
}

[[ -n $NEED_BACKEND ]] && start_backend
echo "# gateway $BIN (sha256 $BIN_SHA…, run as a copy without debug sections), $CONNS connection(s), warm-up $WARMUP, ${SIZE}-byte text messages, depth $DEPTH, --loops 1; $("$VALGRIND" --version)" >&2
status=0
for engine in $ENGINES; do
  for sc in $SCENARIOS; do
    for ((r = 1; r <= RUNS; r++)); do
      if [[ $engine == io_uring && -n $URING_BROKEN ]]; then
        echo "$sc $engine: not measurable ($URING_BROKEN)"
        (( status == 0 )) && status=3
        continue
      fi
      rc=0; measure "$sc" "$engine" "$r" || rc=$?
      if (( rc == 2 )); then
        echo "$sc $engine: not measurable ($URING_BROKEN)"
        (( status == 0 )) && status=3
      elif (( rc == 0 )); then
        read -r ir got secs <<<"$RESULT"
        unit=message; [[ $sc == S5* ]] && unit=handshake
        "$PY" -c "import sys; ir, n, s = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]); \
print(f'$sc $engine: {round(ir / n):,} instructions/$unit (N={n})' + \
('' if $RUNS == 1 else f'  [run $r, total Ir {ir:,}, {n / s:,.0f} ${unit}s/s under valgrind]'))" "$ir" "$got" "$secs"
      else
        echo "$sc $engine: FAILED (run $r)"
        status=1
      fi
    done
  done
done
exit $status
