#!/usr/bin/python3
"""Benchmark orchestrator for the gateway (issue 5). Python standard library only.

Builds the gateway and gateway-bench (release), wsload + backend (make -C $BENCH_TOOLS_DIR) and the
malloc-counting preload, then runs the scenarios against the gateway under each engine and against
the reference servers, with wsload as the neutral client:

  S1  round trip through the backend (/echo), 100 connections, depth 1 and 8: gateway vs Pushpin
  S1host  S1 with the backend behind a host name (not in the default set): the IP and the host-name
      module, each in a fresh gateway start, back to back, same-run ratios; the name comes from a
      hosts file made for the run (io.dns.hostsFile)
  S2  local echo route, 100 connections, depth 1 and 8: gateway vs uWS echo
  S3  fan-out to 10,000 subscribers, 20 publishes/s: gateway vs uWS broadcast
  S4  RSS per idle WebSocket at 15,000 connections: gateway vs uWS echo
  S5  handshakes per second (gateway-bench handshakes): gateway vs uWS echo; with --s5-auth also
      handshakes with a JWT checked by the gateway (HS256, ?token=) and with a handshake hook
  S6  server CPU seconds per message, from the S1/S2 runs
  S7  cross-node fan-out (not in the default set): 3 nodes on Redis, 3 x 3,000 subscribers in one
      room, 20 publishes/s from one node, vs one node with the same 9,000 subscribers
  S8  TLS (not in the default set): wss echo d1/d8, TLS handshakes/s, RSS per idle TLS connection:
      gateway with `tls` vs uWS SSLApp echo (gateway-bench over wss://)
  S9  compression (not in the default set): fan-out of a 2 KB JSON message to 10,000 subscribers with
      permessage-deflate: gateway vs uWS broadcast with its shared compressor (gateway-bench with
      permessage-deflate)
  S1h2c  S1 through an h2c route (not in the default set): the same load (wsload rtt, 100 connections,
      depth 1) through `"protocol": "h2c"` to nghttpd (Debian's nghttp2-server) vs through the native
      HTTP/1.1 client to the C backend, both in one gateway start; throughput and CPU ratios
  allocations per message in steady state (S1/S2, gateway under scripts/bench/malloc_count.c)
  open loop (S1/S2): after the closed-loop runs, gateway-bench rtt --rate at 50 % and 90 % of each
      server's closed-loop maximum (wsload, depth 1, 100 connections); latency from the scheduled send
      time, so stalls reach the tail (no coordinated omission); p50/p99/p99.9/max, lost, late sends

Every scenario runs --runs times per server; the report gives medians and the median of ratios
measured in the same run (run i of the gateway against run i of the reference).

Output: reports/bench-<YYYYmmdd-HHMMSS>/ with results.json, report.md, chart.svg and logs/.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, "scripts", "bench")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
ADMIN_TOKEN = "bench-admin-token-0123456789"
PAYLOAD = "{{pad:64}}"                 # 64-byte message for S1/S2
FAN_PAYLOAD = "{{ts}}{{pad:43}}"       # TS + 19 digits + 43 = 64 bytes for S3
S7_ROOM = "s7"                          # the one room of S7's subscribers
S7_PREFIX = "gw"                        # cluster prefix of S7's nodes: the room's channel is gw:room:s7
S7_PUB_PATH = "/s7pub"                  # S7's publisher module: {"local": "echo", "deliver": "room:s7"}
S5_AUTH = ("none", "jwt", "hook")       # S5's handshake variants (--s5-auth)
S5_CASE = {"none": "handshakes", "jwt": "jwt", "hook": "hook"}   # their record "case"
S5_PATH = {"none": "/echo", "jwt": "/s5jwt", "hook": "/s5hook"}  # the gateway module of each
S5_JWT_SECRET = "bench-jwt-secret-0123456789abcdef-0123456789"   # HS256 key (>= 32 bytes, RFC 7518 3.2)
S5_JWT_ISSUER = "https://bench.invalid"
S5_JWT_AUDIENCE = "bench"
S5_HOOK_TARGET = "/size/0"              # the backend answers 200 with an empty body: accept, no first message
S1H2C_PATH = "/backend-h2c"              # S1h2c's module: /backend's route with "protocol": "h2c" to nghttpd
S9_PATH = "/s9fanout"                   # S9's module: {"local": "echo", "deliver": "all"} + compression
S1HOST_NAME = "bench-backend.test"      # S1host: the backend's name, in the run's own hosts file
S1HOST_PATH = "/backendhost"            # S1host: raw module whose default route is the backend by that name
S1HOST_VARIANTS = ("ip", "host")        # S1host: the two modules measured in one gateway start
S1_UPSTREAM = "bench2"                  # S1's upstream group: the two C backends, round-robin
S1_UPSTREAM_PATH = "/upstream"          # its module: {"upstream": "bench2", "path": "/echo"}
S1_UPSTREAM_VARIANT = "upstream2"       # the record variant of S1 over it
# gateway-bench gets a TLS client and permessage-deflate with issue 10 (not yet). S8/S9 run only when its
# `rtt --help` shows these markers; the options are what the bench will pass. Adjust all three to what
# lands: TLS_MARKER (its -u help is expected to name wss://), CA_OPTION (trust S8's self-signed
# certificate), DEFLATE_MARKER (offer permessage-deflate on every connection, the publisher's too).
GBENCH_TLS_MARKER = "wss://"
GBENCH_DEFLATE_MARKER = "--deflate"

OPEN_LOOP_CONNECTIONS = 100            # as the closed-loop depth-1 runs whose maximum sets the rates
OPEN_LOOP_GRACE = 2.0                   # s after the window for outstanding replies (then: lost)
OPEN_LOOP_VARIANT = "open-loop"         # the record variant of the open-loop runs (case: ol<level>)

ENGINES = ("io_uring", "epoll")
CMP = {">=": "≥", "<=": "≤", "<": "<", "": ""}
LABEL = {
    "gateway-io_uring": "gateway io_uring",
    "gateway-epoll": "gateway epoll",
    "uws-echo": "uWS echo",
    "uws-broadcast": "uWS broadcast",
    "uws-echo-ssl": "uWS echo (TLS)",
    "uws-broadcast-deflate": "uWS broadcast (deflate)",
    "pushpin": "Pushpin",
}
# uWS references: (server, env variable, the one scenario that needs it, or None for the default set)
UWS_REFS = (("uws-echo", "UWS_ECHO_BIN", None), ("uws-broadcast", "UWS_BROADCAST_BIN", None),
            ("uws-echo-ssl", "UWS_ECHO_SSL_BIN", "S8"), ("uws-broadcast-deflate", "UWS_BROADCAST_DEFLATE_BIN", "S9"))
REF_OF = {"S1": "pushpin", "S2": "uws-echo", "S3": "uws-broadcast", "S4": "uws-echo", "S5": "uws-echo",
          "S8": "uws-echo-ssl", "S9": "uws-broadcast-deflate"}


class BenchError(Exception):
    pass


class Interrupted(BaseException):
    pass


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hs256_token(secret, claims):
    """A compact JWS (RFC 7515) signed with HMAC-SHA256, made with the standard library."""
    def part(obj):
        return b64url(json.dumps(obj, separators=(",", ":")).encode())
    signing_input = part({"alg": "HS256", "typ": "JWT"}) + "." + part(claims)
    sig = hmac.new(secret.encode(), signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


def s9_payload(size):
    """S9's publish template: chatty JSON (a quote feed: repeated keys, similar numbers) with a TS
    marker, exactly size bytes once {{ts}} is expanded (21 bytes)."""
    head, tail = '{"type":"quotes","ts":"{{ts}}","items":[', '],"pad":""}'
    fixed = len(head) - len("{{ts}}") + 21 + len(tail)
    items, i = [], 0
    while True:
        item = (f'{{"sym":"S{i:04d}","bid":{100 + i * 0.37:.2f},"ask":{100.05 + i * 0.37:.2f},'
                f'"vol":{1000 + i * 71},"venue":"XNAS","state":"open"}}')
        if fixed + len(",".join(items + [item])) > size:
            break
        items.append(item)
        i += 1
    body = ",".join(items)
    pad = size - fixed - len(body)
    if pad < 0:
        raise BenchError(f"--s9-message-bytes {size} is too small")
    return head + body + tail[:-2] + "x" * pad + tail[-2:]


def s5_token(lifetime_s=86400):
    """S5's token: what an auth service would issue (sub, iss, aud, iat, nbf, exp), no rooms claim
    (joining rooms would add work the hook variant does not do)."""
    now = int(time.time())
    return hs256_token(S5_JWT_SECRET, {"sub": "bench-user", "iss": S5_JWT_ISSUER, "aud": S5_JWT_AUDIENCE,
                                       "iat": now, "nbf": now - 60, "exp": now + lifetime_s})


# --------------------------------------------------------------------------------------------
# processes


def proc_stat(pid):
    """(ppid, pgid, utime+stime ticks, starttime) of a pid, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    rest = data[data.rfind(")") + 2:].split()
    # rest[0] = state (field 3); ppid field 4, pgrp 5, utime 14, stime 15, starttime 22
    return int(rest[1]), int(rest[2]), int(rest[11]) + int(rest[12]), int(rest[19])


def descendants(pid):
    """All descendant pids of pid (by ppid), found by scanning /proc."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_stat(int(name))
        if st:
            children.setdefault(st[0], []).append(int(name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def peer_connections(pid, port):
    """Established TCP connections of process `pid` to remote port `port` (loopback backends)."""
    inodes = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[3] == "01" and int(parts[2].rsplit(":", 1)[1], 16) == int(port):
                        inodes.add(parts[9])
        except (OSError, StopIteration):
            pass
    n = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                n += 1
    except OSError:
        return None
    return n


def rss_kb(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM", "Threads"):
                    out[k] = int(v.split()[0])
    except OSError:
        return None
    return out


class Proc:
    """A child started in its own session (process group); tracked for cleanup."""

    registry = []
    lock = threading.Lock()

    def __init__(self, name, argv, env_extra=None, log_path=None, stdout_pipe=False, cwd=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.env_extra = dict(env_extra or {})
        env = os.environ.copy()
        env.update(self.env_extra)
        self.log_path = log_path
        self.logf = open(log_path, "ab") if log_path else subprocess.DEVNULL
        self.popen = subprocess.Popen(
            self.argv, env=env, cwd=cwd or ROOT, start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else self.logf,
            stderr=self.logf if not stdout_pipe else subprocess.STDOUT)
        self.pid = self.popen.pid
        self.t_spawn = time.monotonic()
        self.known = {}  # pid -> starttime of descendants seen, for cleanup of setsid'ed children
        with Proc.lock:
            Proc.registry.append(self)

    @property
    def command(self):
        envs = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env_extra.items())
        return (envs + " " if envs else "") + shlex.join(self.argv)

    def alive(self):
        return self.popen.poll() is None

    def remember_tree(self):
        for p in descendants(self.pid):
            st = proc_stat(p)
            if st:
                self.known[p] = st[3]
        return [self.pid] + list(self.known)

    def stop(self, grace=10.0):
        """SIGTERM the process group, SIGKILL after grace; then any remembered descendant that moved
        to its own process group (Pushpin's runner starts its services that way) and is still there."""
        if self.alive():
            self.remember_tree()
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            if not self.alive():
                break
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                log(f"{self.name} (pid {self.pid}) still running after {sig.name}")
        for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 2.0)):
            left = self.leftovers()
            if not left:
                break
            for p in left:
                try:
                    os.kill(p, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait
            while self.leftovers() and time.monotonic() < deadline:
                time.sleep(0.05)
        if self.popen.poll() is None:
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log(f"{self.name} (pid {self.pid}) could not be stopped")
        if self.logf not in (None, subprocess.DEVNULL):
            self.logf.close()
            self.logf = None
        with Proc.lock:
            if self in Proc.registry:
                Proc.registry.remove(self)
        return self.popen.returncode

    def leftovers(self):
        out = []
        for p, start in self.known.items():
            st = proc_stat(p)
            if st and st[3] == start and st[0] != 0:
                out.append(p)
        return out

    @classmethod
    def stop_all(cls):
        with cls.lock:
            procs = list(reversed(cls.registry))
        for p in procs:
            try:
                p.stop(grace=3.0)
            except Exception as e:  # keep going: never leave anything running
                log(f"cleanup of {p.name}: {e}")


USED_PORTS = set()


def free_port():
    for _ in range(50):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port not in USED_PORTS:
            USED_PORTS.add(port)
            return port
    raise BenchError("no free port")


def tcp_ready(port, timeout=0.5):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def tls_ready(port, context, timeout=1.0):
    """Whether a TLS handshake with 127.0.0.1:port succeeds under context."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1"):
                return True
    except OSError:  # ssl.SSLError is an OSError
        return False


def http_status(port, path, method="GET", timeout=1.0, tls=None):
    """(status, body) of one request to 127.0.0.1:port, over TLS with the ssl context tls; (None, b"")
    if it failed."""
    try:
        if tls is not None:
            c = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=tls)
        else:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request(method, path)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, body
    except (OSError, http.client.HTTPException):
        return None, b""


def ws_upgrade_status(port, target, timeout=5.0):
    """HTTP status of one WebSocket upgrade of target (path?query) on 127.0.0.1:port, or None."""
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    req = (f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(req.encode("ascii"))
            buf = b""
            while b"\r\n" not in buf:
                more = s.recv(4096)
                if not more:
                    return None
                buf += more
        return int(buf.split(b" ", 2)[1])
    except (OSError, ValueError, IndexError):
        return None


def log_contains(path, needle):
    try:
        with open(path, "rb") as f:
            return needle.encode() in f.read()
    except OSError:
        return False


def log_tail(path, n=8):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError:
        return ""


# --------------------------------------------------------------------------------------------
# S7 helpers: a minimal Redis (RESP) client and the gateway's admin API


def redis_command(port, *args, timeout=2.0):
    """Sends one command to Redis on 127.0.0.1:port and returns the decoded reply (str, int, list,
    None); an error reply raises BenchError."""
    req = f"*{len(args)}\r\n".encode() + b"".join(
        f"${len(str(a).encode())}\r\n".encode() + str(a).encode() + b"\r\n" for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(req)
        f = s.makefile("rb")

        def reply():
            line = f.readline()
            if not line:
                raise BenchError("redis closed the connection")
            kind, rest = line[:1], line[1:].rstrip(b"\r\n")
            if kind == b"+":
                return rest.decode()
            if kind == b"-":
                raise BenchError("redis: " + rest.decode("utf-8", "replace"))
            if kind == b":":
                return int(rest)
            if kind == b"$":
                n = int(rest)
                if n < 0:
                    return None
                data = f.read(n + 2)
                return data[:-2].decode("utf-8", "replace")
            if kind == b"*":
                n = int(rest)
                return None if n < 0 else [reply() for _ in range(n)]
            raise BenchError(f"redis: unexpected reply {line[:40]!r}")
        return reply()


def redis_publish_calls(port):
    """calls of PUBLISH so far, from INFO commandstats (0 before the first one)."""
    m = re.search(r"^cmdstat_publish:calls=(\d+)", redis_command(port, "INFO", "commandstats"), re.M)
    return int(m.group(1)) if m else 0


class Admin:
    """A keep-alive connection to one gateway's admin API."""

    def __init__(self, port, timeout=10.0):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def request(self, method, path, body=None):
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        if body is not None:
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                self.conn.request(method, path, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                return r.status, data
            except (OSError, http.client.HTTPException) as e:
                self.close()
                if attempt == 2:
                    raise BenchError(f"admin API 127.0.0.1:{self.port} {method} {path}: {e}")

    def json(self, method, path, body=None):
        status, data = self.request(method, path, body)
        if status != 200:
            raise BenchError(f"admin API 127.0.0.1:{self.port} {method} {path}: HTTP {status} {data[:200]!r}")
        return json.loads(data)

    def metrics(self):
        """The /metrics counters summed over their labels: {name: value}."""
        status, data = self.request("GET", "/metrics")
        if status != 200:
            raise BenchError(f"admin API 127.0.0.1:{self.port} /metrics: HTTP {status}")
        out = {}
        for line in data.decode("utf-8", "replace").splitlines():
            if not line or line.startswith("#"):
                continue
            name, _, value = line.rpartition(" ")
            name = name.split("{", 1)[0]
            try:
                out[name] = out.get(name, 0) + float(value)
            except ValueError:
                pass
        return out

    def pipeline(self, method, paths, body, batch=500):
        """Sends the same request to each of paths, pipelined on one connection in batches (the admin
        API answers pipelined requests in order); returns [(status, body)] in the order of paths.
        A few thousand room joins take a fraction of a second this way, one request per round trip
        several seconds on a busy machine."""
        data = json.dumps(body).encode()
        out = []
        with socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout) as s:
            buf = b""
            for k in range(0, len(paths), batch):
                chunk = paths[k:k + batch]
                s.sendall(b"".join(
                    f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data
                    for path in chunk))
                got = 0
                while got < len(chunk):
                    head_end = buf.find(b"\r\n\r\n")
                    if head_end >= 0:
                        head = buf[:head_end].decode("latin-1").split("\r\n")
                        length = 0
                        for h in head[1:]:
                            name, _, value = h.partition(":")
                            if name.strip().lower() == "content-length":
                                length = int(value)
                        if len(buf) >= head_end + 4 + length:
                            out.append((int(head[0].split()[1]), buf[head_end + 4:head_end + 4 + length]))
                            buf = buf[head_end + 4 + length:]
                            got += 1
                            continue
                    more = s.recv(1 << 20)
                    if not more:
                        raise BenchError(f"admin API 127.0.0.1:{self.port} closed a pipelined connection after "
                                         f"{len(out)} of {len(paths)} responses")
                    buf += more
        return out

    def pipeline_parallel(self, method, paths, body, connections=8):
        """pipeline() split over several connections at once: the admin API is served by loop 0 and a
        request about a connection of another loop waits for that loop, so one connection's requests
        are answered one loop turn after the other while the loops are busy fanning out."""
        if len(paths) < 100 or connections <= 1:
            return self.pipeline(method, paths, body)
        parts = [paths[k::connections] for k in range(connections)]
        results = [None] * connections

        def work(k):
            try:
                results[k] = Admin(self.port, self.timeout).pipeline(method, parts[k], body)
            except BenchError as e:
                results[k] = e
        threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out = [None] * len(paths)
        for k, r in enumerate(results):
            if isinstance(r, BenchError) or r is None:
                raise r or BenchError("admin pipeline thread hung")
            out[k::connections] = r
        return out

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# --------------------------------------------------------------------------------------------
# sampling: CPU ticks of process groups, interpolated at the measured window


class Sampler:
    def __init__(self, groups, period=0.05):
        self.groups = groups  # name -> [pids]
        self.period = period
        self.samples = {g: [] for g in groups}
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _take(self):
        t = time.monotonic()
        for g, pids in self.groups.items():
            total = 0
            for p in pids:
                st = proc_stat(p)
                if st:
                    total += st[2]
            self.samples[g].append((t, total))

    def _run(self):
        while not self._stop.is_set():
            self._take()
            self._stop.wait(self.period)

    def start(self):
        self._take()
        self._t.start()
        return self

    def stop(self):
        self._stop.set()
        self._t.join()
        self._take()


def interpolate(samples, t, col=1):
    """Linear interpolation of column col of (t, v...) samples at time t (clamped)."""
    if not samples:
        return None
    if t <= samples[0][0]:
        return samples[0][col]
    for a, b in zip(samples, samples[1:]):
        if a[0] <= t <= b[0]:
            if b[0] == a[0]:
                return b[col]
            return a[col] + (b[col] - a[col]) * (t - a[0]) / (b[0] - a[0])
    return samples[-1][col]


def read_alloc_file(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3:
                    out.append((int(parts[0]) / 1e9, int(parts[1]), int(parts[2]),
                                int(parts[3]) if len(parts) > 3 else 0, int(parts[4]) if len(parts) > 4 else 0))
    except OSError:
        pass
    return out


# --------------------------------------------------------------------------------------------
# the bench session


class Bench:
    def __init__(self, args):
        self.args = args
        self.run_dir = args.out
        self.logs = os.path.join(self.run_dir, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.tools = os.path.abspath(os.path.join(ROOT, os.environ.get("BENCH_TOOLS_DIR", "../shared/bench")))
        self.wsload = os.path.join(self.tools, "wsload")
        self.backend_bin = os.path.join(self.tools, "backend")
        self.gateway = os.path.join(ROOT, ".build", "release", "gateway")
        self.gbench = os.path.join(ROOT, ".build", "release", "gateway-bench")
        self.preload = os.path.join(self.run_dir, "malloc_count.so")
        self.config = os.path.join(self.run_dir, "gateway.json")
        self.records = []
        self.notes = []
        self.build_commands = []
        self.backend = None
        self.backend_port = None
        self.backend2 = None        # S1's upstream group: a second C backend
        self.backend2_port = None
        self.backend_command = None
        self.binaries = {}
        self.tmpdirs = []
        self.seq = 0
        self.refs = self.find_references()
        self.cluster_config = os.path.join(self.run_dir, "gateway-cluster.json")
        self.tls_config = os.path.join(self.run_dir, "gateway-tls.json")          # S8; None: unsupported
        self.deflate_config = os.path.join(self.run_dir, "gateway-deflate.json")  # S9; None: unsupported
        self.tls_cert = self.tls_key = None
        self._gbench_caps = None
        self.redis_bin = None
        self.nghttpd = None       # S1h2c's h2c backend
        self.h2c_port = None
        self.curl_config = os.path.join(self.run_dir, "gateway-curl.json")  # S1h2c: io.backendClient curl
        if "S1h2c" in args.scenarios:
            nb = os.environ.get("NGHTTPD_BIN") or "nghttpd"
            self.nghttpd = shutil.which(nb)
            if not self.nghttpd:
                self.note(f"S1h2c skipped: {nb!r} not found (NGHTTPD_BIN or `nghttpd` on PATH; "
                          "apt-get install nghttp2-server)")
        if "S7" in args.scenarios:
            rb = os.environ.get("REDIS_SERVER_BIN") or "redis-server"
            self.redis_bin = shutil.which(rb)
            if not self.redis_bin:
                self.note(f"S7 skipped: {rb!r} not found (REDIS_SERVER_BIN or `redis-server` on PATH; "
                          "apt-get install redis-server)")

    # ---- setup

    def find_references(self):
        refs = {}
        for key, env, needed_by in UWS_REFS:
            path = os.environ.get(env, "")
            if path and os.access(path, os.X_OK):
                refs[key] = os.path.abspath(path)
            else:
                refs[key] = None
                why = f"{env} is not set" if not path else f"{env}={path} is not an executable file"
                if needed_by is None or needed_by in self.args.scenarios:
                    self.note(f"{LABEL[key]} skipped: {why}")
        pp = os.environ.get("PUSHPIN_BIN") or "pushpin"
        pp_path = shutil.which(pp)
        if pp_path:
            refs["pushpin"] = pp_path
        else:
            refs["pushpin"] = None
            self.note(f"Pushpin skipped: {pp!r} not found (PUSHPIN_BIN or `pushpin` on PATH; apt-get install pushpin)")
        return refs

    def note(self, text):
        if text not in self.notes:
            self.notes.append(text)
            log("note: " + text)

    def sh(self, argv, log_name, cwd=None, timeout=1800):
        self.build_commands.append(("cd " + shlex.quote(cwd) + " && " if cwd and cwd != ROOT else "") + shlex.join(argv))
        path = os.path.join(self.logs, log_name)
        with open(path, "ab") as f:
            f.write(("$ " + shlex.join(argv) + "\n").encode())
            f.flush()
            p = Proc("build", argv, log_path=path, cwd=cwd or ROOT)
            try:
                rc = p.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.stop()
                raise BenchError(f"timed out: {shlex.join(argv)} (log {path})")
            p.stop()
        if rc != 0:
            raise BenchError(f"failed (exit {rc}): {shlex.join(argv)}\n{log_tail(path, 20)}")

    def build(self):
        if not self.args.no_build:
            if not shutil.which("swift"):
                raise BenchError("swift not found on PATH (or /opt/swift/usr/bin); install it or use --no-build")
            for product in ("gateway", "gateway-bench"):
                log(f"building {product} (release)")
                try:
                    self.sh(["swift", "build", "-c", "release", "--product", product], "build.log")
                except BenchError as e:
                    raise BenchError(f"{e}\n(the release build failed; fix it, or run with --no-build to benchmark "
                                     "the binaries already in .build/release)")
            log(f"building wsload + backend in {self.tools}")
            self.sh(["make", "-C", self.tools], "build.log")
        for path in (self.gateway, self.gbench, self.wsload, self.backend_bin):
            if not os.access(path, os.X_OK):
                raise BenchError(f"missing {path} (build it, or drop --no-build)")
        # Snapshot the binaries into the run dir: a rebuild in the working tree during the run
        # (other developers share it) must not change what is measured.
        bindir = os.path.join(self.run_dir, "bin")
        os.makedirs(bindir, exist_ok=True)
        self.binaries = {}
        for attr in ("gateway", "gbench", "wsload", "backend_bin"):
            src = getattr(self, attr)
            dst = os.path.join(bindir, os.path.basename(src))
            shutil.copy2(src, dst)
            with open(dst, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            self.binaries[os.path.basename(src)] = {"source": src, "sha256": digest,
                                                    "mtime": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(src)))}
            setattr(self, attr, dst)
        cc = os.environ.get("CC", "cc")
        log("building malloc_count.so")
        self.sh([cc, "-O2", "-Wall", "-shared", "-fPIC", "-o", self.preload,
                 os.path.join(HERE, "malloc_count.c"), "-ldl", "-lpthread"], "build.log")

    def write_config(self):
        a = self.args
        cfg = {
            "listen": "127.0.0.1:${BENCH_GATEWAY_PORT}",
            "io": {"engine": "auto", "loops": a.gateway_loops},
            "admin": {"listen": "127.0.0.1:${BENCH_ADMIN_PORT}", "token": "${BENCH_ADMIN_TOKEN:-" + ADMIN_TOKEN + "}"},
            "limits": {
                "messagesPerSecond": 0,
                "maxConnections": 100000,
                "sendQueueBytes": 16777216,
                "maxInflightPerConnection": 64,
                "idleTimeoutSeconds": 600,
                "pingIntervalSeconds": 300,
                "handshakeTimeoutSeconds": 30,
                "drainTimeoutSeconds": 2,
                "backendPipelineDepth": a.backend_pipeline_depth,
            },
            "modules": [
                {"path": "/echo", "parser": "raw", "default": {"local": "echo"}},
                {"path": "/backend", "parser": "raw",
                 "default": {"url": "http://127.0.0.1:${BENCH_BACKEND_PORT}/echo"}},
                {"path": "/fanout", "parser": "raw", "default": {"local": "echo", "deliver": "all"}},
            ],
        }
        if "S1h2c" in a.scenarios:
            # S1h2c: the same raw module as /backend, through HTTP/2 with prior knowledge (libcurl).
            cfg["modules"].append({"path": S1H2C_PATH, "parser": "raw",
                                   "default": {"url": "http://127.0.0.1:${BENCH_H2C_PORT}/echo", "protocol": "h2c"}})
        if self.s1_upstream():
            # S1 over an upstream group of two backends (round-robin, no retry): the same /echo,
            # measured in the same server start as plain S1.
            cfg["upstreams"] = {S1_UPSTREAM: {"endpoints": ["http://127.0.0.1:${BENCH_BACKEND_PORT}",
                                                           "http://127.0.0.1:${BENCH_BACKEND2_PORT}"]}}
            cfg["modules"].append({"path": S1_UPSTREAM_PATH, "parser": "raw",
                                   "default": {"upstream": S1_UPSTREAM, "path": "/echo"}})
        if "S5" in a.scenarios and "jwt" in a.s5_auth:
            # S5 jwt: the gateway checks an HS256 token from the query at every handshake (no backend
            # call); issuer and audience are required, as a deployment would.
            cfg["modules"].append({"path": S5_PATH["jwt"], "parser": "raw", "default": {"local": "echo"},
                                   "auth": {"jwt": {"algorithms": ["HS256"], "secret": S5_JWT_SECRET,
                                                    "issuer": S5_JWT_ISSUER, "audience": S5_JWT_AUDIENCE},
                                            "token": ["query:token"]}})
        if "S5" in a.scenarios and "hook" in a.s5_auth:
            # S5 hook: every handshake waits for the backend's answer (200, empty body: accepted, and no
            # first message, like the jwt variant).
            cfg["modules"].append({"path": S5_PATH["hook"], "parser": "raw", "default": {"local": "echo"},
                                   "handshake": "http://127.0.0.1:${BENCH_BACKEND_PORT}" + S5_HOOK_TARGET})
        if "S1host" in a.scenarios:
            # S1host: the backend by name, resolved by the gateway's c-ares resolver from a hosts file
            # made for the run (never the system's /etc/hosts). Added only for S1host, so the other
            # scenarios still run on a gateway from before io.dns.
            hosts = os.path.join(self.run_dir, "hosts")
            with open(hosts, "w") as f:
                f.write(f"127.0.0.1 {S1HOST_NAME}\n")
            cfg["io"]["dns"] = {"hostsFile": hosts}
            cfg["modules"].append({"path": S1HOST_PATH, "parser": "raw",
                                   "default": {"url": f"http://{S1HOST_NAME}:${{BENCH_BACKEND_PORT}}/echo"}})
        if "S7" in a.scenarios:
            # S7's publisher: each message it sends goes to the room's members (not to itself). Its
            # handshake is held by a hook (the backend's /delay/MS) until the subscribers are in the
            # room: wsload starts publishing only once the publisher's connection is open.
            hold_ms = int(a.s7_hold_publisher * 1000)
            cfg["modules"].append({"path": S7_PUB_PATH, "parser": "raw",
                                   "handshake": "http://127.0.0.1:${BENCH_BACKEND_PORT}/delay/" + str(hold_ms),
                                   "hookTimeoutMs": hold_ms + 30000,
                                   "default": {"local": "echo", "deliver": f"room:{S7_ROOM}"}})
        err = self.check_config(self.config, cfg)
        if err:
            raise BenchError(f"bench config rejected by gateway check-config:\n{err}")
        if "S1h2c" in a.scenarios:
            # S1h2c's third case: the same /backend route through libcurl's HTTP/1.1, which tells the
            # cost of libcurl from the cost of HTTP/2.
            err = self.check_config(self.curl_config, dict(cfg, io=dict(cfg["io"], backendClient="curl")))
            if err:
                raise BenchError(f"S1h2c curl config rejected by gateway check-config:\n{err}")
        if "S7" in a.scenarios:
            # S7's nodes: the same config plus the cluster section; Redis' port and the node id
            # come from the environment too.
            cluster = dict(cfg, cluster={"redis": "redis://127.0.0.1:${BENCH_REDIS_PORT}/0", "node": "${BENCH_NODE}",
                                         "prefix": S7_PREFIX, "nodeTimeoutSeconds": 10})
            err = self.check_config(self.cluster_config, cluster, {"BENCH_REDIS_PORT": "4", "BENCH_NODE": "n1"})
            if err:
                raise BenchError(f"S7 cluster config rejected by gateway check-config:\n{err}")
        if "S8" in a.scenarios:
            # S8: the same config with the public listener TLS-only (the admin listener stays plain).
            self.make_tls_files()
            tls = dict(cfg, tls={"cert": self.tls_cert, "key": self.tls_key})
            err = self.check_config(self.tls_config, tls)
            if err:
                self.tls_config = None
                self.note("S8: the gateway side is skipped: check-config rejects the `tls` section (a build "
                          "without TLS?): " + "; ".join(err.splitlines()[1:3] or [err]))
        if "S9" in a.scenarios:
            # S9: a deliver-all module with permessage-deflate; everything else as in S3.
            deflate = dict(cfg, modules=cfg["modules"] + [{
                "path": S9_PATH, "parser": "raw", "default": {"local": "echo", "deliver": "all"},
                "compression": {"enabled": True, "contextTakeover": a.s9_context_takeover}}])
            err = self.check_config(self.deflate_config, deflate)
            if err:
                self.deflate_config = None
                self.note("S9: the gateway side is skipped: check-config rejects `modules[].compression` (a "
                          "build without permessage-deflate?): " + "; ".join(err.splitlines()[1:3] or [err]))

    def check_config(self, path, cfg, extra_env=None):
        """Writes cfg to path and runs `gateway check-config` on it; returns its complaint, or None."""
        with open(path, "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        env = dict(os.environ, BENCH_GATEWAY_PORT="1", BENCH_ADMIN_PORT="2", BENCH_BACKEND_PORT="3", BENCH_H2C_PORT="4",
                   BENCH_BACKEND2_PORT="5")
        env.update(extra_env or {})
        r = subprocess.run([self.gateway, "check-config", "--config", path], env=env,
                           capture_output=True, text=True, timeout=30)
        return None if r.returncode == 0 else (r.stdout + r.stderr).strip() or f"exit {r.returncode}"

    def make_tls_files(self):
        """S8's certificate: --s8-cert/--s8-key if given, else a self-signed EC P-256 one for localhost
        and 127.0.0.1, made with the openssl CLI into the run directory (bench/README.md)."""
        a = self.args
        if a.s8_cert:
            self.tls_cert, self.tls_key = os.path.abspath(a.s8_cert), os.path.abspath(a.s8_key)
            return
        d = os.path.join(self.run_dir, "tls")
        os.makedirs(d, exist_ok=True)
        self.tls_cert, self.tls_key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        if not (os.path.exists(self.tls_cert) and os.path.exists(self.tls_key)):
            self.sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-days", "30", "-subj", "/CN=localhost",
                     "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                     "-keyout", self.tls_key, "-out", self.tls_cert], "build.log")

    def tls_context(self):
        """A client context that trusts S8's certificate (readiness checks)."""
        import ssl
        return ssl.create_default_context(cafile=self.tls_cert)

    def gbench_caps(self):
        """What this gateway-bench can do beyond plain ws://, from its `rtt --help` (see GBENCH_TLS_MARKER
        and GBENCH_DEFLATE_MARKER): {"tls": bool, "deflate": bool}."""
        if self._gbench_caps is None:
            try:
                r = subprocess.run([self.gbench, "rtt", "--help"], capture_output=True, text=True, timeout=30)
                text = r.stdout + r.stderr
            except (OSError, subprocess.TimeoutExpired):
                text = ""
            self._gbench_caps = {"tls": GBENCH_TLS_MARKER in text, "deflate": GBENCH_DEFLATE_MARKER in text}
        return self._gbench_caps

    # ---- servers

    def next_log(self, name):
        self.seq += 1
        return os.path.join(self.logs, f"{self.seq:03d}-{name}.log")

    def wait_ready(self, proc, check, timeout=20.0, what=""):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not proc.alive():
                return False
            if check():
                time.sleep(0.05)
                if proc.alive():
                    return True
                return False
            time.sleep(0.05)
        return False

    def start_backend(self):
        self.backend, self.backend_port = self.start_one_backend("backend")
        if self.s1_upstream():
            self.backend2, self.backend2_port = self.start_one_backend("backend2")

    def start_one_backend(self, name):
        for attempt in range(3):
            port = free_port()
            p = Proc(name, [self.backend_bin, "-p", port], log_path=self.next_log(name))
            if self.wait_ready(p, lambda: tcp_ready(port) and log_contains(p.log_path, f":{port}")):
                log(f"{name} on 127.0.0.1:{port} (pid {p.pid})")
                return p, port
            p.stop()
            log(f"{name} did not start on port {port} (attempt {attempt + 1}): {log_tail(p.log_path, 3)}")
        raise BenchError(f"the C backend ({name}) did not start; see logs/")

    def s1_upstream(self):
        """Whether S1 also runs over the two-backend upstream group."""
        return "S1" in self.args.scenarios and not self.args.no_s1_upstream

    def start_server(self, server, tag, preload_file=None, config=None):
        """Start a server; returns (Proc, info dict with ports/urls) or raises BenchError. config: the
        gateway's config file (default gateway.json); with self.tls_config its readiness check is
        /healthz over TLS."""
        last = ""
        config = config or self.config
        tls = self.tls_context() if config == self.tls_config or server == "uws-echo-ssl" else None
        for attempt in range(3):
            if server.startswith("gateway-"):
                engine = server.split("-", 1)[1]
                gport, aport = free_port(), free_port()
                env = {"BENCH_GATEWAY_PORT": str(gport), "BENCH_ADMIN_PORT": str(aport),
                       "BENCH_BACKEND_PORT": str(self.backend_port), "BENCH_H2C_PORT": str(self.h2c_port or 0),
                       "BENCH_BACKEND2_PORT": str(self.backend2_port or self.backend_port)}
                if preload_file:
                    env["MALLOC_COUNT_FILE"] = preload_file
                    env["LD_PRELOAD"] = self.preload
                argv = [self.gateway, "serve", "--config", config, "--io-engine", engine]
                if self.args.gateway_loops:
                    argv += ["--loops", self.args.gateway_loops]
                p = Proc(server, argv, env_extra=env, log_path=self.next_log(f"{tag}-{server}"))
                # a TLS listener is logged as "listening on tls://127.0.0.1:PORT"
                listening = f"listening on {'tls://' if tls else ''}127.0.0.1:{gport}"
                ok = self.wait_ready(p, lambda: log_contains(p.log_path, listening)
                                     and http_status(gport, "/healthz", tls=tls)[0] == 200
                                     and tcp_ready(aport))
                info = {"port": gport, "admin_port": aport, "pids": [p.pid]}
                if ok and engine not in open(p.log_path, errors="replace").read().split("listening on", 1)[1].split("\n")[0]:
                    p.stop()
                    raise BenchError(f"{server}: gateway did not report engine {engine}: {log_tail(p.log_path, 2)}")
            elif server.startswith("uws-"):
                # uws-echo-ssl takes PORT CERT KEY, uws-broadcast-deflate PORT [each] (bench/README.md)
                port = free_port()
                argv = [self.refs[server], port]
                if server == "uws-echo-ssl":
                    argv += [self.tls_cert, self.tls_key]
                elif server == "uws-broadcast-deflate" and self.args.s9_uws_publish == "each":
                    argv.append("each")
                p = Proc(server, argv, log_path=self.next_log(f"{tag}-{server}"))
                ok = self.wait_ready(p, lambda: (tls_ready(port, tls) if tls else tcp_ready(port))
                                     and log_contains(p.log_path, f"port {port}"))
                info = {"port": port, "pids": [p.pid]}
            elif server == "pushpin":
                port, pub = free_port(), free_port()
                # IPC socket paths must fit in 107 bytes, so the Pushpin run dir is short and in /tmp
                # (removed at the end); its services log to our log file (--merge-output).
                rundir = os.path.join("/tmp", f"gwbench-pp-{os.getpid()}-{self.seq + 1}")
                self.tmpdirs.append(rundir)
                env = {"PUSHPIN_BIN": self.refs["pushpin"], "PUSHPIN_LOG_LEVEL": "1"}
                p = Proc(server, [os.path.join(ROOT, "bench", "pushpin", "run-pushpin.sh"), port,
                                  self.backend_port, rundir, pub],
                         env_extra=env, log_path=self.next_log(f"{tag}-{server}"))
                ok = self.wait_ready(p, lambda: http_status(port, "/ws")[0] is not None and tcp_ready(pub),
                                     timeout=30)
                if ok:
                    time.sleep(0.5)  # let every Pushpin service finish connecting its ZeroMQ sockets
                    deadline = time.monotonic() + 5
                    while len(descendants(p.pid)) < 4 and time.monotonic() < deadline:
                        time.sleep(0.1)
                info = {"port": port, "publish_port": pub, "rundir": rundir}
            else:
                raise BenchError(f"unknown server {server}")
            if ok:
                info["pids"] = p.remember_tree()
                info["command"] = p.command
                return p, info
            last = log_tail(p.log_path, 6)
            p.stop()
            if "EADDRINUSE" in last or "in use" in last.lower():
                log(f"{server}: port collision, retrying ({attempt + 1}/3)")
                continue
            break
        raise BenchError(f"{server} did not become ready; log tail:\n{last}")

    # ---- clients

    def run_client(self, argv, timeout, server_pids, ready_hook=None, name="client", during=None,
                   extra_groups=None, warmup_not_before=0.0):
        """Run a load generator; sample server (and backend) CPU meanwhile.

        Returns a dict: command, exit_code, timed_out, output, result (its JSON line), window
        (monotonic start/end of the measured window), cpu samples, and whatever ready_hook adds.
        during(proc), if given, runs right after the client is spawned (while it runs) and its dict
        is added too; extra_groups ({name: [pids]}) are sampled like the server, as cpu[name + "_s"].
        warmup_not_before: s after spawn before which the warm-up cannot start (S7 holds its publisher's
        handshake that long, and wsload waits for the publisher before it warms up).
        """
        groups = {"server": server_pids}
        if self.backend:
            groups["backend"] = [self.backend.pid] + ([self.backend2.pid] if self.backend2 else [])
        groups.update(extra_groups or {})
        path = self.next_log(name)
        p = Proc(name, argv, log_path=None, stdout_pipe=True)
        groups["client"] = [p.pid]
        sampler = Sampler(groups).start()
        lines = []
        ready = threading.Event()
        ready_line = []

        def reader():
            with open(path, "wb") as f:
                f.write(("$ " + p.command + "\n").encode())
                for raw in p.popen.stdout:
                    f.write(raw)
                    f.flush()
                    line = raw.decode("utf-8", "replace").rstrip("\n")
                    lines.append(line)
                    if line.startswith("READY ") and not ready.is_set():
                        ready_line.append((time.monotonic(), line))
                        ready.set()

        rt = threading.Thread(target=reader, daemon=True)
        rt.start()
        extra = {}
        timed_out = False
        try:
            if ready_hook:
                if ready.wait(timeout=timeout):
                    extra = ready_hook(ready_line[0]) or {}
            elif during:
                extra = during(p) or {}
            try:
                p.popen.wait(timeout=max(1.0, timeout - (time.monotonic() - p.t_spawn)))
            except subprocess.TimeoutExpired:
                timed_out = True
                log(f"client timed out after {timeout:.0f} s: {p.command}")
        finally:
            p.stop(grace=3)
            rt.join(timeout=5)
            sampler.stop()
        out = "\n".join(lines)
        result = None
        for line in reversed(lines):
            if line.startswith('{"tool"'):
                try:
                    result = json.loads(line)
                except ValueError:
                    pass
                break
        window = None
        if result:
            m = re.search(r"connect phase ([0-9.]+)s", out)
            connect = result.get("connect_phase_s", float(m.group(1)) if m else 0.0)
            start = p.t_spawn + max(connect, warmup_not_before) + result.get("warmup_s", 0.0)
            window = (start, start + result.get("duration_s", 0.0))
        rec = {"command": p.command, "exit_code": p.popen.returncode, "timed_out": timed_out,
               "result": result, "window": window, "log": os.path.relpath(path, self.run_dir),
               "output_tail": "\n".join(lines[-12:])}
        if window:
            cpu = {}
            for g, samples in sampler.samples.items():
                a, b = interpolate(samples, window[0]), interpolate(samples, window[1])
                if a is not None and b is not None:
                    cpu[g + "_s"] = (b - a) / CLK_TCK
            cpu["window_s"] = window[1] - window[0]
            rec["cpu"] = cpu
        rec.update(extra)
        return rec

    def client_timeout(self, warmup, duration, connect=15.0, grace=0.0):
        if self.args.run_timeout:
            return self.args.run_timeout
        return connect + warmup + duration + grace + 2.0 + 30.0

    def wsload_rtt(self, url, conns, depth, rate=0):
        a = self.args
        argv = [self.wsload, "rtt", "-u", url, "-c", conns, "-t", a.client_threads, "-p", depth,
                "-w", a.warmup, "-d", a.duration, "-m", PAYLOAD, "--json"]
        if rate:
            argv += ["-r", rate]
        return argv

    def gbench_rtt(self, url, conns, depth):
        a = self.args
        return [self.gbench, "rtt", "-u", url, "-c", conns, "-t", a.client_threads, "-p", depth,
                "-w", a.warmup, "-d", a.duration, "-m", PAYLOAD, "--io-engine", a.bench_engine, "--json"]

    def gbench_open_loop(self, url, conns, rate, connect_rate=0):
        """gateway-bench rtt in open loop: `rate` msg/s over all connections on a fixed schedule."""
        a = self.args
        argv = [self.gbench, "rtt", "-u", url, "-c", conns, "-t", a.client_threads, "--rate", f"{rate:.1f}",
                "--grace", OPEN_LOOP_GRACE, "-w", a.warmup, "-d", a.duration, "-m", PAYLOAD,
                "--io-engine", a.bench_engine, "--json"]
        if connect_rate:
            argv += ["-r", connect_rate]
        return argv

    def record(self, rec):
        rec["load_avg"] = os.getloadavg()
        self.records.append(rec)
        r = rec.get("result") or {}
        bits = []
        for k in ("msgs_per_s", "handshakes_per_s", "deliveries_per_s"):
            if k in r:
                bits.append(f"{k}={r[k]:.0f}")
        if "missing" in r:
            bits.append(f"missing={r['missing']}")
        if r.get("ttl_us"):
            bits.append(f"ttld_p99={r['ttl_us']['p99'] / 1000:.1f} ms")
        if rec.get("cpu", {}).get("server_s") is not None and r.get("received"):
            bits.append(f"cpu/delivery={rec['cpu']['server_s'] / r['received'] * 1e6:.3f} us")
        if "per_conn_bytes" in rec:
            bits.append(f"rss/conn={rec['per_conn_bytes']:.0f} B")
        if rec.get("cpu", {}).get("server_s") is not None and r.get("handshakes"):
            bits.append(f"cpu/handshake={rec['cpu']['server_s'] / r['handshakes'] * 1e6:.1f} us")
        if rec.get("cpu", {}).get("server_s") is not None and r.get("measured"):
            bits.append(f"cpu/msg={rec['cpu']['server_s'] / r['measured'] * 1e6:.2f} us")
        if rec.get("allocs"):
            bits.append(f"allocs/msg={rec['allocs'].get('per_msg', float('nan')):.3f}")
        if r.get("open_loop"):
            lat = r.get("latency_us") or {}
            bits.append(f"rate={r.get('rate_achieved', 0):.0f}/{r.get('rate', 0):.0f} p99={lat.get('p99', 0) / 1000:.2f} ms "
                        f"p99.9={lat.get('p999', 0) / 1000:.2f} ms lost={r.get('lost')} late={r.get('late_sends')} "
                        f"held={r.get('held')}")
        if r.get("errors"):
            bits.append(f"errors={r['errors']}")
        if rec.get("error"):
            bits.append("ERROR: " + rec["error"].splitlines()[0])
        log(f"  {rec['scenario']} {rec.get('case', '')} {rec['server']} [{rec['client']}] run {rec['run']}: " + " ".join(bits))

    def servers_for(self, scenario):
        gws = [f"gateway-{e}" for e in self.args.engines]
        if (scenario == "S8" and not self.tls_config) or (scenario == "S9" and not self.deflate_config):
            gws = []
        if scenario == "S1host":
            return gws  # the reference is the gateway's own IP S1, in the same start
        ref = REF_OF[scenario]
        return gws + ([ref] if self.refs.get(ref) else [])

    def run_servers(self, scenario, body):
        """Runs body(server, run) for every server and run, rotating the server order per run."""
        servers = self.servers_for(scenario)
        if not servers:
            self.note(f"{scenario} skipped: neither the gateway nor its reference can run it (see the notes above)")
            return
        for run in range(1, self.args.runs + 1):
            k = (run - 1) % len(servers)
            for server in servers[k:] + servers[:k]:
                try:
                    body(server, run)
                except BenchError as e:
                    rec = {"scenario": scenario, "server": server, "client": "-", "run": run, "error": str(e)}
                    self.record(rec)

    # ---- scenarios

    @staticmethod
    def rtt_url(server, port, path):
        """The round-trip URL of each server: Pushpin's /ws, uWS's /, the gateway's module `path`."""
        if server == "pushpin":
            return f"ws://127.0.0.1:{port}/ws"
        if server.startswith("uws"):
            return f"ws://127.0.0.1:{port}/"
        return f"ws://127.0.0.1:{port}{path}"

    def rtt_block(self, scenario, server, run, path, alloc=False):
        tag = f"{scenario}-r{run}" + ("-alloc" if alloc else "")
        alloc_file = os.path.join(self.logs, f"{self.seq + 1:03d}-{tag}-{server}.allocs") if alloc else None
        p, info = self.start_server(server, tag, preload_file=alloc_file)
        try:
            port = info["port"]
            url = self.rtt_url(server, port, path)
            cases = []
            for depth in (1, 8):
                conns = 100
                rate = 0
                if server == "pushpin":
                    rate = 500
                    if depth == 8:
                        conns = self.args.pushpin_d8_connections
                cases.append(("wsload", f"d{depth}", conns, depth, self.wsload_rtt(url, conns, depth, rate), ""))
            if server.startswith("gateway-") and not alloc:
                for depth in (1, 8):
                    cases.append(("gateway-bench", f"d{depth}", 100, depth, self.gbench_rtt(url, 100, depth), ""))
            if scenario == "S1" and server.startswith("gateway-") and not alloc and self.s1_upstream():
                # The same round trip through the two-backend upstream group, in the same server start.
                up = f"ws://127.0.0.1:{port}{S1_UPSTREAM_PATH}"
                for depth in (1, 8):
                    cases.append(("wsload", f"d{depth}", 100, depth, self.wsload_rtt(up, 100, depth), S1_UPSTREAM_VARIANT))
            for client, case, conns, depth, argv, variant in cases:
                rec = self.run_client(argv, self.client_timeout(self.args.warmup, self.args.duration),
                                      info["pids"], name=f"{tag}-{server}-{client}-{case}")
                rec.update({"scenario": scenario, "case": case, "server": server, "client": client,
                            "run": run, "connections": conns, "pipeline": depth,
                            "server_command": info["command"], "variant": "malloc_count" if alloc else variant})
                if alloc and rec.get("window") and rec.get("result"):
                    time.sleep(0.5)  # one more reporter line after the window
                    samples = read_alloc_file(alloc_file)
                    w0, w1 = rec["window"]
                    inner = [x for x in samples if w0 <= x[0] <= w1]
                    if samples and samples[0][0] <= w0 and samples[-1][0] >= w1 and len(inner) >= 2 \
                            and inner[-1][0] - inner[0][0] >= 0.5 * (w1 - w0):
                        # Counter lines inside the window only: interpolating across the window's edges
                        # would smear the connection close burst (right after the window) into it. The
                        # messages of that sub-window are estimated from the window's constant rate.
                        a, b = inner[0], inner[-1]
                        d = [b[c] - a[c] for c in (1, 2, 3, 4)]
                        n = (rec["result"].get("measured") or 0) * (b[0] - a[0]) / (w1 - w0)
                        rec["allocs"] = {"allocs": d[0], "frees": d[1], "curl_allocs": d[2], "reallocs": d[3],
                                         "messages": n,
                                         "per_msg": d[0] / n if n else None,
                                         "frees_per_msg": d[1] / n if n else None,
                                         "curl_per_msg": d[2] / n if n else None,
                                         "live_growth_per_msg": (d[0] - d[1] - d[3]) / n if n else None,
                                         "sub_window": [a[0], b[0]],
                                         "file": os.path.relpath(alloc_file, self.run_dir)}
                    else:
                        rec["error"] = f"malloc_count file {alloc_file} does not cover the window"
                self.record(rec)
        finally:
            p.stop()

    def scenario_rtt(self, scenario):
        path = "/backend" if scenario == "S1" else "/echo"

        def body(server, run):
            self.rtt_block(scenario, server, run, path)
            if server.startswith("gateway-") and not self.args.no_alloc:
                self.rtt_block(scenario, server, run, path, alloc=True)
        self.run_servers(scenario, body)

    def open_loop_servers(self, scenario):
        """The servers of S1/S2's open-loop phase: the gateway engines of --open-loop-engine that ran
        (of --engines), and the reference (Pushpin for S1 unless --no-open-loop-pushpin)."""
        a = self.args
        wanted = ENGINES if a.open_loop_engine == "both" else (a.open_loop_engine,)
        gws = [f"gateway-{e}" for e in wanted if e in a.engines]
        if not gws:
            self.note(f"{scenario} open loop: --open-loop-engine {a.open_loop_engine} is not among --engines "
                      f"{','.join(a.engines)}: no gateway open-loop runs")
        ref = REF_OF[scenario]
        if scenario == "S1" and a.no_open_loop_pushpin:
            return gws
        return gws + ([ref] if self.refs.get(ref) else [])

    def closed_loop_max(self, scenario, server):
        """A server's maximum for the open loop: the median wsload msg/s of its closed-loop depth-1 runs
        (100 connections), the neutral client and the same connection count as the open loop."""
        return med([m_rate(r) for r in self.records
                    if r["scenario"] == scenario and r["server"] == server and r.get("client") == "wsload"
                    and r.get("case") == "d1" and r.get("variant", "") == "" and ok_run(r)])

    def scenario_open_loop(self, scenario):
        """S1/S2 open loop: per server, gateway-bench rtt --rate at each --open-loop-levels percentage of its
        closed-loop maximum, all levels in one server start per run (level order and server order rotated
        per run). Latency runs from each message's scheduled send time (see scripts/bench/README.md)."""
        a = self.args
        path = "/backend" if scenario == "S1" else "/echo"
        maxima = {}
        for server in self.open_loop_servers(scenario):
            m = self.closed_loop_max(scenario, server)
            if m:
                maxima[server] = m
            else:
                self.note(f"{scenario} open loop: no successful closed-loop depth-1 run of {LABEL[server]}: skipped")
        servers = list(maxima)
        levels = a.open_loop_levels
        for run in range(1, a.runs + 1):
            k = (run - 1) % max(1, len(servers))
            for server in servers[k:] + servers[:k]:
                tag = f"{scenario}-r{run}-ol"
                try:
                    p, info = self.start_server(server, tag)
                except BenchError as e:
                    self.record({"scenario": scenario, "server": server, "client": "gateway-bench", "run": run,
                                 "variant": OPEN_LOOP_VARIANT, "error": str(e)})
                    continue
                try:
                    url = self.rtt_url(server, info["port"], path)
                    j = (run - 1) % len(levels)
                    for level in levels[j:] + levels[:j]:
                        rate = maxima[server] * level / 100
                        argv = self.gbench_open_loop(url, OPEN_LOOP_CONNECTIONS, rate,
                                                     connect_rate=500 if server == "pushpin" else 0)
                        rec = self.run_client(argv, self.client_timeout(a.warmup, a.duration, grace=OPEN_LOOP_GRACE),
                                              info["pids"], name=f"{tag}-{server}-gateway-bench-ol{level}")
                        rec.update({"scenario": scenario, "case": f"ol{level}", "server": server,
                                    "client": "gateway-bench", "run": run, "connections": OPEN_LOOP_CONNECTIONS,
                                    "variant": OPEN_LOOP_VARIANT, "server_command": info["command"],
                                    "open_loop": {"level": level, "closed_loop_max": maxima[server], "rate": rate}})
                        self.record(rec)
                finally:
                    p.stop()

    def start_h2c_backend(self):
        """S1h2c's backend: nghttpd with `--no-tls` (h2c, prior knowledge accepted), one worker like the C
        backend. `POST /echo` is answered with the file `echo` of its document root: 64 bytes, as long as
        S1's message, so the reply is the same size as the C backend's echo. (`--echo-upload` would echo
        the body, but it spools every body to a temporary file: ~85 µs of nghttpd CPU per request, which
        made nghttpd the bottleneck at ~10,000 requests/s.)"""
        root = os.path.join(self.run_dir, "nghttpd-root")
        os.makedirs(root, exist_ok=True)
        with open(os.path.join(root, "echo"), "w") as f:
            f.write("x" * 64)
        for attempt in range(3):
            port = free_port()
            p = Proc("nghttpd", [self.nghttpd, "--no-tls", "-d", root, "-a", "127.0.0.1", port],
                     log_path=self.next_log("nghttpd"))
            if self.wait_ready(p, lambda: tcp_ready(port)):
                log(f"nghttpd on 127.0.0.1:{port} (pid {p.pid})")
                return p, port
            p.stop()
            log(f"nghttpd did not start on port {port} (attempt {attempt + 1}): {log_tail(p.log_path, 3)}")
        raise BenchError("nghttpd did not start; see logs/")

    def scenario_s1h2c(self):
        """S1 through the native HTTP/1.1 client and through an h2c route, in the same gateway start,
        and through libcurl's HTTP/1.1 in a second start (`io.backendClient: curl`); the order of the
        starts and of the cases alternates per run. The backends' CPU is sampled too, and the gateway's
        connections to each backend are counted in the middle of the window."""
        if not self.nghttpd:
            return
        a = self.args
        ngh, self.h2c_port = self.start_h2c_backend()
        servers = [f"gateway-{e}" for e in a.engines]
        try:
            for run in range(1, a.runs + 1):
                k = (run - 1) % len(servers)
                for server in servers[k:] + servers[:k]:
                    tag = f"S1h2c-r{run}"
                    starts = [(self.config, [("http1", "/backend", self.backend_port), ("h2c", S1H2C_PATH, self.h2c_port)]),
                              (self.curl_config, [("curl-http1", "/backend", self.backend_port)])]
                    if run % 2 == 0:
                        starts.reverse()
                    for config, cases in starts:
                        self.s1h2c_start(server, run, tag, config, cases, ngh)
        finally:
            ngh.stop()

    def s1h2c_start(self, server, run, tag, config, cases, ngh):
        """One gateway start of S1h2c and its cases (order alternating per run)."""
        a = self.args
        try:
            p, info = self.start_server(server, tag, config=config)
        except BenchError as e:
            self.record({"scenario": "S1h2c", "server": server, "client": "-", "run": run, "error": str(e)})
            return
        try:
            if run % 2 == 0:
                cases = list(reversed(cases))
            for case, path, bport in cases:
                gw_pid = p.pid

                def count(proc, bport=bport):
                    time.sleep(a.warmup + a.duration / 2 + 0.3)
                    return {"backend_connections": peer_connections(gw_pid, bport)}
                argv = self.wsload_rtt(f"ws://127.0.0.1:{info['port']}{path}", 100, 1)
                rec = self.run_client(argv, self.client_timeout(a.warmup, a.duration), info["pids"],
                                      name=f"{tag}-{server}-{case}", during=count,
                                      extra_groups={"h2c_backend": [ngh.pid]})
                rec.update({"scenario": "S1h2c", "case": case, "server": server, "client": "wsload",
                            "run": run, "connections": 100, "pipeline": 1,
                            "server_command": info["command"]})
                self.record(rec)
        finally:
            p.stop()

    def scenario_s1host(self):
        """S1host, not in the default set: S1 (wsload rtt, 100 connections, depth 1 and 8) against the
        module that names the backend by IP (`/backend`) and the one that names it by host
        (`/backendhost`, resolved from the run's hosts file). Each variant gets a fresh gateway start
        (the first variant's idle keep-alive connections, up to 256 per loop, must not weigh on the
        second), the two back to back, order rotated per run. After each client run the admin API's
        `gateway_backend_client_calls_total{client="curl"}` must not have grown: the calls went through
        the gateway's own client, not libcurl."""
        a = self.args

        def curl_calls(admin):
            status, data = admin.request("GET", "/metrics")
            m = re.search(rb'gateway_backend_client_calls_total\{client="curl"\} (\d+)', data) if status == 200 else None
            return int(m.group(1)) if m else None

        def body(server, run):
            k = (run - 1) % len(S1HOST_VARIANTS)
            for variant in S1HOST_VARIANTS[k:] + S1HOST_VARIANTS[:k]:
                variant_run(server, run, variant)

        def variant_run(server, run, variant):
            p, info = self.start_server(server, f"S1host-r{run}-{variant}")
            admin = Admin(info["admin_port"])
            try:
                port = info["port"]
                path = S1HOST_PATH if variant == "host" else "/backend"
                for depth in (1, 8):
                    argv = self.wsload_rtt(f"ws://127.0.0.1:{port}{path}", 100, depth)
                    before = curl_calls(admin)
                    rec = self.run_client(argv, self.client_timeout(a.warmup, a.duration), info["pids"],
                                          name=f"S1host-r{run}-{server}-{variant}-d{depth}")
                    after = curl_calls(admin)
                    rec.update({"scenario": "S1host", "case": f"{variant}-d{depth}", "server": server,
                                "client": "wsload", "run": run, "connections": 100, "pipeline": depth,
                                "named_by": variant, "server_command": info["command"],
                                "curl_calls": None if before is None or after is None else after - before})
                    if rec["curl_calls"] is None:
                        rec["error"] = "no gateway_backend_client_calls_total in /metrics (a gateway without io.dns?)"
                    elif rec["curl_calls"]:
                        rec["error"] = f"{rec['curl_calls']} backend calls went through libcurl during the run"
                    self.record(rec)
            finally:
                admin.close()
                p.stop()
        self.run_servers("S1host", body)

    def scenario_fanout(self):
        a = self.args

        def body(server, run):
            p, info = self.start_server(server, f"S3-r{run}")
            try:
                port = info["port"]
                if server.startswith("gateway-"):
                    url = f"ws://127.0.0.1:{port}/fanout"
                else:
                    url = f"ws://127.0.0.1:{port}/"
                argv = [self.wsload, "fanout", "-u", url, "-c", a.s3_subscribers, "-t", a.client_threads,
                        "-r", a.s3_connect_rate, "--rate", a.s3_rate, "-w", a.s3_warmup, "-d", a.duration,
                        "--timeout", 30, "--json"]
                publish = "ws"
                if server.startswith("gateway-") and a.s3_publish == "admin":
                    publish = "admin"
                    argv += ["--pub-http", f"http://127.0.0.1:{info['admin_port']}/v1/publish",
                             "--pub-header", f"Authorization: Bearer {ADMIN_TOKEN}",
                             "--pub-body", '{"to":{"all":true},"cmd":"bench","data":"' + FAN_PAYLOAD + '"}']
                else:
                    argv += ["--pub-url", url, "--pub-msg", FAN_PAYLOAD]
                rec = self.run_client(argv, self.client_timeout(a.s3_warmup, a.duration, connect=60, grace=2),
                                      info["pids"], name=f"S3-r{run}-{server}-wsload")
                rec.update({"scenario": "S3", "case": "fanout", "server": server, "client": "wsload", "run": run,
                            "connections": a.s3_subscribers, "publish": publish,
                            "server_command": info["command"]})
                self.record(rec)
            finally:
                p.stop()
        self.run_servers("S3", body)

    def idle_rss_run(self, scenario, server, run, p, info, warm_argv, hold_argv, connections, idle, client):
        """RSS per idle connection: warm the server up with warm_argv (the same for every server), take
        VmRSS, open the connections with hold_argv (a client that prints READY <n> once they are up),
        wait idle s and take VmRSS again; records (after - before) / connected."""
        subprocess.run([str(x) for x in warm_argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=30, check=False)
        time.sleep(1.0)
        before = rss_kb(p.pid)

        def on_ready(ready):
            t_ready, line = ready
            time.sleep(idle)
            after = rss_kb(p.pid)
            return {"rss_before_kb": before, "rss_after_kb": after, "ready_line": line,
                    "idle_s": time.monotonic() - t_ready}
        rec = self.run_client(hold_argv, self.client_timeout(0, idle + 3, connect=90), info["pids"],
                              ready_hook=on_ready, name=f"{scenario}-r{run}-{server}-{client}")
        rec.update({"scenario": scenario, "case": "hold", "server": server, "client": client, "run": run,
                    "connections": connections, "server_command": info["command"]})
        r = rec.get("result") or {}
        n = r.get("conn_ok") or 0
        if rec.get("rss_after_kb") and rec.get("rss_before_kb") and n:
            rec["connected"] = n
            rec["per_conn_bytes"] = (rec["rss_after_kb"]["VmRSS"] - rec["rss_before_kb"]["VmRSS"]) * 1024 / n
        elif not rec.get("rss_after_kb"):
            rec["error"] = f"no READY line from {client} hold (or server gone)"
        self.record(rec)

    def scenario_memory(self):
        a = self.args

        def body(server, run):
            p, info = self.start_server(server, f"S4-r{run}")
            try:
                port = info["port"]
                url = f"ws://127.0.0.1:{port}/echo" if server.startswith("gateway-") else f"ws://127.0.0.1:{port}/"
                # Warm-up, the same for every server: 1 s of handshakes, at most 4 connections open at
                # once. It makes resident what every server has whatever its connection count (the
                # io_uring engine's provided receive buffers: a page counts in RSS only once a recv
                # wrote to it, 2 MiB over 2 loops), while keeping hardly any per-connection memory
                # that the measured connections could reuse.
                warm = [self.gbench, "handshakes", "-u", url, "-c", 4, "-t", 1, "-w", 0, "-d", 1.0,
                        "--io-engine", a.bench_engine, "--json"]
                hold = [self.wsload, "hold", "-u", url, "-c", a.s4_connections, "-t", a.client_threads,
                        "-r", a.s4_connect_rate, "-d", a.s4_idle + 3, "--timeout", 30, "--json"]
                self.idle_rss_run("S4", server, run, p, info, warm, hold, a.s4_connections, a.s4_idle, "wsload")
            finally:
                p.stop()
        self.run_servers("S4", body)

    def scenario_handshakes(self):
        """S5. The gateway runs every --s5-auth variant against one server start (the order rotated per
        run); the uWS reference only has the plain one. Before a jwt/hook run, one upgrade with the
        variant's URL must get 101, and for jwt one without the token 401: a run against a module that
        does not check anything would measure nothing."""
        a = self.args
        token = s5_token()

        def body(server, run):
            p, info = self.start_server(server, f"S5-r{run}")
            try:
                port = info["port"]
                variants = list(a.s5_auth) if server.startswith("gateway-") else ["none"]
                k = (run - 1) % len(variants)
                for auth in variants[k:] + variants[:k]:
                    case = S5_CASE[auth]
                    if server.startswith("gateway-"):
                        target = S5_PATH[auth] + (f"?token={token}" if auth == "jwt" else "")
                    else:
                        target = "/"
                    url = f"ws://127.0.0.1:{port}{target}"
                    argv = [self.gbench, "handshakes", "-u", url, "-c", a.s5_concurrency, "-t", a.client_threads,
                            "-w", a.warmup, "-d", a.duration, "--io-engine", a.bench_engine, "--json"]
                    base = {"scenario": "S5", "case": case, "server": server, "client": "gateway-bench",
                            "run": run, "connections": a.s5_concurrency, "auth": auth,
                            "server_command": info["command"]}
                    if auth != "none":
                        got = ws_upgrade_status(port, target)
                        bad = ws_upgrade_status(port, S5_PATH[auth]) if auth == "jwt" else 401
                        if got != 101 or bad != 401:
                            self.record(dict(base, command=shlex.join(str(x) for x in argv),
                                             error=f"S5 {auth} pre-check: upgrade of {target[:40]}… got {got} "
                                                   f"(want 101), without a token {bad} (want 401)"))
                            continue
                    rec = self.run_client(argv, self.client_timeout(a.warmup, a.duration), info["pids"],
                                          name=f"S5-r{run}-{server}-{case}-gateway-bench")
                    rec.update(base)
                    self.record(rec)
            finally:
                p.stop()
        self.run_servers("S5", body)

    # ---- S8 / S9 (issue 10): TLS and permessage-deflate, against uWS built with OpenSSL / its shared compressor

    def scenario_tls(self):
        """S8, not in the default set. The gateway's TLS listener (gateway-tls.json: the bench config plus
        top-level `tls` with S8's certificate; module /echo) against uws-echo-ssl (same certificate),
        every client over wss:// with gateway-bench (wsload has no TLS):
          d1, d8      rtt, --s8-connections at depth 1 and 8, 64-byte messages (as S2)  target ≥ 1.0 × uWS
          handshakes  TCP + TLS + WebSocket handshakes/s, -c --s8-handshake-concurrency, every
                      connection a full handshake (no resumption)                      target ≥ 1.0 × uWS
          hold        RSS per idle TLS connection (--s8-idle-connections, after --s8-idle s), as S4, in a
                      fresh server start
        Skipped with a note while gateway-bench has no TLS client (GBENCH_TLS_MARKER); the gateway side
        alone is skipped when check-config rejects `tls`."""
        a = self.args
        if not self.gbench_caps()["tls"]:
            self.note("S8 skipped: this gateway-bench has no wss:// client yet (and wsload has no TLS)")
            return
        # gateway-bench does not check certificates (same cost for every server) and makes a full
        # handshake on every connection.
        tls_args = []

        def body(server, run):
            gw = server.startswith("gateway-")
            config = self.tls_config if gw else None
            url = "wss://127.0.0.1:{port}" + ("/echo" if gw else "/")
            p, info = self.start_server(server, f"S8-r{run}", config=config)
            try:
                u = url.format(port=info["port"])
                cases = [(f"d{d}", a.s8_connections, self.gbench_rtt(u, a.s8_connections, d) + tls_args)
                         for d in (1, 8)]
                cases.append(("handshakes", a.s8_handshake_concurrency,
                              [self.gbench, "handshakes", "-u", u, "-c", a.s8_handshake_concurrency,
                               "-t", a.client_threads, "-w", a.warmup, "-d", a.duration,
                               "--io-engine", a.bench_engine, "--json"] + tls_args))
                for case, conns, argv in cases:
                    rec = self.run_client(argv, self.client_timeout(a.warmup, a.duration), info["pids"],
                                          name=f"S8-r{run}-{server}-gateway-bench-{case}")
                    rec.update({"scenario": "S8", "case": case, "server": server, "client": "gateway-bench",
                                "run": run, "connections": conns, "server_command": info["command"]})
                    self.record(rec)
            finally:
                p.stop()
            p, info = self.start_server(server, f"S8-r{run}-hold", config=config)
            try:
                u = url.format(port=info["port"])
                warm = [self.gbench, "handshakes", "-u", u, "-c", 4, "-t", 1, "-w", 0, "-d", 1.0,
                        "--io-engine", a.bench_engine, "--json"] + tls_args
                hold = [self.gbench, "hold", "-u", u, "-c", a.s8_idle_connections, "-t", a.client_threads,
                        "-r", a.s8_connect_rate, "-d", a.s8_idle + 3, "--timeout", 30,
                        "--io-engine", a.bench_engine, "--json"] + tls_args
                self.idle_rss_run("S8", server, run, p, info, warm, hold, a.s8_idle_connections, a.s8_idle,
                                  "gateway-bench")
            finally:
                p.stop()
        self.run_servers("S8", body)

    def scenario_deflate(self):
        """S9, not in the default set. Fan-out of a --s9-message-bytes JSON message (s9_payload: a TS marker
        in chatty JSON) to --s9-subscribers at --s9-rate publishes/s, every subscriber and the publisher
        offering permessage-deflate: the gateway (gateway-deflate.json, module /s9fanout: deliver all,
        compression enabled, contextTakeover --s9-context-takeover) against uws-broadcast-deflate (shared
        compressor, compressed once per publish; --s9-uws-publish each: per subscriber). Reports
        deliveries, time to last delivery, gateway CPU per delivery, and bytes on the wire per delivery:
        the subscribers' received bytes (frame headers + compressed payload) per delivery, from
        gateway-bench's JSON (`bytes_in` with its deflate support; until then "–"), next to the
        uncompressed size. Skipped with a note while gateway-bench has no permessage-deflate
        (GBENCH_DEFLATE_MARKER)."""
        a = self.args
        if not self.gbench_caps()["deflate"]:
            self.note("S9 skipped: this gateway-bench cannot negotiate permessage-deflate yet")
            return
        payload = s9_payload(a.s9_message_bytes)

        def body(server, run):
            gw = server.startswith("gateway-")
            p, info = self.start_server(server, f"S9-r{run}", config=self.deflate_config if gw else None)
            try:
                url = f"ws://127.0.0.1:{info['port']}" + (S9_PATH if gw else "/")
                argv = [self.gbench, "fanout", "-u", url, "-c", a.s9_subscribers, "-t", a.client_threads,
                        "-r", a.s9_connect_rate, "--rate", a.s9_rate, "-w", a.s9_warmup, "-d", a.duration,
                        "--timeout", 30, "--pub-url", url, "--pub-msg", payload, GBENCH_DEFLATE_MARKER,
                        "--io-engine", a.bench_engine, "--json"]
                rec = self.run_client(argv, self.client_timeout(a.s9_warmup, a.duration, connect=60, grace=2),
                                      info["pids"], name=f"S9-r{run}-{server}-gateway-bench")
                rec.update({"scenario": "S9", "case": "fanout", "server": server, "client": "gateway-bench",
                            "run": run, "connections": a.s9_subscribers, "message_bytes": a.s9_message_bytes,
                            "server_command": info["command"]})
                self.record(rec)
            finally:
                p.stop()
        self.run_servers("S9", body)

    # ---- S7: cross-node fan-out

    def start_redis(self, tag):
        """redis-server on a free loopback port, no persistence; returns (Proc, port)."""
        last = ""
        for attempt in range(3):
            port = free_port()
            rdir = os.path.join(self.run_dir, "redis")
            os.makedirs(rdir, exist_ok=True)

            def up():
                try:
                    return redis_command(port, "PING", timeout=0.5) == "PONG"
                except (OSError, BenchError):
                    return False
            p = Proc("redis", [self.redis_bin, "--port", port, "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", rdir],
                     log_path=self.next_log(f"{tag}-redis"))
            if self.wait_ready(p, up, timeout=10):
                return p, port
            last = log_tail(p.log_path, 4)
            p.stop()
            if "in use" not in last.lower():
                break
        raise BenchError(f"redis-server did not start; log tail:\n{last}")

    def start_cluster(self, engine, tag, redis_port, count):
        """count gateway nodes n1..n<count> on one Redis. They share one public port (each binds its
        listeners with SO_REUSEPORT, so the kernel spreads the subscribers' connections over the
        nodes' loops) and each has its own admin port. Returns [(Proc, info)], node 1 first."""
        last = ""
        for attempt in range(3):
            gport = free_port()
            nodes = []
            try:
                for i in range(1, count + 1):
                    aport = free_port()
                    env = {"BENCH_GATEWAY_PORT": str(gport), "BENCH_ADMIN_PORT": str(aport),
                           "BENCH_BACKEND_PORT": str(self.backend_port), "BENCH_REDIS_PORT": str(redis_port),
                           "BENCH_NODE": f"n{i}"}
                    argv = [self.gateway, "serve", "--config", self.cluster_config, "--io-engine", engine]
                    loops = self.args.s7_node_loops or self.args.gateway_loops
                    if loops:
                        argv += ["--loops", loops]
                    p = Proc(f"gateway-n{i}", argv, env_extra=env, log_path=self.next_log(f"{tag}-gateway-n{i}"))
                    nodes.append((p, {"port": gport, "admin_port": aport, "node": f"n{i}"}))
                    ok = self.wait_ready(p, lambda: log_contains(p.log_path, f"listening on 127.0.0.1:{gport}")
                                         and log_contains(p.log_path, "up (subscriber)")
                                         and log_contains(p.log_path, "up (publisher)")
                                         and http_status(aport, "/healthz")[0] == 200)
                    if not ok:
                        last = log_tail(p.log_path, 6)
                        raise BenchError(f"cluster node n{i} did not become ready; log tail:\n{last}")
                    head = open(p.log_path, errors="replace").read().split("listening on", 1)[1].split("\n")[0]
                    if engine not in head:
                        raise BenchError(f"gateway node n{i} did not report engine {engine}: {head}")
                # Every node sees all of them (heartbeats go out every third of nodeTimeoutSeconds).
                admins = [Admin(info["admin_port"]) for _, info in nodes]
                deadline = time.monotonic() + 15
                while True:
                    seen = [ad.metrics().get("gateway_cluster_nodes", 0) for ad in admins]
                    if all(n == count for n in seen):
                        break
                    if time.monotonic() > deadline:
                        raise BenchError(f"cluster did not form: nodes seen per node {seen}, expected {count}")
                    time.sleep(0.2)
                for ad in admins:
                    ad.close()
                for p, info in nodes:
                    info["pids"] = p.remember_tree()
                    info["command"] = p.command
                return nodes
            except BenchError as e:
                for p, _ in reversed(nodes):
                    p.stop()
                last = str(e)
                if "EADDRINUSE" in last or "in use" in last.lower():
                    log(f"S7 cluster: port collision, retrying ({attempt + 1}/3)")
                    continue
                raise
        raise BenchError(last)

    def s7_counters(self, admins, redis_port):
        nodes = []
        for ad in admins:
            m = ad.metrics()
            nodes.append({k: m.get(f"gateway_{k}_total") for k in
                          ("cluster_published", "cluster_received", "cluster_dropped", "messages_sent",
                           "fanout_deliveries")})
        return {"t": time.monotonic(), "publish_calls": redis_publish_calls(redis_port) if redis_port else None,
                "nodes": nodes}

    def s7_join(self, proc, admins, total, join, redis_port):
        """Runs while wsload does. With join, puts every subscriber in room S7_ROOM through its own
        node's admin API (POST /v1/connections/{id}/rooms, pipelined) as they connect: wsload opens
        them at --s7-connect-rate, and this lists each node's connections over and over and joins the
        new ones, so the joins happen before the publishing starts (with 20 publishes/s to 9,000
        subscribers running, one join took 3-6 ms on this machine, against 50 µs before). Then checks the room's
        member count on each node and, in a cluster, that every node subscribed to the room's
        channel on Redis. Records when that was done: it must be before the measured window."""
        deadline = time.monotonic() + 90
        joined = [set() for _ in admins]

        def listed(i, query=""):
            """Node i's own connections: in a cluster a node's admin API lists every node's
            (presence) unless asked for one node's, which it answers alone (no Redis traffic)."""
            q = "&".join(x for x in (query, f"node=n{i + 1}" if redis_port else "") if x)
            return admins[i].json("GET", "/v1/connections" + (f"?{q}" if q else ""))["connections"]
        phases = {"list_s": 0.0, "join_s": 0.0, "rounds": 0}
        failed, first = 0, None
        while True:
            if not proc.alive():
                raise BenchError("wsload exited before all subscribers were connected")
            counts, any_new = [], False
            for i, ad in enumerate(admins):
                if not join:
                    # Single-node S3: the publisher is on /fanout too.
                    counts.append(ad.json("GET", "/v1/stats")["connections"]["websockets"] - 1)
                    continue
                t0 = time.monotonic()
                ids = [c["id"] for c in listed(i) if c.get("path") == "/fanout"]
                t1 = time.monotonic()
                new = [cid for cid in ids if cid not in joined[i]]
                for status, data in ad.pipeline_parallel("POST", [f"/v1/connections/{cid}/rooms" for cid in new],
                                                         {"join": [S7_ROOM]}) if new else []:
                    if status != 200:
                        failed += 1
                        first = first or f"node {i + 1}: HTTP {status} {data[:160]!r}"
                joined[i].update(new)
                any_new = any_new or bool(new)
                phases["list_s"] += t1 - t0
                phases["join_s"] += time.monotonic() - t1
                counts.append(len(ids))
            phases["rounds"] += 1
            if sum(counts) >= total:
                break
            if time.monotonic() > deadline:
                raise BenchError(f"only {sum(counts)} of {total} subscribers connected after 90 s")
            time.sleep(0.1)
        t_connected = time.monotonic()
        out = {"per_node_connections": counts}
        if join:
            out["joined"] = [len(listed(i, f"room={S7_ROOM}")) for i in range(len(admins))]
            out["join_failures"] = failed
            out["join_phases_s"] = {k: round(v, 3) for k, v in phases.items()}
            if sum(out["joined"]) != total or failed:
                raise BenchError(f"room {S7_ROOM} has {out['joined']} members per node (expected {total} in all), "
                                 f"{failed} join request(s) failed" + (f"; first: {first}" if first else ""))
            if redis_port:
                channel = f"{S7_PREFIX}:room:{S7_ROOM}"
                want = sum(1 for n in out["joined"] if n)
                end = time.monotonic() + 5
                while True:
                    numsub = redis_command(redis_port, "PUBSUB", "NUMSUB", channel)[1]
                    if numsub >= want or time.monotonic() > end:
                        break
                    time.sleep(0.02)
                out["numsub"] = numsub
                if numsub != want:
                    raise BenchError(f"{channel} has {numsub} subscribers on Redis, expected {want} (one per node)")
        out["t_connected"] = t_connected
        if join:
            # wsload publishes only once the publisher's handshake, held for --s7-hold-publisher s
            # from about its spawn, is through: the joins should be done by then.
            out["joined_before_publishing_s"] = proc.t_spawn + self.args.s7_hold_publisher - time.monotonic()
        out["t_joined"] = time.monotonic()
        out["join_s"] = out["t_joined"] - t_connected  # after the last subscriber was seen connected
        if join:
            # Which node the kernel gave the publisher (its handshake is held until about now).
            out["publisher_node"] = None
            end = time.monotonic() + self.args.s7_hold_publisher + 10
            while out["publisher_node"] is None and time.monotonic() < end and proc.alive():
                for i in range(len(admins)):
                    if any(c.get("path") == S7_PUB_PATH for c in listed(i)):
                        out["publisher_node"] = i + 1
                if out["publisher_node"] is None:
                    time.sleep(0.05)
            if out["publisher_node"] is None:
                raise BenchError(f"no node has the publisher's connection ({S7_PUB_PATH})")
        return out

    def scenario_cluster(self):
        a = self.args
        if not self.redis_bin:
            return
        engine = a.s7_engine
        server = f"gateway-{engine}"
        count, per = a.s7_nodes, a.s7_subscribers
        total = count * per
        legs = ["single-all", "single-room", "cluster"]
        for run in range(1, a.runs + 1):
            k = (run - 1) % len(legs)
            for case in legs[k:] + legs[:k]:
                try:
                    self.s7_leg(case, run, engine, server, count, total)
                except BenchError as e:
                    self.record({"scenario": "S7", "case": case, "server": server, "client": "-", "run": run,
                                 "error": str(e)})

    def s7_leg(self, case, run, engine, server, count, total):
        a = self.args
        tag = f"S7-r{run}-{case}"
        procs, redis_p, redis_port = [], None, None
        try:
            if case == "cluster":
                redis_p, redis_port = self.start_redis(tag)
                procs.append(redis_p)
                nodes = self.start_cluster(engine, tag, redis_port, count)
                procs.extend(p for p, _ in nodes)
                server_command = "\n".join([redis_p.command + " &"] + [p.command + " &" for p, _ in nodes])[:-2]
            else:
                p, info = self.start_server(server, tag)
                procs.append(p)
                nodes = [(p, info)]
                server_command = info["command"]
            admins = [Admin(info["admin_port"]) for _, info in nodes]
            url = f"ws://127.0.0.1:{nodes[0][1]['port']}/fanout"
            # The publisher is a WebSocket (as in S3): wsload sends on it at the rate, open loop. (An
            # admin POST /v1/publish is answered once this node's loops delivered it, and wsload's
            # HTTP publisher waits for each answer: with 9,000 recipients it fell to 5-17 publishes/s
            # here.) Single-node S3: the S3 route, `deliver: all`. Room: S7_PUB_PATH, `room:s7`. In
            # the cluster the kernel puts the publisher on one of the nodes, like a subscriber.
            pub_url = url if case == "single-all" else f"ws://127.0.0.1:{nodes[0][1]['port']}{S7_PUB_PATH}"
            argv = [self.wsload, "fanout", "-u", url, "-c", total, "-t", a.client_threads,
                    "-r", a.s7_connect_rate, "--rate", a.s7_rate, "-w", a.s7_warmup, "-d", a.duration,
                    "--timeout", 30, "--json", "--pub-url", pub_url, "--pub-msg", FAN_PAYLOAD]
            before = self.s7_counters(admins, redis_port)
            groups = {f"node{i + 1}": info["pids"] for i, (_, info) in enumerate(nodes)} if case == "cluster" else {}
            if redis_p:
                groups["redis"] = [redis_p.pid]
            rec = self.run_client(argv, self.client_timeout(a.s7_warmup + a.s7_hold_publisher, a.duration, connect=90,
                                                            grace=2),
                                  [pid for _, info in nodes for pid in info["pids"]],
                                  name=f"{tag}-{server}-wsload", extra_groups=groups,
                                  during=lambda proc: self.s7_join(proc, admins, total, case != "single-all", redis_port),
                                  warmup_not_before=a.s7_hold_publisher if case != "single-all" else 0.0)
            after = self.s7_counters(admins, redis_port)
            for ad in admins:
                ad.close()
            rec.update({"scenario": "S7", "case": case, "server": server, "client": "wsload", "run": run,
                        "connections": total, "nodes": len(nodes), "publish": "ws",
                        "server_command": server_command})
            m = None
            try:
                with open(os.path.join(self.run_dir, rec["log"]), errors="replace") as f:
                    m = re.search(r"publishes: (\d+) measured \((\d+) total", f.read())
            except OSError:
                pass
            # Over the whole client run (warm-up included): every node subscribed to the room's
            # channel while the subscribers were still connecting, before the first publish.
            d = lambda x, y, k: (y[k] - x[k]) if x.get(k) is not None and y.get(k) is not None else None
            msgs = {"publishes_total": int(m.group(2)) if m else None}
            if redis_port:
                msgs["publish_calls"] = after["publish_calls"] - before["publish_calls"]
            msgs["nodes"] = [{k: d(b, e, k) for k in ("cluster_published", "cluster_received", "cluster_dropped",
                                                      "messages_sent")}
                             for b, e in zip(before["nodes"], after["nodes"])]
            rec["cluster_msgs"] = msgs
            if rec.get("window") and rec.get("t_joined"):
                rec["join_margin_s"] = rec["window"][0] - rec["t_joined"]
                if rec["join_margin_s"] < 0:
                    rec["error"] = (f"the subscribers were all in the room only {-rec['join_margin_s']:.2f} s after "
                                    "the measured window began (raise --s7-warmup)")
            self.record(rec)
        finally:
            for p in reversed(procs):
                p.stop()


# --------------------------------------------------------------------------------------------
# analysis


def med(xs):
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return statistics.median(xs) if xs else None


def ok_run(rec):
    return rec.get("result") is not None and not rec.get("error") and not rec.get("timed_out")


class Analysis:
    def __init__(self, records, args, refs):
        self.records = records
        self.args = args
        self.refs = refs

    def select(self, scenario, server, client="wsload", case=None, variant=""):
        return [r for r in self.records if r["scenario"] == scenario and r["server"] == server
                and r.get("client") == client and (case is None or r.get("case") == case)
                and r.get("variant", "") == variant]

    def records_of(self, scenario):
        return [r for r in self.records if r["scenario"] == scenario]

    def by_run(self, recs, metric):
        out = {}
        for r in recs:
            if ok_run(r):
                v = metric(r)
                if v is not None:
                    out[r["run"]] = v
        return out

    def ratio(self, num, den):
        """Median over runs of num[run] / den[run] (same-run ratios) and the run count."""
        rs = [num[k] / den[k] for k in num if k in den and den[k]]
        return (med(rs), len(rs))


def m_rate(r):
    return r["result"].get("msgs_per_s")


def cpu_us_per(r, cpu, count):
    """µs of the process group `cpu` (server_s, client_s, ...) per unit of result field `count`."""
    n = r["result"].get(count)
    c = r.get("cpu", {}).get(cpu)
    return c / n * 1e6 if n and c is not None else None


def m_cpu_us(r):
    return cpu_us_per(r, "server_s", "measured")


def m_client_cpu_us(r):
    return cpu_us_per(r, "client_s", "measured")


def m_backend_cpu_us(r):
    return cpu_us_per(r, "backend_s", "measured")


def s3_complete(r):
    res = r["result"]
    return res.get("missing", 1) == 0 and res.get("pubs_complete") == res.get("publishes") and res.get("publishes")


def m_ttl_p99(r):
    # A run that lost deliveries has no meaningful time to *last* delivery: left out of ratios.
    return r["result"].get("ttl_us", {}).get("p99") if s3_complete(r) else None


def m_cpu_delivery(r):
    return cpu_us_per(r, "server_s", "received")


def m_redis_cpu_delivery(r):
    return cpu_us_per(r, "redis_s", "received")


def m_publish_per_pub(r):
    m = r.get("cluster_msgs") or {}
    pc, sent = m.get("publish_calls"), m.get("publishes_total")
    return pc / sent if pc is not None and sent else None


def m_taken_per_pub(r):
    """gateway_cluster_received_total of every node but the publisher's, per publish sent."""
    m = r.get("cluster_msgs") or {}
    nodes, sent, pn = m.get("nodes") or [], m.get("publishes_total"), r.get("publisher_node") or 1
    others = [x for i, x in enumerate(nodes) if i != pn - 1]
    return sum(x.get("cluster_received") or 0 for x in others) / sent if sent and nodes else None


def m_origin_published_per_pub(r):
    m = r.get("cluster_msgs") or {}
    nodes, sent, pn = m.get("nodes") or [], m.get("publishes_total"), r.get("publisher_node") or 1
    p = nodes[pn - 1].get("cluster_published") if len(nodes) >= pn else None
    return p / sent if p is not None and sent else None


def m_rss(r):
    return r.get("per_conn_bytes")


def m_hs(r):
    return r["result"].get("handshakes_per_s")


def m_hs_cpu(r):
    n = r["result"].get("handshakes")
    c = r.get("cpu", {}).get("server_s")
    return c / n * 1e6 if n and c is not None else None


def fmt(v, digits=None, unit=""):
    if v is None:
        return "–"
    if digits is None:
        if abs(v) >= 1000:
            s = f"{v:,.0f}"
        elif abs(v) >= 100:
            s = f"{v:.0f}"
        elif abs(v) >= 10:
            s = f"{v:.1f}"
        else:
            s = f"{v:.2f}"
    else:
        s = f"{v:,.{digits}f}"
    return s + unit


def fmt_ratio(rc):
    v, n = rc
    if v is None:
        return "–"
    return f"{v:.2f}×" if v < 10 else f"{v:.1f}×"


def spread(vals):
    vals = [v for v in vals if v is not None]
    if len(vals) < 2:
        return ""
    return f" ({fmt(min(vals))}–{fmt(max(vals))})"


# --------------------------------------------------------------------------------------------
# report


def errs(recs):
    """Failed runs plus the errors the clients counted."""
    e = 0
    for r in recs:
        if r.get("error") or r.get("timed_out"):
            e += 1
        elif r.get("result"):
            e += r["result"].get("errors", 0)
    return e


def table_head(*columns):
    """The header and separator rows of a Markdown table."""
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


def no_runs(A, scenario):
    """The line that stands for a table when a scenario has no runs at all (skipped: see the notes)."""
    return [] if A.records_of(scenario) else [f"*No {scenario} runs (see notes).*\n"]


def m_wire_per_delivery(r):
    """S9: bytes the subscribers received on the wire (frame headers + payload as sent, i.e. compressed)
    per delivery; needs gateway-bench's `bytes_in` (not there before its deflate support)."""
    n, b = r["result"].get("deliveries_total"), r["result"].get("bytes_in")
    return b / n if n and b is not None else None


def s8_report(A, args, engines, refs, target, chart):
    """S8's section: wss echo, TLS handshakes and RSS per idle TLS connection against uWS with OpenSSL."""
    ref = "uws-echo-ssl"
    servers = engines + ([ref] if refs.get(ref) else [])
    out = ["## S8 — TLS (wss://)\n",
           f"gateway-bench over TLS (self-signed EC P-256 certificate, or `--s8-cert`); the gateway's public listener "
           f"with `tls`, uWS: `SSLApp`. Echo: {args.s8_connections} connections, 64-byte messages; handshakes: "
           f"`-c {args.s8_handshake_concurrency}`, each a new TCP + full TLS + WebSocket handshake; idle: "
           f"{args.s8_idle_connections} connections in a fresh server start, (VmRSS after {args.s8_idle} s idle − "
           "before) / connected, as S4.\n"]
    if no_runs(A, "S8"):
        return out + no_runs(A, "S8")
    out += table_head("server", "case", "value median (min–max)", "latency p50 / p99 ms", "server CPU µs per unit",
                      "errors", "runs", "vs uWS TLS (same-run ratio)")
    cases = (("d1", "msg/s", m_rate, m_cpu_us, ">=", 1.0), ("d8", "msg/s", m_rate, m_cpu_us, ">=", 1.0),
             ("handshakes", "handshakes/s", m_hs, m_hs_cpu, ">=", 1.0), ("hold", "B RSS/conn", m_rss, None, "", None))
    for case, unit, metric, cpu, cmp, thr in cases:
        ref_v = A.by_run(A.select("S8", ref, client="gateway-bench", case=case), metric)
        group = {}
        for server in servers:
            recs = A.select("S8", server, client="gateway-bench", case=case)
            good = [r for r in recs if ok_run(r) and metric(r) is not None]
            vals = [metric(r) for r in good]
            lat = [r["result"].get("latency_us") for r in good if r["result"].get("latency_us")]
            rc = A.ratio(A.by_run(recs, metric), ref_v) if server != ref else (None, 0)
            out.append(f"| {LABEL[server]} | {case} | {fmt(med(vals))}{spread(vals)} {unit} | "
                       + (f"{fmt(med([x['p50'] / 1000 for x in lat]))} / {fmt(med([x['p99'] / 1000 for x in lat]))}" if lat else "–")
                       + f" | {fmt(med([cpu(r) for r in good])) if cpu else '–'} | {errs(recs)} | {len(good)}/{len(recs)} | "
                       f"{fmt_ratio(rc) if server != ref else '1.0 (reference)'} |")
            if server != ref:
                group[server] = rc[0]
                if thr is not None:
                    target(f"S8 {'echo ' + case if case != 'handshakes' else 'TLS handshakes/s'} ≥ {thr} × uWS TLS",
                           LABEL[server], rc[0], thr, cmp, "median of same-run ratios")
        if refs.get(ref) and case != "hold":
            chart.append((f"S8 {case}", False, group, LABEL[ref], thr))
    out.append("")
    return out


def s9_report(A, args, engines, refs, target, chart):
    """S9's section: compressed fan-out against uWS with its shared compressor."""
    ref = "uws-broadcast-deflate"
    servers = engines + ([ref] if refs.get(ref) else [])
    out = ["## S9 — fan-out with permessage-deflate\n",
           f"{args.s9_subscribers} subscribers, {args.s9_rate} publishes/s of a {args.s9_message_bytes}-byte JSON "
           "message, every connection offering permessage-deflate (gateway-bench). Gateway: module "
           f"`{S9_PATH}` (`deliver: all`, compression enabled, contextTakeover "
           f"{str(args.s9_context_takeover).lower()}); uWS: shared compressor, "
           + ("compressed once per publish (`prepareMessage` + `publishPrepared`)" if args.s9_uws_publish == "prepared"
              else "compressed per subscriber (`App::publish(..., true)`)")
           + ". Wire bytes per delivery: what the subscribers received (frame headers + compressed payload) "
           "÷ deliveries.\n"]
    if no_runs(A, "S9"):
        return out + no_runs(A, "S9")
    out += table_head("server", "received / expected", "missing", "TTLD p50 / p99 ms", "server CPU µs/delivery",
                      "wire bytes/delivery", "errors", "runs", "p99 TTLD vs uWS", "CPU/delivery vs uWS")
    ref_ttl = A.by_run(A.select("S9", ref, client="gateway-bench"), m_ttl_p99)
    ref_cpu = A.by_run(A.select("S9", ref, client="gateway-bench"), m_cpu_delivery)
    group = {}
    for server in servers:
        recs = A.select("S9", server, client="gateway-bench")
        good = [r for r in recs if ok_run(r)]
        recv = sum(r["result"]["received"] for r in good)
        exp = sum(r["result"]["expected"] for r in good)
        ttl = [(r["result"]["ttl_us"]["p50"] / 1000, r["result"]["ttl_us"]["p99"] / 1000) for r in good]
        rt = A.ratio(A.by_run(recs, m_ttl_p99), ref_ttl) if server != ref else (None, 0)
        rcpu = A.ratio(A.by_run(recs, m_cpu_delivery), ref_cpu) if server != ref else (None, 0)
        out.append(f"| {LABEL[server]} | {recv:,} / {exp:,} | {sum(r['result']['missing'] for r in good):,} | "
                   f"{fmt(med([x[0] for x in ttl]))} / {fmt(med([x[1] for x in ttl]))} | "
                   f"{fmt(med([m_cpu_delivery(r) for r in good]))} | {fmt(med([m_wire_per_delivery(r) for r in good]))} | "
                   f"{errs(recs)} | {len(good)}/{len(recs)} | "
                   f"{fmt_ratio(rt) if server != ref else '1.0 (reference)'} | {fmt_ratio(rcpu) if server != ref else '1.0'} |")
        if server != ref:
            group[server] = rt[0]
    out.append("")
    if refs.get(ref):
        chart.append(("S9 p99 TTLD", True, group, LABEL[ref], None))
    return out


def s1h2c_report(A, args, engines):
    """S1h2c's section: the same round trip over HTTP/1.1 (native client) and h2c (libcurl), same run."""
    out = [f"## S1h2c — S1 through an h2c route (`\"protocol\": \"h2c\"`, libcurl + nghttp2)\n",
           "One gateway start per run and engine carries two cases, in alternating order: `http1`, `/backend` through "
           "the native HTTP/1.1 client to the C backend's `POST /echo`, and `h2c`, `" + S1H2C_PATH + "` through libcurl's HTTP/2 "
           "(prior knowledge) to nghttpd `--no-tls` (Debian's nghttp2-server, one worker), which answers `POST /echo` "
           "with a 64-byte file (the message's size; its `--echo-upload` spools each body to a temporary file and "
           "was the bottleneck). A second start per run (`io.backendClient: curl`) gives `curl-http1`: `/backend` through "
           "libcurl's HTTP/1.1, which separates what libcurl costs from what HTTP/2 adds. wsload rtt, "
           "100 connections, depth 1, 64-byte messages. Backend connections: the gateway's established connections "
           "to that backend in the middle of the window. Backend CPU: the backend process's utime+stime per "
           "message (C backend for HTTP/1.1, nghttpd for h2c), not included in the gateway's.\n"]
    if no_runs(A, "S1h2c"):
        return out + no_runs(A, "S1h2c")
    out += table_head("server", "case", "msg/s median (min–max)", "latency p50 / p99 ms", "gateway CPU µs/msg",
                      "backend CPU µs/msg", "backend connections", "errors", "runs")
    for server in engines:
        for case, bcpu in (("http1", m_backend_cpu_us), ("curl-http1", m_backend_cpu_us),
                           ("h2c", lambda r: cpu_us_per(r, "h2c_backend_s", "measured"))):
            recs = A.select("S1h2c", server, case=case)
            good = [r for r in recs if ok_run(r)]
            rates = [m_rate(r) for r in good]
            p50 = med([r["result"]["latency_us"]["p50"] / 1000 for r in good])
            p99 = med([r["result"]["latency_us"]["p99"] / 1000 for r in good])
            conns = med([r.get("backend_connections") for r in good])
            out.append(f"| {LABEL[server]} | {case} | {fmt(med(rates))}{spread(rates)} | {fmt(p50)} / {fmt(p99)} | "
                       f"{fmt(med([m_cpu_us(r) for r in good]))} | {fmt(med([bcpu(r) for r in good]))} | "
                       f"{fmt(conns)} | {errs(recs)} | {len(good)}/{len(recs)} |")
    out.append("")
    for base, what in (("http1", "the native HTTP/1.1 client"), ("curl-http1", "libcurl's HTTP/1.1")):
        out.append(f"h2c ÷ {what}, median of same-run ratios: " + "; ".join(
            f"{LABEL[server]}: throughput {fmt_ratio(A.ratio(A.by_run(A.select('S1h2c', server, case='h2c'), m_rate), A.by_run(A.select('S1h2c', server, case=base), m_rate)))}, "
            f"gateway CPU per round trip {fmt_ratio(A.ratio(A.by_run(A.select('S1h2c', server, case='h2c'), m_cpu_us), A.by_run(A.select('S1h2c', server, case=base), m_cpu_us)))}"
            for server in engines) + "\n")
    return out


def s5_auth_table(A, args, engines, auth):
    """S5's auth variants on each engine: handshakes/s and gateway CPU per handshake, with the same-run
    ratios against the module without auth and against the hook (the variants of one run share one
    gateway start)."""
    out = ["### S5 — token auth at connect (JWT) vs handshake hook\n",
           f"Same client (`gateway-bench handshakes -c {args.s5_concurrency}`), same gateway start per run, variant "
           "order rotated per run. **none**: module `/echo`, no auth. **jwt**: module with `auth.jwt` "
           "(`HS256`, `issuer` and `audience` required), the token (sub, iss, aud, iat, nbf, exp; "
           f"{len(s5_token())} bytes) in `?token=` — checked by the gateway, no backend call. **hook**: module "
           f"with `handshake` to the C backend's `{S5_HOOK_TARGET}` (200, empty body: accepted, no first "
           "message). Gateway CPU is utime+stime of the gateway process over the measured window divided by "
           "the handshakes in it; the backend's CPU is given separately.\n"]
    out += table_head("server", "variant", "handshakes/s median (min–max)", "latency p50 / p99 ms",
                      "gateway CPU µs/handshake", "backend CPU µs/handshake", "errors", "runs", "handshakes/s vs none",
                      "vs hook", "gateway CPU vs hook")
    for server in engines:
        by = {v: A.select("S5", server, client="gateway-bench", case=S5_CASE[v]) for v in auth}
        hs = {v: A.by_run(by[v], m_hs) for v in auth}
        cpu = {v: A.by_run(by[v], m_hs_cpu) for v in auth}
        for v in auth:
            recs = by[v]
            good = [r for r in recs if ok_run(r)]
            vals = [m_hs(r) for r in good]
            vs_none = fmt_ratio(A.ratio(hs[v], hs["none"])) if "none" in auth and v != "none" else "–"
            vs_hook = fmt_ratio(A.ratio(hs[v], hs["hook"])) if "hook" in auth and v != "hook" else "–"
            cpu_hook = fmt_ratio(A.ratio(cpu[v], cpu["hook"])) if "hook" in auth and v != "hook" else "–"
            out.append(f"| {LABEL[server]} | {v} | {fmt(med(vals))}{spread(vals)} | "
                       f"{fmt(med([r['result']['latency_us']['p50'] / 1000 for r in good]))} / "
                       f"{fmt(med([r['result']['latency_us']['p99'] / 1000 for r in good]))} | "
                       f"{fmt(med([m_hs_cpu(r) for r in good]))} | "
                       f"{fmt(med([cpu_us_per(r, 'backend_s', 'handshakes') for r in good]))} | "
                       f"{errs(recs)} | {len(good)}/{len(recs)} | {vs_none} | {vs_hook} | {cpu_hook} |")
    out.append("")
    return out


def open_loop_levels(args, records):
    """The levels of the open-loop runs: --open-loop-levels, or (an older results.json) those recorded."""
    levels = getattr(args, "open_loop_levels", None)
    if levels:
        return levels
    return sorted({r["open_loop"]["level"] for r in records if r.get("open_loop")})


def open_loop_rows(A, args, scenario):
    """S1/S2's open-loop summary, one row per server and level (medians over runs); also results.json's
    `open_loop`."""
    rows = []
    servers = sorted({r["server"] for r in A.records_of(scenario) if r.get("variant") == OPEN_LOOP_VARIANT},
                     key=lambda x: (not x.startswith("gateway-"), x))
    for level in open_loop_levels(args, A.records):
        for server in servers:
            recs = A.select(scenario, server, client="gateway-bench", case=f"ol{level}", variant=OPEN_LOOP_VARIANT)
            if not recs:
                continue
            good = [r for r in recs if ok_run(r)]

            def m(f):
                return med([f(r) for r in good])
            rows.append({
                "scenario": scenario, "level": level, "server": server,
                "closed_loop_max": m(lambda r: r["open_loop"]["closed_loop_max"]),
                "rate": m(lambda r: r["result"].get("rate")),
                "achieved": m(lambda r: r["result"].get("rate_achieved")),
                "p50_ms": m(lambda r: r["result"]["latency_us"]["p50"] / 1000),
                "p99_ms": m(lambda r: r["result"]["latency_us"]["p99"] / 1000),
                "p999_ms": m(lambda r: r["result"]["latency_us"]["p999"] / 1000),
                "max_ms": m(lambda r: r["result"]["latency_us"]["max"] / 1000),
                "lost": sum(r["result"].get("lost", 0) for r in good),
                "held": sum(r["result"].get("held", 0) for r in good),
                "late_sends": sum(r["result"].get("late_sends", 0) for r in good),
                "scheduled": sum(r["result"].get("scheduled", 0) for r in good),
                "send_lag_p99_ms": m(lambda r: (r["result"].get("send_lag_us") or {}).get("p99", 0) / 1000),
                "errors": errs(recs), "runs": len(good), "runs_total": len(recs)})
    return rows


def open_loop_report(A, args, scenario):
    """The open-loop latency table of S1/S2 (nothing when there were no open-loop runs)."""
    rows = open_loop_rows(A, args, scenario)
    if not rows:
        return []
    out = [f"Open loop (`gateway-bench rtt --rate`, {OPEN_LOOP_CONNECTIONS} connections, client engine "
           f"{args.bench_engine}, `--grace {OPEN_LOOP_GRACE:g}`, default `--max-in-flight`): each server at "
           "the given percentage of its closed-loop maximum (median wsload msg/s at depth 1, 100 connections, "
           "above). Every connection sends on a fixed, staggered schedule whatever the replies do, and latency "
           "runs from each message's *scheduled* send time, so a stall of the server (or of the client) shows in "
           "the tail instead of slowing the load down. Medians over runs; lost / held / late sends are totals "
           "over the runs out of the scheduled messages. *Lost*: no reply within the grace period. *Held*: due "
           "while `--max-in-flight` replies were outstanding, sent when one came back (server backpressure). "
           "*Late sends*: free to go but sent more than 1 ms after their scheduled time, i.e. the client fell "
           "behind; many late sends (or achieved < target) mean the figures measure the client, not the server. "
           "Send lag p99 is the client's own delay from scheduled to actual send.\n"]
    out += table_head("load", "server", "closed-loop max msg/s", "target msg/s", "achieved msg/s", "p50 ms",
                      "p99 ms", "p99.9 ms", "max ms", "lost", "held", "late sends", "send lag p99 ms",
                      "errors", "runs")
    for row in rows:
        out.append(f"| {row['level']} % | {LABEL[row['server']]} | {fmt(row['closed_loop_max'])} | {fmt(row['rate'])} | "
                   f"{fmt(row['achieved'])} | {fmt(row['p50_ms'])} | {fmt(row['p99_ms'])} | {fmt(row['p999_ms'])} | "
                   f"{fmt(row['max_ms'])} | {row['lost']} | {row['held']} | {row['late_sends']} of {row['scheduled']} | "
                   f"{fmt(row['send_lag_p99_ms'])} | {row['errors']} | {row['runs']}/{row['runs_total']} |")
    out.append("")
    return out


def build_report(bench, meta):
    A = Analysis(bench.records, bench.args, bench.refs)
    args = bench.args
    engines = [f"gateway-{e}" for e in args.engines]
    out = []
    targets = []
    chart = []  # (group label, lower_is_better, {series: ratio})

    def target(name, case, value, threshold, cmp, how):
        if value is None:
            status = "n/a"
        else:
            ok = {">=": value >= threshold, "<=": value <= threshold, "<": value < threshold}[cmp]
            status = "met" if ok else "NOT met"
        targets.append({"target": name, "case": case, "value": value, "threshold": threshold,
                        "cmp": cmp, "status": status, "how": how})

    scen = args.scenarios

    # ---- S1 / S2
    for s in ("S1", "S2"):
        if s not in scen:
            continue
        ref = "pushpin" if s == "S1" else "uws-echo"
        title = ("S1 — round trip through the backend (`/echo`), 64-byte messages" if s == "S1"
                 else "S2 — local echo route, 64-byte messages")
        out.append(f"## {title}\n")
        if s == "S1":
            out.append("Gateway: raw module whose default route is the backend's `POST /echo`. Pushpin: WebSocket-over-HTTP "
                       "to the same backend (`POST /pushpin`). Client: wsload, 100 connections, `-r 500` for Pushpin. "
                       f"Depth 8 for Pushpin uses **{args.pushpin_d8_connections} connections × 8 = "
                       f"{args.pushpin_d8_connections * 8} in flight**, because Pushpin drops connections when more than "
                       "~100 WebSocket-over-HTTP requests are outstanding (its ZeroMQ send HWM of 100 to zurl); the "
                       "gateway runs 100 × 8 = 800 in flight, so the depth-8 ratio compares each server at its own "
                       "clean load.\n")
        else:
            out.append("Gateway: raw module with `{\"local\":\"echo\"}`. uWS: the echo server. Client: wsload, 100 connections.\n")
        if not bench.refs.get(ref):
            out.append(f"*{LABEL[ref]} not available: skipped (see notes).*\n")
        out.append("| depth | server | conns × depth | msg/s median (min–max) | latency p50 / p99 ms | server CPU µs/msg | errors | runs | vs " + LABEL[ref] + " (same-run ratio) |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for case in ("d1", "d8"):
            ref_rate = A.by_run(A.select(s, ref, case=case), m_rate)
            for server in engines + ([ref] if bench.refs.get(ref) else []):
                recs = A.select(s, server, case=case)
                good = [r for r in recs if ok_run(r)]
                rates = [m_rate(r) for r in good]
                p50 = med([r["result"]["latency_us"]["p50"] / 1000 for r in good])
                p99 = med([r["result"]["latency_us"]["p99"] / 1000 for r in good])
                cpu = med([m_cpu_us(r) for r in good])
                conns = recs[0].get("connections") if recs else None
                depth = recs[0].get("pipeline") if recs else None
                rc = A.ratio(A.by_run(recs, m_rate), ref_rate) if server != ref else (None, 0)
                out.append(f"| {case[1:]} | {LABEL[server]} | {conns} × {depth} | {fmt(med(rates))}{spread(rates)} | "
                           f"{fmt(p50)} / {fmt(p99)} | {fmt(cpu)} | {errs(recs)} | {len(good)}/{len(recs)} | "
                           f"{fmt_ratio(rc) if server != ref else '1.0 (reference)'} |")
        out.append("")
        if s == "S1":
            for case in ("d1", "d8"):
                recs = [r for r in A.select(s, "pushpin", case=case) if ok_run(r)]
                lost = sum(r["result"].get("err", {}).get("eof", 0) for r in recs)
                if lost:
                    c = recs[0].get("connections")
                    out.append(f"Pushpin at depth {case[1:]} ({c} × {case[1:]}): {lost} connection(s) in total were "
                               f"closed by Pushpin without a close frame (wsload `eof` errors) over {len(recs)} run(s). "
                               "This is Pushpin's ~100 in-flight WebSocket-over-HTTP limit: at 100 in flight (plus the "
                               "close handshakes at the end) it drops connections, during the window as well; its msg/s "
                               "then comes from fewer connections.\n")
        if s == "S1" and any(A.select(s, e, variant=S1_UPSTREAM_VARIANT) for e in engines):
            out.append(f"S1 over an upstream group of two backends (`{S1_UPSTREAM_PATH}`: `{{\"upstream\": "
                       f"\"{S1_UPSTREAM}\", \"path\": \"/echo\"}}`, round-robin over this backend and a second one, "
                       "no retry, no breaker; wsload, 100 connections) vs plain S1 in the same server start. "
                       "Ratios are same-run: upstream ÷ plain.\n")
            out.append("| depth | server | plain msg/s | upstream msg/s | msg/s ratio | plain CPU µs/msg | upstream CPU µs/msg | CPU ratio | errors | runs |")
            out.append("|---|---|---|---|---|---|---|---|---|---|")
            for case in ("d1", "d8"):
                for server in engines:
                    plain = A.select(s, server, case=case)
                    up = A.select(s, server, case=case, variant=S1_UPSTREAM_VARIANT)
                    pr, ur = A.by_run(plain, m_rate), A.by_run(up, m_rate)
                    pc, uc = A.by_run(plain, m_cpu_us), A.by_run(up, m_cpu_us)
                    out.append(f"| {case[1:]} | {LABEL[server]} | {fmt(med(list(pr.values())))} | {fmt(med(list(ur.values())))} | "
                               f"{fmt_ratio(A.ratio(ur, pr))} | {fmt(med(list(pc.values())))} | {fmt(med(list(uc.values())))} | "
                               f"{fmt_ratio(A.ratio(uc, pc))} | {errs(up)} | {len([r for r in up if ok_run(r)])}/{len(up)} |")
            out.append("")
        # io_uring vs epoll
        if len(engines) == 2:
            out.append("io_uring vs epoll (same-run ratio of wsload msg/s): " + ", ".join(
                f"depth {case[1:]}: {fmt_ratio(A.ratio(A.by_run(A.select(s, engines[0], case=case), m_rate), A.by_run(A.select(s, engines[1], case=case), m_rate)))}"
                for case in ("d1", "d8")) + "\n")
        # gateway-bench agreement
        out.append("gateway-bench vs wsload against the same gateway instance (msg/s medians; ratio = same-run "
                   "gateway-bench / wsload; client CPU = the load generator's own utime+stime per message, which "
                   "shows when the client rather than the server is the limit):\n")
        out.append("| depth | server | wsload msg/s | gateway-bench msg/s | ratio | client CPU µs/msg wsload / gateway-bench |")
        out.append("|---|---|---|---|---|---|")
        for case in ("d1", "d8"):
            for server in engines:
                w = A.by_run(A.select(s, server, case=case), m_rate)
                g = A.by_run(A.select(s, server, client="gateway-bench", case=case), m_rate)
                wc = A.by_run(A.select(s, server, case=case), m_client_cpu_us)
                gc = A.by_run(A.select(s, server, client="gateway-bench", case=case), m_client_cpu_us)
                out.append(f"| {case[1:]} | {LABEL[server]} | {fmt(med(list(w.values())))} | {fmt(med(list(g.values())))} | "
                           f"{fmt_ratio(A.ratio(g, w))} | {fmt(med(list(wc.values())))} / {fmt(med(list(gc.values())))} |")
        out.append("")
        out += open_loop_report(A, args, s)
        for case in ("d1", "d8"):
            ref_rate = A.by_run(A.select(s, ref, case=case), m_rate)
            group = {}
            for server in engines:
                rc = A.ratio(A.by_run(A.select(s, server, case=case), m_rate), ref_rate)
                group[server] = rc[0]
                if s == "S1":
                    target("S1 throughput ≥ 40 × Pushpin", f"depth {case[1:]}, {LABEL[server]}", rc[0], 40, ">=",
                           "median of same-run ratios of wsload msg/s")
                else:
                    # Issue 13: ≥ 1.1 × uWS at depth 1, ≥ 1.0 × at depth 8.
                    need = 1.1 if case == "d1" else 1.0
                    target(f"S2 throughput ≥ {need} × uWS", f"depth {case[1:]}, {LABEL[server]}", rc[0], need, ">=",
                           "median of same-run ratios of wsload msg/s")
            if bench.refs.get(ref):
                chart.append((f"{s} d{case[1:]} msg/s", False, group, LABEL[ref],
                              40 if s == "S1" else (1.1 if case == "d1" else 1.0)))
            if len(engines) == 2:
                rc = A.ratio(A.by_run(A.select(s, engines[0], case=case), m_rate),
                             A.by_run(A.select(s, engines[1], case=case), m_rate))
                target("io_uring ≥ 1.2 × epoll", f"{s} depth {case[1:]}", rc[0], 1.2, ">=",
                       "median of same-run ratios of wsload msg/s")

    # ---- S1host
    if "S1host" in scen:
        out.append("## S1host — S1 with the backend behind a host name\n")
        out.append(f"Module `/backend` (`http://127.0.0.1:PORT/echo`) against module `{S1HOST_PATH}` "
                   f"(`http://{S1HOST_NAME}:PORT/echo`, resolved by the gateway's c-ares resolver from the run's own "
                   "hosts file, `io.dns.hostsFile`), each in a fresh gateway start, back to back (order rotated per run); "
                   "wsload, 100 connections, 64-byte messages. Gateway CPU is utime+stime over the measured window per "
                   "round trip. Ratios are medians of host ÷ IP ratios of the same run. Every client run checks that "
                   "libcurl carried no call (`gateway_backend_client_calls_total{client=\"curl\"}`).\n")
        out += no_runs(A, "S1host")
        out += table_head("depth", "server", "IP msg/s median (min–max)", "host msg/s median (min–max)",
                          "IP CPU µs/rt", "host CPU µs/rt", "errors", "runs", "host ÷ IP msg/s", "host ÷ IP CPU/rt")
        for case in ("d1", "d8"):
            for server in engines:
                ip, host = A.select("S1host", server, case=f"ip-{case}"), A.select("S1host", server, case=f"host-{case}")
                gi, gh = [r for r in ip if ok_run(r)], [r for r in host if ok_run(r)]
                ri, rh = [m_rate(r) for r in gi], [m_rate(r) for r in gh]
                rate_rc = A.ratio(A.by_run(host, m_rate), A.by_run(ip, m_rate))
                cpu_rc = A.ratio(A.by_run(host, m_cpu_us), A.by_run(ip, m_cpu_us))
                out.append(f"| {case[1:]} | {LABEL[server]} | {fmt(med(ri))}{spread(ri)} | {fmt(med(rh))}{spread(rh)} | "
                           f"{fmt(med([m_cpu_us(r) for r in gi]))} | {fmt(med([m_cpu_us(r) for r in gh]))} | "
                           f"{errs(ip + host)} | {len(gi)}+{len(gh)}/{len(ip) + len(host)} | "
                           f"{fmt_ratio(rate_rc)} | {fmt_ratio(cpu_rc)} |")
                target("host-name S1 ≥ 0.95 × IP S1 throughput", f"depth {case[1:]}, {LABEL[server]}", rate_rc[0], 0.95,
                       ">=", "median of same-run ratios of wsload msg/s, host ÷ IP")
                target("host-name S1 ≤ 1.1 × IP S1 CPU per round trip", f"depth {case[1:]}, {LABEL[server]}", cpu_rc[0],
                       1.1, "<=", "median of same-run ratios of gateway CPU per round trip, host ÷ IP")
        out.append("")

    # ---- S3
    if "S3" in scen:
        ref = "uws-broadcast"
        out.append("## S3 — fan-out\n")
        out.append(f"{args.s3_subscribers} subscribers, {args.s3_rate} publishes/s, 64-byte messages, wsload fanout "
                   f"(`-w {args.s3_warmup} -d {args.duration}`). Gateway: publish by "
                   + ("WebSocket message to the `deliver: all` route (`/fanout`)" if args.s3_publish == "ws" else "admin HTTP `POST /v1/publish` to all")
                   + "; uWS broadcast: WebSocket publish (`App::publish`). Time to last delivery (TTLD) = per publish, "
                   "publish → last subscriber received.\n")
        if not bench.refs.get(ref):
            out.append("*uWS broadcast not available: skipped (see notes).*\n")
        out.append("| server | received / expected | missing | publishes fully delivered | delivery latency p50 / p99 ms | TTLD p50 / p99 ms | errors | runs | p99 TTLD vs uWS (same-run ratio) |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        ref_ttl = A.by_run(A.select("S3", ref), m_ttl_p99)
        group = {}
        for server in engines + ([ref] if bench.refs.get(ref) else []):
            recs = A.select("S3", server)
            good = [r for r in recs if ok_run(r)]
            recv = sum(r["result"]["received"] for r in good)
            exp = sum(r["result"]["expected"] for r in good)
            miss = sum(r["result"]["missing"] for r in good)
            full = sum(r["result"]["pubs_complete"] for r in good)
            pubs = sum(r["result"]["publishes"] for r in good)
            lat = [(r["result"]["latency_us"]["p50"] / 1000, r["result"]["latency_us"]["p99"] / 1000) for r in good]
            ttl = [(r["result"]["ttl_us"]["p50"] / 1000, r["result"]["ttl_us"]["p99"] / 1000) for r in good]
            rc = A.ratio(A.by_run(recs, m_ttl_p99), ref_ttl) if server != ref else (None, 0)
            out.append(f"| {LABEL[server]} | {recv:,} / {exp:,} | {miss:,} | {full}/{pubs} | "
                       f"{fmt(med([x[0] for x in lat]))} / {fmt(med([x[1] for x in lat]))} | "
                       f"{fmt(med([x[0] for x in ttl]))} / {fmt(med([x[1] for x in ttl]))}{spread([x[1] for x in ttl])} | "
                       f"{errs(recs)} | {len(good)}/{len(recs)} | {fmt_ratio(rc) if server != ref else '1.0 (reference)'} |")
            if server != ref:
                group[server] = rc[0]
                all_arrived = bool(good) and len(good) == len(recs) and miss == 0 and full == pubs and errs(recs) == 0
                targets.append({"target": "S3 every delivery arrives", "case": LABEL[server],
                                "value": f"{recv:,}/{exp:,}, missing {miss}", "threshold": None, "cmp": "",
                                "status": "met" if all_arrived else ("n/a" if not recs else "NOT met"),
                                "how": "all runs: missing = 0, every publish fully delivered, no errors"})
                target("S3 p99 time-to-last-delivery ≤ 1.0 × uWS", LABEL[server], rc[0], 1.0, "<=",
                       "median of same-run ratios of wsload ttl p99")
        out.append("")
        for server in engines + ([ref] if bench.refs.get(ref) else []):
            for r in A.select("S3", server):
                if ok_run(r) and not s3_complete(r):
                    res = r["result"]
                    out.append(f"- {LABEL[server]} run {r['run']} did not deliver everything: {res['missing']:,} of "
                               f"{res['expected']:,} missing, {res.get('late', 0):,} counted late, "
                               f"{res['pubs_complete']}/{res['publishes']} publishes complete, delivery p50 "
                               f"{res['latency_us']['p50'] / 1000:,.0f} ms; left out of the TTLD ratios.")
        out.append("")
        if bench.refs.get(ref):
            chart.append(("S3 p99 TTLD", True, group, LABEL[ref], 1.0))

    # ---- S4
    if "S4" in scen:
        ref = "uws-echo"
        out.append("## S4 — memory per idle WebSocket\n")
        out.append(f"wsload hold, {args.s4_connections} connections in one process; RSS (`VmRSS`) of the server "
                   f"before connecting (fresh process, after a warm-up of 1 s of handshakes with at most 4 open at once, which "
                   f"makes fixed buffers such as io_uring's provided receive buffers resident, then 1 s idle) and after all "
                   f"are connected and idle for "
                   f"{args.s4_idle} s; (after − before) / connected.\n")
        out.append("| server | connected | RSS before MiB | RSS after MiB | bytes per connection | runs | vs uWS (same-run ratio) |")
        out.append("|---|---|---|---|---|---|---|")
        ref_rss = A.by_run(A.select("S4", ref), m_rss)
        group = {}
        for server in engines + ([ref] if bench.refs.get(ref) else []):
            recs = A.select("S4", server)
            good = [r for r in recs if ok_run(r) and r.get("per_conn_bytes") is not None]
            rc = A.ratio(A.by_run(recs, m_rss), ref_rss) if server != ref else (None, 0)
            vals = [r["per_conn_bytes"] for r in good]
            out.append(f"| {LABEL[server]} | {fmt(med([r['connected'] for r in good]), 0)} | "
                       f"{fmt(med([r['rss_before_kb']['VmRSS'] / 1024 for r in good]))} | "
                       f"{fmt(med([r['rss_after_kb']['VmRSS'] / 1024 for r in good]))} | "
                       f"{fmt(med(vals), 0)}{spread(vals)} | {len(good)}/{len(recs)} | "
                       f"{fmt_ratio(rc) if server != ref else '1.0 (reference)'} |")
            if server != ref:
                group[server] = rc[0]
                target("S4 ≤ 2 × uWS bytes per idle connection", LABEL[server], rc[0], 2.0, "<=",
                       "median of same-run ratios of bytes per connection")
        out.append("")
        if bench.refs.get(ref):
            chart.append(("S4 RSS/conn", True, group, LABEL[ref], 2.0))

    # ---- S5
    if "S5" in scen:
        ref = "uws-echo"
        out.append("## S5 — handshakes per second\n")
        out.append(f"`gateway-bench handshakes -c {args.s5_concurrency}` (connect, upgrade, close; client engine "
                   f"{args.bench_engine}).\n")
        out.append("| server | handshakes/s median (min–max) | latency p50 / p99 ms | server CPU µs/handshake | errors | runs | vs uWS (same-run ratio) |")
        out.append("|---|---|---|---|---|---|---|")
        ref_hs = A.by_run(A.select("S5", ref, client="gateway-bench", case="handshakes"), m_hs)
        group = {}
        for server in engines + ([ref] if bench.refs.get(ref) else []):
            recs = A.select("S5", server, client="gateway-bench", case="handshakes")
            good = [r for r in recs if ok_run(r)]
            vals = [m_hs(r) for r in good]
            rc = A.ratio(A.by_run(recs, m_hs), ref_hs) if server != ref else (None, 0)
            out.append(f"| {LABEL[server]} | {fmt(med(vals))}{spread(vals)} | "
                       f"{fmt(med([r['result']['latency_us']['p50'] / 1000 for r in good]))} / "
                       f"{fmt(med([r['result']['latency_us']['p99'] / 1000 for r in good]))} | "
                       f"{fmt(med([m_hs_cpu(r) for r in good]))} | {errs(recs)} | {len(good)}/{len(recs)} | "
                       f"{fmt_ratio(rc) if server != ref else '1.0 (reference)'} |")
            if server != ref:
                group[server] = rc[0]
                target("S5 handshakes/s ≥ 1.2 × uWS", LABEL[server], rc[0], 1.2, ">=",
                       "median of same-run ratios")
                cpu_rc = A.ratio(A.by_run(recs, m_hs_cpu), A.by_run(A.select("S5", ref, client="gateway-bench", case="handshakes"), m_hs_cpu))
                target("S5 CPU per handshake below uWS's", LABEL[server], cpu_rc[0], 1.0, "<",
                       "median of same-run ratios of server CPU per handshake")
        out.append("")
        if bench.refs.get(ref):
            chart.append(("S5 handshakes/s", False, group, LABEL[ref], 1.2))
        auth = getattr(args, "s5_auth", None) or ["none"]
        if "jwt" in auth or "hook" in auth:
            out.extend(s5_auth_table(A, args, engines, auth))

    if "S8" in scen:
        out.extend(s8_report(A, args, engines, bench.refs, target, chart))
    if "S1h2c" in scen:
        out.extend(s1h2c_report(A, args, engines))
    if "S9" in scen:
        out.extend(s9_report(A, args, engines, bench.refs, target, chart))

    # ---- S7
    if "S7" in scen:
        server = f"gateway-{args.s7_engine}"
        n, per = args.s7_nodes, args.s7_subscribers
        total = n * per
        out.append("## S7 — cross-node fan-out (cluster on Redis)\n")
        out.append(
            f"{n} gateway nodes ({LABEL[server]}) on one `redis-server` (loopback, no persistence), "
            f"{args.s7_node_loops or args.gateway_loops or 'one per CPU'} event loop(s) per node (the nodes stand for "
            "separate machines but share this one's cores; the single-node references run "
            f"{args.gateway_loops or 'one per CPU'}), "
            f"{total:,} subscribers in **one room** (`{S7_ROOM}`), {args.s7_rate:g} publishes/s from one node, "
            f"64-byte messages, one wsload fanout process (`-w {args.s7_warmup:g} -d {args.duration:g}`). "
            "The nodes share one public port (each binds its listeners with `SO_REUSEPORT`), so the kernel spreads "
            f"the subscribers over the nodes' loops (about {per:,} per node; the exact counts are below) while one "
            "client process holds every subscriber and the publish log: time to last delivery is per publish, "
            "over all nodes, measured exactly as in S3. Each node has its own admin port. While the subscribers "
            f"connect (`-r {args.s7_connect_rate}`) each one is put in the room through its node's admin API "
            "(`POST /v1/connections/{id}/rooms`, pipelined), and the run only counts if that, and every node's "
            "subscription to the room's channel on Redis (`PUBSUB NUMSUB`), was done before the measured window; "
            f"the publisher's handshake is held {args.s7_hold_publisher:g} s by a hook (the backend's `/delay`), "
            "and wsload publishes only once it is open, so the joins run before the publishing. "
            f"Publish: a WebSocket on `{S7_PUB_PATH}` (`{{\"local\":\"echo\",\"deliver\":\"room:{S7_ROOM}\"}}`), "
            "open loop as in S3; it lands on one of the nodes, like a subscriber (the table below says which). "
            "(An admin `POST /v1/publish` is answered once the node's own loops delivered it, and wsload's HTTP "
            "publisher waits for each answer, so it would not keep the rate.)\n")
        out.append(
            f"Same run, one gateway and no cluster, {total:,} subscribers: **single-node S3** (exactly S3: the "
            "publisher's messages go to the `deliver: all` route `/fanout`; the figure the target compares with) "
            "and **single-node room** "
            "(the same room and joins as the cluster, on one node), so the cluster's cost is separated "
            "from the room's. Gateway CPU = utime+stime of every gateway process over the measured window ÷ "
            "deliveries; Redis' CPU is shown apart.\n")
        cases = [("single-all", "single node, `to: all` (S3)"), ("single-room", "single node, room"),
                 ("cluster", f"{n} nodes, room")]
        base_ttl = A.by_run(A.select("S7", server, case="single-all"), m_ttl_p99)
        base_cpu = A.by_run(A.select("S7", server, case="single-all"), m_cpu_delivery)
        out.append("| case | subscribers per node | publishes/s achieved | received / expected | missing | publishes fully delivered | "
                   "delivery latency p50 / p99 ms | TTLD p50 / p99 ms | gateway CPU µs/delivery | Redis CPU µs/delivery | "
                   "errors | runs | p99 TTLD vs single-node S3 (same-run ratio) | CPU/delivery vs single-node S3 |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        ratios = {}
        for case, label in cases:
            recs = A.select("S7", server, case=case)
            good = [r for r in recs if ok_run(r)]
            recv = sum(r["result"]["received"] for r in good)
            exp = sum(r["result"]["expected"] for r in good)
            miss = sum(r["result"]["missing"] for r in good)
            full = sum(r["result"]["pubs_complete"] for r in good)
            pubs = sum(r["result"]["publishes"] for r in good)
            lat = [(r["result"]["latency_us"]["p50"] / 1000, r["result"]["latency_us"]["p99"] / 1000) for r in good]
            ttl = [(r["result"]["ttl_us"]["p50"] / 1000, r["result"]["ttl_us"]["p99"] / 1000) for r in good]
            pernode = [r.get("per_node_connections") for r in good if r.get("per_node_connections")]
            pn = "–" if not pernode else (" / ".join(f"{fmt(med([x[i] for x in pernode]), 0)}"
                                                     for i in range(len(pernode[0]))) + (" (median)" if len(pernode) > 1 else ""))
            rc_ttl = A.ratio(A.by_run(recs, m_ttl_p99), base_ttl) if case != "single-all" else (None, 0)
            rc_cpu = A.ratio(A.by_run(recs, m_cpu_delivery), base_cpu) if case != "single-all" else (None, 0)
            ratios[case] = (rc_ttl, rc_cpu)
            cpu = [m_cpu_delivery(r) for r in good]
            rcpu = [m_redis_cpu_delivery(r) for r in good]
            rate = med([r["result"].get("pub_rate_achieved") for r in good])
            out.append(f"| {label} | {pn} | {fmt(rate)} | {recv:,} / {exp:,} | {miss:,} | {full}/{pubs} | "
                       f"{fmt(med([x[0] for x in lat]))} / {fmt(med([x[1] for x in lat]))} | "
                       f"{fmt(med([x[0] for x in ttl]))} / {fmt(med([x[1] for x in ttl]))}{spread([x[1] for x in ttl])} | "
                       f"{fmt(med(cpu), 3)}{spread(cpu)} | {fmt(med(rcpu), 3) if case == 'cluster' else '–'} | "
                       f"{errs(recs)} | {len(good)}/{len(recs)} | "
                       f"{fmt_ratio(rc_ttl) if case != 'single-all' else '1.0 (reference)'} | "
                       f"{fmt_ratio(rc_cpu) if case != 'single-all' else '1.0 (reference)'} |")
            if case == "cluster":
                all_arrived = bool(good) and len(good) == len(recs) and miss == 0 and full == pubs and errs(recs) == 0
                targets.append({"target": "S7 every delivery arrives", "case": f"{n} nodes × {per:,}, {LABEL[server]}",
                                "value": f"{recv:,}/{exp:,}, missing {miss}", "threshold": None, "cmp": "",
                                "status": "met" if all_arrived else ("n/a" if not recs else "NOT met"),
                                "how": "all runs: missing = 0, every publish fully delivered, no errors"})
                target(f"S7 p99 TTLD ≤ 1.5 × single-node S3 at {total:,}", f"{n} nodes × {per:,}, {LABEL[server]}",
                       rc_ttl[0], 1.5, "<=", "median of same-run ratios of wsload ttl p99 (cluster ÷ single-node S3)")
        out.append("")
        for case, label in cases:
            for r in A.select("S7", server, case=case):
                if ok_run(r) and not s3_complete(r):
                    res = r["result"]
                    out.append(f"- {label} run {r['run']} did not deliver everything: {res['missing']:,} of "
                               f"{res['expected']:,} missing, {res.get('late', 0):,} counted late, "
                               f"{res['pubs_complete']}/{res['publishes']} publishes complete; left out of the ratios.")
        # Redis traffic
        crecs = [r for r in A.select("S7", server, case="cluster") if ok_run(r) and r.get("cluster_msgs")]
        if crecs:
            out.append("")
            out.append("Redis traffic of the cluster runs, over the whole client run (warm-up included; every node "
                       "subscribed to the room's channel while the subscribers were connecting, before the first "
                       "publish), per publish wsload sent. *PUBLISH*: `cmdstat_publish` calls from Redis "
                       "`INFO commandstats`. *Published by the publisher's node* and *taken by the other nodes*: "
                       "`gateway_cluster_published_total` of the node that has the publisher's connection and "
                       "`gateway_cluster_received_total` of the others "
                       "(`/metrics`). *Redis receivers*: `PUBSUB NUMSUB` of the room's channel, the copies Redis "
                       "writes per PUBLISH (one per node with members; the publishing node gets its own back and "
                       "drops it, uncounted).\n")
            out.append("| run | publisher on node | publishes sent | PUBLISH calls | PUBLISH per publish | "
                       "published by its node per publish | Redis receivers | taken by the other nodes per publish | "
                       "subscribers per node | dropped (queue full) | joins done before the publishing / the window by |")
            out.append("|---|---|---|---|---|---|---|---|---|---|---|")
            for r in crecs:
                mm = r["cluster_msgs"]
                sent = mm.get("publishes_total")
                pc = mm.get("publish_calls")
                dropped = sum(x.get("cluster_dropped") or 0 for x in mm["nodes"])
                out.append(f"| {r['run']} | {r.get('publisher_node', '–')} | {fmt(sent, 0)} | {fmt(pc, 0)} | "
                           f"{fmt(m_publish_per_pub(r), 3)} | {fmt(m_origin_published_per_pub(r), 3)} | "
                           f"{r.get('numsub', '–')} | "
                           f"{fmt(m_taken_per_pub(r), 3)} (of {n - 1} nodes) | "
                           f"{' / '.join(str(x) for x in r.get('per_node_connections', []))} | {dropped:g} | "
                           f"{fmt(r.get('joined_before_publishing_s'))} / {fmt(r.get('join_margin_s'))} s |")
            out.append("")
            ppp = med([m_publish_per_pub(r) for r in crecs])
            rpp = med([m_taken_per_pub(r) for r in crecs])
            ok = ppp is not None and rpp is not None and abs(ppp - 1) < 0.02 and abs(rpp - (n - 1)) < 0.02
            targets.append({"target": "S7 Redis messages per publish: 1 per node with members, not 1 per recipient",
                            "case": f"{n} nodes × {per:,}",
                            "value": f"PUBLISH {fmt(ppp, 3)}/publish; taken by {fmt(rpp, 3)} other nodes/publish",
                            "threshold": None, "cmp": "", "status": "met" if ok else "NOT met",
                            "how": "median over runs; 1 PUBLISH per publish and each of the n−1 other nodes takes it once"})
        rc_ttl, rc_cpu = ratios.get("cluster", ((None, 0), (None, 0)))
        out.append(f"Cluster vs single-node S3 (medians of same-run ratios): p99 TTLD {fmt_ratio(rc_ttl)}, gateway CPU "
                   f"per delivery {fmt_ratio(rc_cpu)}; single-node room vs S3: p99 TTLD "
                   f"{fmt_ratio(ratios.get('single-room', ((None, 0),))[0])}, CPU "
                   f"{fmt_ratio(ratios.get('single-room', ((None, 0), (None, 0)))[1])}.\n")
        chart.append(("S7 p99 TTLD", True, {server: rc_ttl[0]}, "single-node S3", 1.5))

    # ---- S6
    if "S1" in scen or "S2" in scen:
        out.append("## S6 — server CPU per message\n")
        out.append("utime + stime of the server process (Pushpin: the runner, condure, zurl, pushpin-proxy and "
                   "pushpin-handler together) from `/proc/<pid>/stat`, sampled every 50 ms and interpolated at the "
                   "wsload measured window (start = spawn + connect phase + warm-up), divided by the messages "
                   "measured in that window. For S1 the backend's CPU per message is shown separately (not included). "
                   "Same runs as S1/S2.\n")
        out.append("| scenario | depth | server | server CPU µs/msg | backend CPU µs/msg | vs reference (same-run ratio) |")
        out.append("|---|---|---|---|---|---|")
        for s in ("S1", "S2"):
            if s not in scen:
                continue
            ref = "pushpin" if s == "S1" else "uws-echo"
            for case in ("d1", "d8"):
                ref_cpu = A.by_run(A.select(s, ref, case=case), m_cpu_us)
                for server in engines + ([ref] if bench.refs.get(ref) else []):
                    recs = A.select(s, server, case=case)
                    good = [r for r in recs if ok_run(r)]
                    rc = A.ratio(A.by_run(recs, m_cpu_us), ref_cpu) if server != ref else (None, 0)
                    out.append(f"| {s} | {case[1:]} | {LABEL[server]} | {fmt(med([m_cpu_us(r) for r in good]))} | "
                               f"{fmt(med([m_backend_cpu_us(r) for r in good])) if s == 'S1' else '–'} | "
                               f"{fmt_ratio(rc) if server != ref else '1.0 (reference)'} |")
        out.append("")
        if "S1" in scen and "S2" in scen and bench.refs.get("uws-echo"):
            lines = []
            for case in ("d1", "d8"):
                uws = A.by_run(A.select("S2", "uws-echo", case=case), m_cpu_us)
                for server in engines:
                    rc = A.ratio(A.by_run(A.select("S1", server, case=case), m_cpu_us), uws)
                    lines.append(f"depth {case[1:]}, {LABEL[server]}: {fmt_ratio(rc)}")
                    if case == "d1":  # issue 13 holds depth 1 to it; depth 8 is shown above
                        target("S1 gateway CPU per round trip ≤ 1.5 × uWS CPU per echoed message (S2)",
                               f"depth {case[1:]}, {LABEL[server]}", rc[0], 1.5, "<=",
                               "median over runs of S1 gateway CPU/msg ÷ S2 uWS CPU/msg of the same run index")
            out.append("Gateway CPU per S1 round trip ÷ uWS CPU per S2 echoed message (run i with run i): "
                       + "; ".join(lines) + "\n")
        if "S1" in scen and bench.refs.get("pushpin"):
            # Issue 13: ≥ 40 × Pushpin's throughput or, where the 2 shared cores are the limit,
            # ≥ 60 × less CPU per message than Pushpin.
            for case in ("d1", "d8"):
                pp = A.by_run(A.select("S1", "pushpin", case=case), m_cpu_us)
                for server in engines:
                    rc = A.ratio(pp, A.by_run(A.select("S1", server, case=case), m_cpu_us))
                    target("S1 Pushpin CPU per message ÷ gateway CPU per round trip ≥ 60", f"depth {case[1:]}, {LABEL[server]}",
                           rc[0], 60, ">=", "median of same-run ratios of server CPU per message (the alternative to 40 × throughput)")
        for s, ref in (("S1", "pushpin"), ("S2", "uws-echo")):
            if s in scen and bench.refs.get(ref):
                group = {}
                ref_cpu = A.by_run(A.select(s, ref, case="d1"), m_cpu_us)
                for server in engines:
                    group[server] = A.ratio(A.by_run(A.select(s, server, case="d1"), m_cpu_us), ref_cpu)[0]
                chart.append((f"S6 CPU/msg {s} d1", True, group, LABEL[ref], None))

    # ---- allocations
    if ("S1" in scen or "S2" in scen) and not args.no_alloc:
        out.append("## Allocations per message (steady state)\n")
        out.append("Separate runs of the gateway under `LD_PRELOAD=malloc_count.so` (`scripts/bench/malloc_count.c`: "
                   "counts malloc/calloc/realloc/posix_memalign/aligned_alloc/memalign/valloc calls and frees; a "
                   "background thread appends `<monotonic ns> <allocs> <frees> <allocs called from libcurl> <reallocs>` "
                   "every 200 ms). Delta between the first and the last counter line inside the wsload measured window, divided by "
                   "the messages of that sub-window (the window's message count × its share of the window; lines "
                   "are not interpolated across the edges, which would pull in the connection setup/close bursts). "
                   "A realloc counts as one alloc and its old block is not a free, so live-block growth = "
                   "(allocs − frees − reallocs) / messages; about 0 means no blocks accumulate (no leak). "
                   "Allocations made by libcurl are part of the total; the libcurl column counts those whose immediate "
                   "caller is libcurl itself (not the libraries it calls). Throughput under the preload is shown "
                   "only for context; the S1/S2 tables above come from runs without it.\n")
        out.append("| scenario | depth | server | allocs/msg | frees/msg | of which called from libcurl /msg | live-block growth/msg | msg/s under preload | runs |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for s in ("S1", "S2"):
            if s not in scen:
                continue
            for case in ("d1", "d8"):
                for server in engines:
                    recs = A.select(s, server, case=case, variant="malloc_count")
                    good = [r for r in recs if ok_run(r) and r.get("allocs")]
                    per = med([r["allocs"]["per_msg"] for r in good])
                    out.append(f"| {s} | {case[1:]} | {LABEL[server]} | {fmt(per, 3)} | "
                               f"{fmt(med([r['allocs']['frees_per_msg'] for r in good]), 3)} | "
                               f"{fmt(med([r['allocs']['curl_per_msg'] for r in good]), 3)} | "
                               f"{fmt(med([r['allocs'].get('live_growth_per_msg') for r in good]), 3)} | "
                               f"{fmt(med([m_rate(r) for r in good]))} | {len(good)}/{len(recs)} |")
                    target("zero allocations per message in steady state", f"{s} depth {case[1:]}, {LABEL[server]}",
                           per, 0.001, "<=", "median allocs/msg (≤ 0.001 counts as zero: fewer than 1 per 1000 messages)")
        out.append("")

    return out, targets, chart


def chart_svg(chart, engines):
    """Grouped bar chart on a log scale: per scenario, gateway io_uring / epoll / reference, each
    normalized to its reference = 1.0. Bars grow from the 1.0 line; red dashes mark ratio targets."""
    series = [f"gateway-{e}" for e in engines] + ["reference"]
    colors = {"gateway-io_uring": "#2b6cb0", "gateway-epoll": "#68a0d8", "reference": "#a0a0a0"}
    groups = [(label, lower, dict(vals, reference=1.0), ref, tgt) for label, lower, vals, ref, tgt in chart]
    vals = [v for _, _, g, _, _ in groups for v in g.values() if v] + [t for *_, t in groups if t]
    lo = 10 ** math.floor(math.log10(min(vals + [0.5])))
    hi = 10 ** math.ceil(math.log10(max(vals + [2.0])))
    gw, bw, left, top, ph = 150, 34, 70, 56, 320
    width = left + gw * max(1, len(groups)) + 20
    height = top + ph + 100
    y = lambda v: top + ph - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * ph
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
         f'<rect width="{width}" height="{height}" fill="white"/>',
         f'<text x="{left}" y="20" font-size="14" font-weight="bold">gateway / reference per scenario '
         '(median of same-run ratios; reference = 1.0; log scale)</text>',
         f'<text x="{left}" y="36" fill="#555">↑ higher is better, ↓ lower is better (ratio = gateway value / reference '
         'value in both cases); red dash = target ratio</text>']
    d = lo
    while d <= hi * 1.0001:
        for m in (1, 2, 5):
            v = d * m
            if lo <= v <= hi * 1.0001:
                yy = y(v)
                o.append(f'<line x1="{left}" x2="{width - 20}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="{"#bbb" if m == 1 else "#eee"}"/>')
                o.append(f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end">{v:g}</text>')
        d *= 10
    base = y(1.0)
    for i, (label, lower, g, ref, tgt) in enumerate(groups):
        x0 = left + i * gw + (gw - bw * len(series)) / 2
        for j, s in enumerate(series):
            v = g.get(s)
            x = x0 + j * bw
            if s == "reference":
                o.append(f'<rect x="{x:.1f}" y="{base - 2:.1f}" width="{bw - 4}" height="4" fill="{colors[s]}"/>')
                o.append(f'<text x="{x + (bw - 4) / 2:.1f}" y="{base - 6:.1f}" text-anchor="middle">1</text>')
                continue
            if not v:
                o.append(f'<text x="{x + (bw - 4) / 2:.1f}" y="{base - 6:.1f}" text-anchor="middle" fill="#999">n/a</text>')
                continue
            yv = y(v)
            o.append(f'<rect x="{x:.1f}" y="{min(yv, base):.1f}" width="{bw - 4}" height="{max(1.0, abs(base - yv)):.1f}" fill="{colors[s]}"/>')
            ty = yv - 4 if v >= 1 else yv + 12
            o.append(f'<text x="{x + (bw - 4) / 2:.1f}" y="{ty:.1f}" text-anchor="middle">{v:.3f}</text>' if v < 0.1 else
                     f'<text x="{x + (bw - 4) / 2:.1f}" y="{ty:.1f}" text-anchor="middle">{v:.2f}</text>' if v < 10 else
                     f'<text x="{x + (bw - 4) / 2:.1f}" y="{ty:.1f}" text-anchor="middle">{v:.0f}</text>')
        if tgt:
            yt = y(tgt)
            o.append(f'<line x1="{x0 - 4:.1f}" x2="{x0 + bw * (len(series) - 1):.1f}" y1="{yt:.1f}" y2="{yt:.1f}" '
                     'stroke="#d33" stroke-width="2" stroke-dasharray="5,3"/>')
        cx = left + i * gw + gw / 2
        o.append(f'<text x="{cx:.1f}" y="{top + ph + 18}" text-anchor="middle" font-weight="bold">{esc(label)} {"↓" if lower else "↑"}</text>')
        o.append(f'<text x="{cx:.1f}" y="{top + ph + 32}" text-anchor="middle" fill="#555">vs {esc(ref)}</text>')
    o.append(f'<line x1="{left}" x2="{width - 20}" y1="{base:.1f}" y2="{base:.1f}" stroke="black"/>')
    lx = left
    for s in series:
        name = {"reference": "reference (= 1.0)"}.get(s, LABEL.get(s, s))
        o.append(f'<rect x="{lx}" y="{top + ph + 55}" width="12" height="12" fill="{colors[s]}"/>')
        o.append(f'<text x="{lx + 16}" y="{top + ph + 65}">{esc(name)}</text>')
        lx += 150
    if not groups:
        o.append(f'<text x="{left}" y="{top + 40}">no scenario with a reference was run</text>')
    o.append("</svg>")
    return "\n".join(o) + "\n"


def machine_info():
    info = {"nproc": os.cpu_count(), "kernel": " ".join(platform.uname()[2:4]), "python": sys.version.split()[0]}
    try:
        info["nproc"] = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip())
    except (OSError, ValueError):
        pass
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        info["fd_limit"] = list(__import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE))
    except Exception:
        pass
    for key, argv in (("git_commit", ["git", "-C", ROOT, "rev-parse", "HEAD"]),
                      ("git_dirty", ["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"]),
                      ("swift", ["swift", "--version"]), ("pushpin", ["pushpin", "--version"])):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
            v = (r.stdout or r.stderr).strip()
            info[key] = (v.splitlines()[0] if v else "") if key != "git_dirty" else bool(v)
        except (OSError, subprocess.TimeoutExpired):
            pass
    return info


def write_outputs(bench, meta, interrupted=False):
    args = bench.args
    body, targets, chart = build_report(bench, meta)
    meta["refs"] = bench.refs
    meta["build_commands"] = bench.build_commands
    meta["backend_command"] = bench.backend_command
    meta["binaries"] = bench.binaries
    A = Analysis(bench.records, args, bench.refs)
    open_loop = [row for s in ("S1", "S2") if s in args.scenarios for row in open_loop_rows(A, args, s)]
    results = {"meta": meta, "notes": bench.notes, "targets": targets, "open_loop": open_loop, "runs": bench.records}
    with open(os.path.join(bench.run_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    with open(os.path.join(bench.run_dir, "chart.svg"), "w") as f:
        f.write(chart_svg(chart, args.engines))
    m = meta["machine"]
    lb, la = meta["load_before"], meta.get("load_after") or os.getloadavg()
    md = [f"# gateway benchmark — {meta['started']}\n"]
    if interrupted:
        md.append("**Interrupted: partial results.**\n")
    md.append(f"`{meta['argv']}` — {args.runs} run(s) per server and scenario, window {args.duration} s "
              f"(warm-up {args.warmup} s), scenarios {', '.join(args.scenarios)}, engines {', '.join(args.engines)}. "
              "Medians over runs; ratios are medians of ratios measured in the same run (gateway run i ÷ "
              "reference run i, server order rotated per run). Raw runs: `results.json`; chart: `chart.svg`; "
              "server and client logs: `logs/`.\n")
    md.append("## Machine\n")
    md.append("| | |\n|---|---|")
    md.append(f"| nproc | {m.get('nproc')} |")
    md.append(f"| CPU | {m.get('cpu_model', '?')} |")
    md.append(f"| kernel | {m.get('kernel')} |")
    md.append(f"| date | {meta['started']} → {meta.get('finished', '?')} |")
    md.append(f"| load average before | {lb[0]:.2f} {lb[1]:.2f} {lb[2]:.2f} |")
    md.append(f"| load average after | {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} |")
    md.append(f"| fd limit (soft, hard) | {m.get('fd_limit')} |")
    md.append(f"| gateway commit | {m.get('git_commit', '?')}{' (working tree modified)' if m.get('git_dirty') else ''} |")
    md.append(f"| swift | {m.get('swift', '?')} |")
    md.append(f"| pushpin | {m.get('pushpin', '–')} |")
    for name, b in sorted(bench.binaries.items()):
        md.append(f"| {name} | `{b['source']}` (built {b['mtime']}), sha256 {b['sha256'][:16]}…, copied to `bin/` |")
    md.append(f"| gateway loops | {args.gateway_loops or 'one per CPU'}; uWS: 1 thread; clients: {args.client_threads} thread(s) |")
    md.append(f"| gateway backendPipelineDepth | {getattr(args, 'backend_pipeline_depth', 1)} |")
    md.append("")
    loads = [r["load_avg"][0] for r in bench.records if r.get("load_avg")]
    high = max([lb[0], la[0]] + loads)
    if high > 2:
        md.append(f"> **Noisy machine:** the 1-minute load average reached {high:.2f} during this run (2 shared cores; "
                  "other developers' tests/soaks). Absolute figures are depressed and noisy; same-run ratios are "
                  "the more meaningful numbers, though even they can swing by tens of percent from run to run. When the CPUs are "
                  "oversubscribed the scheduler shares them per thread, so the gateway (one loop per CPU = "
                  f"{args.gateway_loops or m.get('nproc')} threads) gets a larger share than the single-threaded uWS "
                  "servers, which flatters the gateway in the cross-server ratios.\n")
    if bench.notes:
        md.append("## Notes\n")
        md.extend(f"- {n}" for n in bench.notes)
        md.append("")
    md.append("## Targets\n")
    md.append("| target | case | measured | threshold | status |")
    md.append("|---|---|---|---|---|")
    for t in targets:
        v = t["value"]
        if isinstance(v, float):
            vs = f"{v:,.0f} B" if t["threshold"] == 1024 else (f"{v:.3f}" if t["threshold"] == 0.001 else f"{v:.2f}×")
        else:
            vs = "–" if v is None else str(v)
        th = "" if t["threshold"] is None else (f"{CMP[t['cmp']]} {t['threshold']:,} B" if t["threshold"] == 1024 else
                                                 f"{CMP[t['cmp']]} {t['threshold']}" + ("×" if t["threshold"] != 0.001 else " allocs/msg"))
        st = {"met": "✅ met", "NOT met": "❌ not met", "n/a": "n/a (not measured, or no valid run pair)"}[t["status"]]
        md.append(f"| {t['target']} | {t['case']} | {vs} | {th} | {st} |")
    md.append("")
    loads_by = {}
    for r in bench.records:
        if r.get("load_avg"):
            loads_by.setdefault(r["scenario"], []).append(r["load_avg"][0])
    if loads_by:
        md.append("1-minute load average sampled after each client run: " + "; ".join(
            f"{k} {min(v):.1f}–{max(v):.1f}" for k, v in sorted(loads_by.items())) + ".\n")
    md.extend(body)
    failed = [r for r in bench.records if r.get("error") or r.get("timed_out")]
    if failed:
        md.append("## Failed runs\n")
        for r in failed:
            md.append(f"- {r['scenario']} {r.get('case', '')} {r['server']} run {r['run']}: "
                      + ("client timed out" if r.get("timed_out") else r.get("error", "").replace("\n", " / ")[:500]))
        md.append("")
    md.append("## Commands\n")
    md.append("Build:\n\n```sh\n" + "\n".join(bench.build_commands) + "\n```\n")
    if os.path.exists(bench.config):
        md.append("Bench config (`gateway.json` in this directory; ports come from the environment):\n\n```json\n"
                  + open(bench.config).read() + "```\n")
    cc = getattr(bench, "cluster_config", None)
    if cc and os.path.exists(cc):
        with open(cc) as f:
            section = json.load(f).get("cluster")
        md.append("S7's cluster nodes use `gateway-cluster.json`: the same, plus (node id and Redis port from the "
                  "environment):\n\n```json\n\"cluster\": " + json.dumps(section) + "\n```\n")
    md.append("Servers and clients of run 1 (ports are picked free per start; every command of every run is in "
              "`results.json` and at the top of each client log):\n\n```sh")
    seen = set()
    if bench.backend_command:
        md.append(bench.backend_command + " &")
    for r in bench.records:
        if r.get("run") != 1 or "command" not in r:
            continue
        sc = r.get("server_command")
        if sc and sc not in seen:
            seen.add(sc)
            md.append(f"\n# {r['scenario']} {LABEL.get(r['server'], r['server'])}"
                      + (f" ({r.get('case')})" if r["scenario"] == "S7" else "")
                      + (" (under malloc_count)" if r.get("variant") == "malloc_count" else "")
                      + (" (open loop)" if r.get("variant") == OPEN_LOOP_VARIANT else ""))
            md.append(sc + " &")
        md.append(r["command"])
    md.append("```\n")
    with open(os.path.join(bench.run_dir, "report.md"), "w") as f:
        f.write("\n".join(md))
    return targets


# --------------------------------------------------------------------------------------------


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="scripts/bench.sh",
        description="Benchmark suite: the gateway (io_uring, epoll) vs uWebSockets and Pushpin. "
                    "References come from UWS_ECHO_BIN, UWS_BROADCAST_BIN, UWS_ECHO_SSL_BIN (S8), "
                    "UWS_BROADCAST_DEFLATE_BIN (S9) and PUSHPIN_BIN (default `pushpin` on "
                    "PATH); an absent reference is skipped and the report says so. wsload/backend are built from "
                    "BENCH_TOOLS_DIR (default ../shared/bench).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--runs", type=int, default=3, help="runs per scenario and server")
    p.add_argument("--quick", action="store_true", help="smoke test: 1 run, 2 s windows, 1 s warm-up, 2 s idle in S4")
    p.add_argument("--scenarios", default="S1,S2,S3,S4,S5",
                   help="comma-separated subset of S1..S9 (S6 = CPU per message, derived from S1/S2: selects both; "
                        "not in the default set: S1h2c = S1 through an h2c route to nghttpd, same run as over the "
                        "native HTTP/1.1 client, S1host = S1 with the backend behind a host name vs by IP, "
                        "S7 = cross-node fan-out on Redis, S8 = TLS vs UWS_ECHO_SSL_BIN, "
                        "S9 = fan-out with permessage-deflate vs UWS_BROADCAST_DEFLATE_BIN; S8/S9 need a "
                        "gateway-bench with wss:// / permessage-deflate and are skipped with a note until then)")
    p.add_argument("--engines", default="io_uring,epoll", help="gateway engines")
    p.add_argument("--duration", type=float, default=5.0, help="measured window per client run, seconds")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up per client run (S1, S2, S5), seconds")
    p.add_argument("--out", help="output directory (default reports/bench-<YYYYmmdd-HHMMSS>)")
    p.add_argument("--no-build", action="store_true", help="use the existing release binaries and tools")
    p.add_argument("--no-alloc", action="store_true", help="skip the malloc_count runs")
    p.add_argument("--no-open-loop", action="store_true",
                   help="skip S1/S2's open-loop runs (gateway-bench rtt --rate at --open-loop-levels of each "
                        "server's closed-loop maximum)")
    p.add_argument("--open-loop-levels", default="50,90",
                   help="open loop: rates as percentages of each server's closed-loop depth-1 msg/s (wsload median)")
    p.add_argument("--open-loop-engine", choices=("io_uring", "epoll", "both"), default="io_uring",
                   help="open loop: the gateway engine(s) measured (of --engines)")
    p.add_argument("--no-open-loop-pushpin", action="store_true",
                   help="open loop: leave Pushpin out of S1's (its maximum is low and each level adds a run)")
    p.add_argument("--no-s1-upstream", action="store_true",
                   help="skip S1 over the upstream group of two backends (run by default with S1)")
    p.add_argument("--client-threads", type=int, default=1, help="threads of every load generator (-t)")
    p.add_argument("--gateway-loops", type=int, default=0, help="gateway event loops (0 = one per CPU)")
    p.add_argument("--backend-pipeline-depth", type=int, default=1,
                   help="gateway limits.backendPipelineDepth (1 = the default: no HTTP/1.1 pipelining to the backend)")
    p.add_argument("--bench-engine", default="epoll", choices=("epoll", "io_uring", "auto"),
                   help="I/O engine of gateway-bench (client side)")
    p.add_argument("--pushpin-d8-connections", type=int, default=12,
                   help="S1 depth 8 connections for Pushpin (×8 must stay ≤ ~100 in flight)")
    p.add_argument("--s3-subscribers", type=int, default=10000)
    p.add_argument("--s3-rate", type=float, default=20, help="publishes per second")
    p.add_argument("--s3-warmup", type=float, default=2.0)
    p.add_argument("--s3-connect-rate", type=int, default=0, help="wsload -r for the subscribers (0 = unlimited)")
    p.add_argument("--s3-publish", choices=("ws", "admin"), default="ws",
                   help="gateway publish path: WebSocket message to the deliver-all route, or admin HTTP publish")
    p.add_argument("--s4-connections", type=int, default=15000)
    p.add_argument("--s4-idle", type=float, default=4.0, help="idle seconds before the RSS sample")
    p.add_argument("--s4-connect-rate", type=int, default=0)
    p.add_argument("--s5-concurrency", type=int, default=10, help="gateway-bench handshakes -c")
    p.add_argument("--s5-auth", default="none",
                   help="S5 variants on the gateway, comma-separated: none (module without auth, against uWS), "
                        "jwt (auth.jwt HS256, token in ?token=, checked by the gateway), hook (handshake hook "
                        f"to the backend's {S5_HOOK_TARGET}); e.g. none,jwt,hook")
    p.add_argument("--s8-connections", type=int, default=100, help="S8: wss rtt connections (depth 1 and 8)")
    p.add_argument("--s8-handshake-concurrency", type=int, default=10,
                   help="S8: gateway-bench handshakes -c over wss (full TLS handshakes)")
    p.add_argument("--s8-idle-connections", type=int, default=5000,
                   help="S8: idle TLS connections for RSS per connection")
    p.add_argument("--s8-idle", type=float, default=4.0, help="S8: idle seconds before the RSS sample")
    p.add_argument("--s8-connect-rate", type=int, default=2000,
                   help="S8: connects per second of the idle connections (TLS handshakes cost the client too)")
    p.add_argument("--s8-cert", help="S8: PEM certificate for the gateway and uWS (default: a self-signed EC "
                                     "P-256 one made with openssl into the run directory's tls/)")
    p.add_argument("--s8-key", help="S8: PEM key of --s8-cert")
    p.add_argument("--s9-subscribers", type=int, default=10000)
    p.add_argument("--s9-rate", type=float, default=20, help="S9: publishes per second")
    p.add_argument("--s9-message-bytes", type=int, default=2048, help="S9: size of the JSON message (uncompressed)")
    p.add_argument("--s9-warmup", type=float, default=2.0)
    p.add_argument("--s9-connect-rate", type=int, default=0, help="S9: connects per second of the subscribers")
    p.add_argument("--s9-context-takeover", action="store_true",
                   help="S9: the gateway module's compression.contextTakeover (default false, like uWS's "
                        "shared compressor)")
    p.add_argument("--s9-uws-publish", choices=("prepared", "each"), default="prepared",
                   help="S9: uws-broadcast-deflate compresses once per publish (prepared) or per subscriber (each)")
    p.add_argument("--s7-nodes", type=int, default=3, help="S7: gateway nodes on one Redis")
    p.add_argument("--s7-subscribers", type=int, default=3000, help="S7: subscribers per node (all in one room)")
    p.add_argument("--s7-rate", type=float, default=20, help="S7: publishes per second (one WebSocket publisher)")
    p.add_argument("--s7-warmup", type=float, default=3.0,
                   help="S7: wsload warm-up, s (publishing, not measured)")
    p.add_argument("--s7-connect-rate", type=int, default=3000,
                   help="S7: wsload -r for the subscribers; the room joins run while they connect")
    p.add_argument("--s7-hold-publisher", type=float, default=6.0,
                   help="S7: the room publisher's handshake is held this long (a hook to the backend's /delay), so "
                        "the publishing starts after the room joins; a run whose joins end after the measured "
                        "window began is failed")
    p.add_argument("--s7-node-loops", type=int, default=1,
                   help="S7: event loops per cluster node (0 = as --gateway-loops). 1 by default: the nodes "
                        "stand for separate machines but share this one's cores, and 3 nodes x 1 loop already "
                        "outnumber 2 cores; the single-node references keep --gateway-loops")
    p.add_argument("--s7-engine", choices=ENGINES, help="S7: the gateway engine (default: the first of --engines)")
    p.add_argument("--run-timeout", type=float, default=0, help="per client run timeout, seconds (0 = computed)")
    p.add_argument("--report-only", metavar="DIR",
                   help="rewrite report.md and chart.svg of an earlier run from its results.json (no benchmarking)")
    a = p.parse_args(argv)
    if a.quick:
        a.runs, a.duration, a.warmup, a.s4_idle = 1, 2.0, 1.0, 2.0
    if a.runs < 1:
        p.error("--runs must be ≥ 1")
    sc = [s.strip().upper().replace("H2C", "h2c").replace("S1HOST", "S1host") for s in a.scenarios.split(",") if s.strip()]
    bad = [s for s in sc if s not in ("S1", "S1h2c", "S1host", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9")]
    if bad:
        p.error(f"unknown scenario(s): {', '.join(bad)}")
    if "S6" in sc:
        sc += ["S1", "S2"]
    a.scenarios = [s for s in ("S1", "S1h2c", "S1host", "S2", "S3", "S4", "S5", "S7", "S8", "S9") if s in sc]
    if bool(a.s8_cert) != bool(a.s8_key):
        p.error("--s8-cert and --s8-key go together")
    a.engines = [e.strip() for e in a.engines.split(",") if e.strip()]
    try:
        a.open_loop_levels = [float(x) for x in a.open_loop_levels.split(",") if x.strip()]
    except ValueError:
        p.error("--open-loop-levels: comma-separated percentages, e.g. 50,90")
    a.open_loop_levels = [int(x) if x == int(x) else x for x in a.open_loop_levels]
    if not a.open_loop_levels or [x for x in a.open_loop_levels if not 0 < x <= 200]:
        p.error("--open-loop-levels: percentages in (0, 200]")
    for e in a.engines:
        if e not in ENGINES:
            p.error(f"unknown engine {e}")
    a.s5_auth = [v.strip().lower() for v in a.s5_auth.split(",") if v.strip()]
    if not a.s5_auth or [v for v in a.s5_auth if v not in S5_AUTH]:
        p.error(f"--s5-auth: a comma-separated subset of {','.join(S5_AUTH)}")
    if not a.s7_engine:
        a.s7_engine = a.engines[0] if a.engines else "io_uring"
    if a.s7_nodes < 2 or a.s7_subscribers < 1:
        p.error("S7 needs --s7-nodes ≥ 2 and --s7-subscribers ≥ 1")
    if not 0 <= a.s7_hold_publisher <= 25:
        p.error("--s7-hold-publisher must be 0-25 s (wsload's handshake timeout is 30 s)")
    if a.pushpin_d8_connections * 8 > 100:
        print(f"warning: Pushpin depth 8 with {a.pushpin_d8_connections} connections = "
              f"{a.pushpin_d8_connections * 8} in flight (> ~100: Pushpin is expected to drop connections)", file=sys.stderr)
    if not a.out:
        a.out = os.path.join(ROOT, "reports", "bench-" + time.strftime("%Y%m%d-%H%M%S"))
    a.out = os.path.abspath(a.out)
    return a


def report_only(run_dir):
    with open(os.path.join(run_dir, "results.json")) as f:
        res = json.load(f)
    meta = res["meta"]
    b = Bench.__new__(Bench)
    b.args = argparse.Namespace(**meta["args"])
    b.run_dir = os.path.abspath(run_dir)
    b.records = res["runs"]
    b.notes = res["notes"]
    b.refs = meta.get("refs", {})
    b.build_commands = meta.get("build_commands", [])
    b.backend_command = meta.get("backend_command")
    b.binaries = meta.get("binaries", {})
    b.config = os.path.join(b.run_dir, "gateway.json")
    b.cluster_config = os.path.join(b.run_dir, "gateway-cluster.json")
    write_outputs(b, meta, interrupted=False)
    print(os.path.join(b.run_dir, "report.md"))
    return 0


def main(argv):
    args = parse_args(argv)
    if args.report_only:
        return report_only(args.report_only)
    if os.path.exists(os.path.join(args.out, "results.json")):
        print(f"{args.out} already has results; choose another --out", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)

    def on_signal(sig, frame):
        raise Interrupted(signal.Signals(sig).name)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    meta = {"started": time.strftime("%Y-%m-%d %H:%M:%S %z"), "argv": "scripts/bench.sh " + shlex.join(argv),
            "load_before": os.getloadavg(), "args": vars(args)}
    bench = None
    interrupted = False
    status = 0
    try:
        bench = Bench(args)
        log(f"output: {args.out}")
        meta["machine"] = machine_info()
        if meta["load_before"][0] > 2:
            bench.note(f"load average at start {meta['load_before'][0]:.2f} (> 2): the machine is busy; results are noisy")
        bench.build()
        bench.write_config()
        bench.start_backend()
        bench.backend_command = bench.backend.command
        for s in args.scenarios:
            log(f"=== {s}")
            if s in ("S1", "S2"):
                bench.scenario_rtt(s)
                if not args.no_open_loop:
                    bench.scenario_open_loop(s)
            elif s == "S1host":
                bench.scenario_s1host()
            elif s == "S3":
                bench.scenario_fanout()
            elif s == "S4":
                bench.scenario_memory()
            elif s == "S5":
                bench.scenario_handshakes()
            elif s == "S1h2c":
                bench.scenario_s1h2c()
            elif s == "S7":
                bench.scenario_cluster()
            elif s == "S8":
                bench.scenario_tls()
            elif s == "S9":
                bench.scenario_deflate()
    except Interrupted as e:
        log(f"interrupted ({e}); stopping everything")
        interrupted = True
        status = 130
    except BenchError as e:
        log(f"error: {e}")
        status = 1
    except Exception:
        import traceback
        log("internal error:\n" + traceback.format_exc())
        status = 1
    finally:
        Proc.stop_all()
        for d in (bench.tmpdirs if bench else []):
            shutil.rmtree(d, ignore_errors=True)
    if bench is None:
        return status or 1
    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %z")
    meta["load_after"] = os.getloadavg()
    if "machine" not in meta:
        meta["machine"] = machine_info()
    if bench.records or interrupted:
        targets = write_outputs(bench, meta, interrupted)
        log(f"report: {os.path.join(args.out, 'report.md')}")
        for t in targets:
            log(f"  target {t['status']:8s} {t['target']} — {t['case']}: {t['value'] if not isinstance(t['value'], float) else round(t['value'], 3)}")
    failed = [r for r in bench.records if r.get("error") or r.get("timed_out")]
    if failed and status == 0:
        log(f"{len(failed)} run(s) failed (see report.md, 'Failed runs')")
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
